"""A MovieLens user end to end: import, profiles, training, publication to Milvus Lite,
then the API and `forecourt recommend`."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from backend.api import create_app
from backend.settings import Settings
from tests.integration.cli import ok


@pytest.mark.realdata
def test_a_movielens_user_end_to_end(data_dir: Path, engine: Engine, cli_env: dict,
                                     db_url: str, tmp_path: Path) -> None:  # fmt: skip
    # Ratings span years: a profile of the last 30 days would hold nothing for most users.
    env = {
        **cli_env,
        "FORECOURT_FEATURE_SCHEMA": "movielens-100k",
        "FORECOURT_PROFILE_WINDOW_DAYS": "400",
        "FORECOURT_PROFILE_HALF_LIFE_DAYS": "60",
    }
    ok(env, "import", "dataset", "movielens-100k", str(data_dir / "movielens-100k"))
    ok(env, "profiles", "rebuild")
    ok(env, "train", "--epochs", "2", "--seed", "0")
    out = ok(env, "publish")
    assert "model v1: 1,682 vehicles in vehicles_v1 (active" in out
    printed = ok(env, "recommend", "1", "-k", "3")
    assert printed.startswith("user 1, model v1\n") and printed.count("\n") == 4

    settings = Settings(database_url=db_url, home=Path(env["FORECOURT_HOME"]),
                        feature_schema="movielens-100k", profile_window_days=400)  # fmt: skip
    client = create_app(settings).test_client()
    r = client.get("/v1/users/1/recommendations?k=10&exclude_viewed=true")
    assert r.status_code == 200, r.json
    items = r.json["items"]
    with engine.connect() as conn:
        sql = text(
            "SELECT v.external_id FROM events e JOIN users u ON u.id = e.user_id"
            " JOIN vehicles v ON v.id = e.vehicle_id WHERE u.external_id = '1'"
        )
        rated = set(conn.execute(sql).scalars())
    assert len(items) == 10 and not {i["vehicle_id"] for i in items} & rated
    assert all("genres" in i["features"] for i in items)
    # Explanations speak the profile's language: user 1's strong genres.
    assert any(reason.startswith("genres ") for i in items for reason in i["reasons"])
    recent = client.get("/v1/users/1/recommendations?k=5&min_release_year=1995").json["items"]
    assert len(recent) == 5 and all(i["features"]["release_year"] >= 1995 for i in recent)
