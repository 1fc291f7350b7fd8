"""The marketplace simulator: reproducible, fitted to the real catalogue, and its users'
browsing follows their tastes."""

from __future__ import annotations

import numpy as np
import pytest

from backend.simulate.fit import load_fit
from backend.simulate.market import Marketplace, simulate


@pytest.fixture(scope="module")
def market() -> Marketplace:
    return simulate(20_000, 1_000, 60_000, seed=7)


def test_the_same_seed_gives_the_same_marketplace(market: Marketplace) -> None:
    again = simulate(20_000, 1_000, 60_000, seed=7)
    for name in ("make", "model", "body", "price", "listed_at", "sold_at"):
        assert np.array_equal(getattr(market.catalogue, name), getattr(again.catalogue, name))
    for name in ("user", "vehicle", "kind", "t"):
        assert np.array_equal(getattr(market.events, name), getattr(again.events, name))
    other = simulate(20_000, 1_000, 60_000, seed=8)
    assert not np.array_equal(market.catalogue.price, other.catalogue.price)


def test_the_catalogue_follows_the_fit(market: Marketplace) -> None:
    fit, cat = load_fit(), market.catalogue
    makes = list(fit["makes"])
    real = np.array([fit["makes"][m] for m in makes], float)
    simulated = np.array([(cat.make == m).sum() for m in makes], float)
    assert np.corrcoef(real, simulated)[0, 1] > 0.98
    for q, value in fit["price_quantiles"].items():  # within 20% of the real quantiles
        assert abs(np.quantile(cat.price, float(q)) / value - 1) < 0.2, q
    older = cat.year < 2014
    assert np.median(cat.mileage_km[older]) > 2 * np.median(cat.mileage_km[cat.year >= 2020])
    assert set(np.unique(cat.body.astype(str))) <= {"sedan", "small", "estate", "suv", "coupe",
                                                    "convertible", "van", "other"}  # fmt: skip


def test_events_happen_while_listings_are_on_sale(market: Marketplace) -> None:
    e, cat = market.events, market.catalogue
    assert len(e.t) == 60_000 and np.all(np.diff(e.t) >= 0)
    assert np.all(cat.listed_at[e.vehicle] <= e.t)
    views = e.kind == 0
    # On sale when the session opened its page (a session's views span up to 20 minutes).
    assert np.all(e.t[views] - 20 * 60 < cat.sold_at[e.vehicle[views]])
    shares = np.bincount(e.kind, minlength=3) / len(e.kind)
    assert abs(shares[0] - 0.87) < 0.02 and abs(shares[1] - 0.126) < 0.02
    assert 0.002 < shares[2] < 0.008


def test_users_browse_what_they_like(market: Marketplace) -> None:
    e, u, c = market.events, market.users, market.codes
    fav_make = u.makes[e.user, c.make[e.vehicle]].mean()
    catalogue_share = (u.makes[e.user] * np.bincount(c.make, minlength=len(c.makes))
                       / len(c.make)).sum(axis=1).mean()  # fmt: skip
    assert fav_make > 2.5 * catalogue_share
    gap = np.abs(np.log(market.catalogue.price[e.vehicle] / u.budget[e.user]))
    random_gap = np.abs(np.log(market.catalogue.price[np.random.default_rng(0).integers(
        0, 20_000, len(e.t))] / u.budget[e.user]))  # fmt: skip
    assert np.median(gap) < 0.5 * np.median(random_gap)
    # Bookmarks go to better fits than views.
    assert (u.makes[e.user, c.make[e.vehicle]][e.kind == 1].mean()
            > u.makes[e.user, c.make[e.vehicle]][e.kind == 0].mean())  # fmt: skip
