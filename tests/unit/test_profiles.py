"""Profiles: Bayesian shrinkage with known answers, and incremental == full rebuild."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.features import OTHER, FeatureSpace, describe_continuous
from models.profiles import (
    DAY,
    Events,
    Prior,
    ProfileConfig,
    advance,
    expiring,
    global_prior,
    posterior,
    posteriors_before,
    rebuild,
    type_weights_from_counts,
)
from models.schema import parse_schema

SCHEMA = parse_schema(
    {
        "name": "cars",
        "item_features": [
            {"name": "colour", "kind": "categorical"},
            {"name": "price", "kind": "continuous", "log": True},
        ],
    }
)
CATALOGUE = [{"colour": c, "price": p} for c in ("red", "blue", "black") for p in (5e3, 1e4, 2e4)]
SPACE = FeatureSpace.fit(SCHEMA, CATALOGUE * 5)
T0 = 1_700_000_000.0


def _events(rows: list[tuple[int, float, int, dict]]) -> Events:
    return Events.from_items(
        SPACE, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
        [r[3] for r in rows],
    )  # fmt: skip


def _red_probability(vector: np.ndarray) -> float:
    return float(vector[SPACE.vocabularies[0].index()["red"]])


def test_feature_space_layout() -> None:
    vocab = SPACE.vocabularies[0]
    assert vocab.values == ["black", "blue", "red", OTHER]
    cat, cont = SPACE.encode_items([{"colour": "red", "price": 1e4}, {"colour": "pink"}, {}])
    assert cat.tolist()[0] == [0, 0, 1, 0]
    assert cat.tolist()[1] == [0, 0, 0, 1]  # unseen value -> the other slot
    assert cat.tolist()[2] == [0, 0, 0, 0]
    assert np.isnan(cont[1, 0]) and not np.isnan(cont[0, 0])
    assert FeatureSpace.from_dict(SPACE.to_dict()) == SPACE
    mean, _ = describe_continuous(SPACE.scalers[0], float(cont[0, 0]), 0.0)
    assert mean == pytest.approx(1e4)


def test_one_view_is_not_certainty_many_views_dominate() -> None:
    cfg = ProfileConfig(type_weights=(1.0, 1.0, 1.0))
    red = {"colour": "red", "price": 1e4}
    one = _events([(0, T0, 0, red)])
    many = _events([(0, T0 - i * 60, 0, red) for i in range(200)])
    prior = global_prior(_events([(0, T0, 0, c) for c in CATALOGUE]), SPACE)
    p_one = _red_probability(posterior(rebuild(one, 1, T0, cfg), SPACE, prior, cfg)[0])
    p_many = _red_probability(posterior(rebuild(many, 1, T0, cfg), SPACE, prior, cfg)[0])
    p_prior = float(prior.cat[SPACE.vocabularies[0].index()["red"]])
    assert p_prior < p_one < 0.5 < p_many
    assert p_many > 0.95


def test_continuous_std_is_shrunk_not_zero() -> None:
    cfg = ProfileConfig(type_weights=(1.0, 1.0, 1.0))
    item = {"colour": "red", "price": 1e4}
    prior = global_prior(_events([(0, T0, 0, c) for c in CATALOGUE]), SPACE)
    k = SPACE.categorical_width
    two = posterior(rebuild(_events([(0, T0, 0, item)] * 2), 1, T0, cfg), SPACE, prior, cfg)[0]
    lots = [(0, T0 - i, 0, item) for i in range(500)]
    many = posterior(rebuild(_events(lots), 1, T0, cfg), SPACE, prior, cfg)[0]
    mean_two, std_two = two[k], two[k + 1]
    assert std_two > 0.3 * prior.std[0]  # two views do not make the user sure
    assert many[k + 1] < 0.2 * std_two  # hundreds of views do
    target = SPACE.scalers[0].transform(np.array([1e4]))[0]
    assert abs(many[k] - target) < abs(mean_two - target)


def test_type_weights_and_recency() -> None:
    weights = type_weights_from_counts(np.array([870, 126, 4]))
    assert weights[0] == 1.0 and weights[2] > weights[1] > 1.0
    assert weights[2] == pytest.approx(870 / 4)
    assert type_weights_from_counts(np.array([100, 10, 0])).tolist() == [1.0, 10.0, 10.0]
    assert type_weights_from_counts(np.array([0, 0, 0])).tolist() == [1.0, 1.0, 1.0]
    cfg = ProfileConfig(type_weights=(1.0, 1.0, 1.0), half_life_days=7.0)
    old = {"colour": "blue", "price": 1e4}
    new = {"colour": "red", "price": 1e4}
    stats = rebuild(_events([(0, T0 - 7 * DAY, 0, old), (0, T0, 0, new)]), 1, T0, cfg)
    idx = SPACE.vocabularies[0].index()
    assert stats.cat[0, idx["blue"]] == pytest.approx(0.5)  # one half-life ago
    assert stats.cat[0, idx["red"]] == pytest.approx(1.0)


def test_window_and_no_future_events() -> None:
    cfg = ProfileConfig(type_weights=(1.0, 1.0, 1.0), window_days=30)
    item = {"colour": "red", "price": 1e4}
    stats = rebuild(
        _events([(0, T0 - 31 * DAY, 0, item), (0, T0, 0, item), (0, T0 + 1, 0, item)]), 1, T0, cfg
    )
    assert stats.count.tolist() == [1.0]  # neither the expired nor the future event


EVENT = st.tuples(
    st.integers(0, 3),  # user
    st.floats(0, 90, allow_nan=False),  # day
    st.integers(0, 2),  # type
    st.sampled_from([*CATALOGUE, {"colour": "pink"}, {"price": 3e4}, {}]),
)


@settings(max_examples=60, deadline=None)
@given(
    history=st.lists(EVENT, max_size=40),
    arrivals=st.lists(EVENT, min_size=1, max_size=15),
)
def test_incremental_updates_equal_a_full_rebuild(history: list, arrivals: list) -> None:
    cfg = ProfileConfig(half_life_days=5.0, window_days=20.0)
    types = np.array([1.0, 8.0, 40.0])
    start = T0 + 45 * DAY
    past = [(u, T0 + d * DAY, k, item) for u, d, k, item in history if T0 + d * DAY <= start]
    stats = rebuild(_events(past) if past else _events([]), 4, start, cfg, types)
    seen = list(past)
    # Events arrive one at a time, each moving as_of to its time (as a worker would).
    for u, d, k, item in sorted(arrivals, key=lambda e: e[1]):
        at = start + d * DAY / 3
        if at < stats.as_of:
            continue
        new = (u, at, k, item)
        expired = expiring(_events(seen) if seen else _events([]), stats.as_of, at, cfg)
        stats = advance(stats, at, _events([new]), expired, cfg, types)
        seen.append(new)
        full = rebuild(_events(seen), 4, at, cfg, types)
        for name in ("cat", "w", "x", "xx", "count", "weight"):
            np.testing.assert_allclose(
                getattr(stats, name), getattr(full, name), rtol=1e-9, atol=1e-9, err_msg=name
            )


COLOURS = parse_schema(
    {
        "name": "colours",
        "item_features": [
            {"name": "colour", "kind": "categorical"},
            {"name": "price", "kind": "continuous"},
        ],
    }
)
PALETTE = FeatureSpace.fit(
    COLOURS,
    [{"colour": c, "price": p} for c in ("black", "grey", "red", "white") for p in (5e3, 3e4)] * 3,
)


def _palette_events(items: list[dict], kinds: list[int] | None = None, t: float = T0) -> Events:
    n = len(items)
    return Events.from_items(PALETTE, [0] * n, [t] * n, kinds or [0] * n, items)


SEEN = (("black", 10e3), ("black", 12e3), ("grey", 14e3), ("grey", 16e3), ("red", 18e3))
FIVE = [{"colour": c, "price": p} for c, p in SEEN]
UNIFORM = Prior(np.array([0.25, 0.25, 0.25, 0.25, 0.0]), np.array([0.0]), np.array([1.0]))


def _colours(alpha: float) -> dict[str, float]:
    cfg = ProfileConfig(alpha=alpha, type_weights=(1.0, 1.0, 1.0))
    vector = posterior(rebuild(_palette_events(FIVE), 1, T0, cfg), PALETTE, UNIFORM, cfg)[0]
    return {c: float(vector[i]) for c, i in PALETTE.vocabularies[0].index().items()}


def test_five_views_known_answer() -> None:
    mid = _colours(alpha=2.0)
    assert mid["black"] == pytest.approx(mid["grey"]) and mid["grey"] > mid["red"] > mid["white"]
    tiny = _colours(alpha=1e-9)
    assert (tiny["black"], tiny["grey"], tiny["red"]) == pytest.approx((0.4, 0.4, 0.2))
    huge = _colours(alpha=1e9)
    assert [huge[c] for c in ("black", "grey", "red", "white")] == pytest.approx([0.25] * 4)


def test_price_mean_and_std_match_hand_computed_values() -> None:
    cfg = ProfileConfig(shrink=1e-9, type_weights=(1.0, 1.0, 1.0))
    stats = rebuild(_palette_events(FIVE), 1, T0, cfg)
    vector = posterior(stats, PALETTE, UNIFORM, cfg)[0]
    scaler, c = PALETTE.scalers[0], PALETTE.categorical_width
    prices = np.array([10e3, 12e3, 14e3, 16e3, 18e3])
    scaled = scaler.transform(prices)
    assert vector[c] == pytest.approx(scaled.mean(), rel=1e-5)
    assert vector[c + 1] == pytest.approx(scaled.std(), rel=1e-4)  # population std, w = 1
    mean, std = describe_continuous(scaler, float(vector[c]), float(vector[c + 1]))
    assert (mean, std) == pytest.approx((14e3, prices.std()), rel=1e-4)
    # Unequal weights: a contact (weight 3) on the 18k car pulls the mean up to 15k.
    weighted = rebuild(_palette_events(FIVE, [0, 0, 0, 0, 2]), 1, T0,
                       ProfileConfig(shrink=1e-9, type_weights=(1.0, 1.0, 3.0)))  # fmt: skip
    v = posterior(weighted, PALETTE, UNIFORM, cfg)[0]
    assert describe_continuous(scaler, float(v[c]), 0.0)[0] == pytest.approx(
        np.average(prices, weights=[1, 1, 1, 1, 3]), rel=1e-5
    )


def test_a_contact_outweighs_a_view() -> None:
    cfg = ProfileConfig(alpha=1.0, type_weights=tuple(type_weights_from_counts([90, 9, 1])))
    items = [{"colour": "black"}, {"colour": "red"}]
    vector = posterior(rebuild(_palette_events(items, [0, 2]), 1, T0, cfg), PALETTE, UNIFORM, cfg)
    index = PALETTE.vocabularies[0].index()
    assert vector[0, index["red"]] > 10 * vector[0, index["black"]]


@settings(max_examples=40, deadline=None)
@given(
    history=st.lists(
        st.tuples(st.integers(0, 3), st.floats(0, 60), st.integers(0, 2), st.integers(0, 8)),
        min_size=0, max_size=40,
    ),
    queries=st.lists(st.tuples(st.integers(0, 3), st.floats(0, 70)), min_size=1, max_size=12),
    chunk=st.integers(1, 50),
)  # fmt: skip
def test_profiles_before_a_time_equal_a_rebuild_of_the_earlier_events(
    history: list, queries: list, chunk: int
) -> None:
    """The training profile of an interaction at t is the rebuild at t of events before t:
    it never contains the interaction itself (nor anything later)."""
    cfg = ProfileConfig(alpha=2.0, half_life_days=5.0, window_days=20.0)
    types = np.array([1.0, 3.0, 9.0])
    events = _events([(u, T0 + d * DAY, k, CATALOGUE[i]) for u, d, k, i in history])
    prior = global_prior(_events([(0, T0, 0, c) for c in CATALOGUE]), SPACE)
    q_user = np.array([q[0] for q in queries])
    q_t = np.array([T0 + q[1] * DAY for q in queries])
    got = posteriors_before(events, 4, q_user, q_t, SPACE, prior, cfg, types, chunk_events=chunk)
    for n, (u, t) in enumerate(zip(q_user, q_t, strict=True)):
        earlier = events.select((events.user == u) & (events.t < t))
        want = posterior(rebuild(earlier, 4, float(t), cfg, types), SPACE, prior, cfg)[u]
        np.testing.assert_allclose(got[n], want, rtol=2e-5, atol=2e-5)


def test_a_profile_never_contains_its_own_target_event() -> None:
    cfg = ProfileConfig(alpha=1.0)
    types = np.ones(3)
    red, blue = CATALOGUE[0], CATALOGUE[3]
    events = _events([(0, T0, 0, blue), (0, T0 + DAY, 0, red)])
    prior = global_prior(events, SPACE)
    got = posteriors_before(
        events, 1, np.array([0, 0]), np.array([T0 + DAY, T0 + 2 * DAY]), SPACE, prior, cfg, types
    )
    # At the red view's own time only the blue view counts; a day later both do.
    assert got[0, -2] == pytest.approx(np.log1p(1)) and got[1, -2] == pytest.approx(np.log1p(2))
    assert _red_probability(got[0]) < _red_probability(got[1])


@pytest.mark.parametrize("chunk", [1, 2, 100_000])
def test_recent_items_are_strictly_earlier_latest_last_and_windowed(chunk: int) -> None:
    from models.profiles import recent_items

    cfg = ProfileConfig(half_life_days=1.0, window_days=10.0)
    rows = [(0, T0 + d * DAY, k, CATALOGUE[0]) for d, k in ((0, 0), (1, 2), (2, 0), (20, 0))]
    rows.append((1, T0, 0, CATALOGUE[0]))
    events = _events(rows)
    item = np.array([10, 11, 12, 13, 99])  # the vehicle of each event
    types = np.array([1.0, 2.0, 4.0])
    items, w = recent_items(
        events,
        item,
        2,
        np.array([0, 0, 1]),
        np.array([T0 + 2 * DAY, T0 + 25 * DAY, T0]),
        cfg,
        types,
        length=3,
        chunk=chunk,
    )
    assert items[0].tolist() == [-1, 10, 11]  # day 2's own event excluded, latest last
    np.testing.assert_allclose(w[0], [0.0, 1.0 * 2**-2, 4.0 * 2**-1])
    assert items[1].tolist() == [-1, -1, 13]  # days 0-2 left the 10-day window
    assert items[2].tolist() == [-1, -1, -1] and not w[2].any()
