"""On a simulated marketplace the ground truth is known: users who want diesel estates under
EUR 15,000 get them in their top 5 far more often than popularity would give them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlalchemy import Engine, text

from backend.api import build_services
from backend.services.indexing import Filters
from backend.settings import Settings
from backend.simulate.behaviour import Codes, browse, sample_users
from backend.simulate.catalogue import sample_catalogue
from backend.simulate.fit import load_fit
from backend.simulate.market import START, Marketplace, write
from tests.integration.cli import ok

STRONG = 30  # users 0..29 want diesel estates around EUR 9,000


def _matches(features: dict) -> bool:
    return (features.get("fuel") == "diesel" and features.get("body_type") == "estate"
            and features["price"] < 15_000)  # fmt: skip


def _simulated(tmp: Path) -> Marketplace:
    rng = np.random.default_rng(3)
    cat = sample_catalogue(load_fit(), 4_000, rng, start=START, days=60)
    codes = Codes.of(cat)
    users = sample_users(cat, codes, 300, rng)
    users.makes[:STRONG] = False
    users.bodies[:STRONG] = codes.bodies == "estate"
    users.fuel[:STRONG] = int(np.flatnonzero(codes.fuels == "diesel")[0])
    users.budget[:STRONG], users.tolerance[:STRONG] = 9_000, 0.25
    events = browse(cat, users, codes, 60_000, rng, start=START, days=60)
    return Marketplace(cat, codes, users, events, START, 60)


def test_strong_tastes_are_recovered(engine: Engine, cli_env: dict, tmp_path: Path) -> None:
    market = _simulated(tmp_path)
    files = write(market, tmp_path / "sim")
    ok(cli_env, "import", "vehicles", str(files["vehicles.csv"]))
    ok(cli_env, "import", "events", str(files["events.csv"]))
    ok(cli_env, "profiles", "rebuild")
    ok(cli_env, "train", "--epochs", "6", "--dim", "32", "--seed", "0")
    ok(cli_env, "publish")
    with engine.connect() as conn:  # popularity: the most-interacted vehicles still on sale
        popular = conn.execute(text(
            "SELECT vv.features FROM events e JOIN vehicles v ON v.id = e.vehicle_id"
            " JOIN vehicle_versions vv ON vv.vehicle_id = v.id AND vv.valid_to IS NULL"
            " WHERE v.status = 'available' GROUP BY v.id, vv.features"
            " ORDER BY count(*) DESC, v.id LIMIT 5")).scalars().all()  # fmt: skip
    popularity = np.mean([_matches(f) for f in popular])
    settings = Settings(_env_file=None, database_url=cli_env["FORECOURT_DATABASE_URL"],
                        home=Path(cli_env["FORECOURT_HOME"]))  # fmt: skip
    services = build_services(settings)
    try:
        shares = []
        for user in range(STRONG):
            items = services.recommender.for_user(market.user_id(user), k=5, candidates=200,
                                                  filters=Filters.none()).items  # fmt: skip
            assert len(items) == 5
            shares.append(np.mean([_matches(i.features) for i in items]))
    finally:
        services.store.close()
    ours = float(np.mean(shares))
    available = [_matches(f) for f in _available_features(engine)]
    print(
        f"top-5 share of diesel estates under 15k: model {ours:.2f}, popularity"
        f" {popularity:.2f}, catalogue {np.mean(available):.3f}"
    )
    assert ours >= 0.5
    assert ours >= 3 * max(popularity, np.mean(available))


def _available_features(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT vv.features FROM vehicles v JOIN vehicle_versions vv ON vv.vehicle_id = v.id"
            " AND vv.valid_to IS NULL WHERE v.status = 'available'")).scalars().all()  # fmt: skip
