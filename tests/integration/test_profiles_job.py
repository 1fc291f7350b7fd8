"""Profile rebuild from the store: versions valid at event time, storage, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tests.integration.cli import invoke, ok


def _write(path: Path, body: str) -> str:
    path.write_text(body)
    return str(path)


def test_profile_uses_the_features_a_vehicle_had_when_seen(
    engine: Engine, cli_env: dict, tmp_path: Path
) -> None:
    head = "vehicle_id,updated_at,price,make,fuel\n"
    makes, fuels = ("vw", "bmw"), ("diesel", "gasoline")
    catalogue = "".join(
        f"c{i},2024-01-01,{8000 + 500 * i},{makes[i % 3 == 0]},{fuels[i % 2]}\n" for i in range(20)
    )
    ok(cli_env, "import", "vehicles", _write(tmp_path / "a.csv", head + catalogue +
       "v,2024-01-01,5000,bmw,diesel\n"))  # fmt: skip
    # alice sees v while it is a cheap diesel; the listing then changes to a costly petrol car,
    # which bob sees.
    ok(cli_env, "import", "events", _write(tmp_path / "e1.csv",
       "user_id,vehicle_id,type,occurred_at\nalice,v,view,2024-01-05T10:00:00Z\n"))  # fmt: skip
    ok(cli_env, "import", "vehicles", _write(tmp_path / "b.csv",
       head + "v,2024-01-10,60000,bmw,gasoline\n"))  # fmt: skip
    ok(cli_env, "import", "events", _write(tmp_path / "e2.csv",
       "user_id,vehicle_id,type,occurred_at\nbob,v,contact,2024-01-12T10:00:00Z\n"))  # fmt: skip

    out = ok(cli_env, "profiles", "rebuild")
    assert "2 users (2 with events in the window), 2 events" in out
    with engine.connect() as conn:
        rows = dict(
            conn.execute(
                text(
                    "SELECT u.external_id, p.summary FROM user_profiles p"
                    " JOIN users u ON u.id = p.user_id"
                )
            ).all()
        )
    alice, bob = rows["alice"], rows["bob"]
    assert alice["events"] == 1 and bob["events"] == 1
    assert max(alice["categories"]["fuel"], key=alice["categories"]["fuel"].get) == "diesel"
    assert max(bob["categories"]["fuel"], key=bob["categories"]["fuel"].get) == "gasoline"
    assert alice["ranges"]["price"]["mean"] < bob["ranges"]["price"]["mean"]
    # One view is evidence, not certainty.
    assert 0.3 < alice["categories"]["make"]["bmw"] < 1.0

    shown = ok(cli_env, "profiles", "show", "alice")
    assert shown.startswith("user alice: 1 events")
    assert (
        json.loads(shown.split("\n", 1)[1])["categories"]["make"]["bmw"]
        == (alice["categories"]["make"]["bmw"])
    )
    assert invoke(cli_env, "profiles", "show", "nobody").exit_code == 1


def test_as_of_limits_the_events(engine: Engine, cli_env: dict, tmp_path: Path) -> None:
    ok(cli_env, "import", "vehicles", _write(tmp_path / "v.csv",
       "vehicle_id,price,make\nv,5000,vw\n"))  # fmt: skip
    ok(cli_env, "import", "events", _write(tmp_path / "e.csv",
       "user_id,vehicle_id,type,occurred_at\nu,v,view,2024-01-05T00:00:00Z\n"
       "u,v,view,2024-03-05T00:00:00Z\n"))  # fmt: skip
    assert "1 events, as of 2024-01-06" in ok(
        cli_env, "profiles", "rebuild", "--as-of", "2024-01-06"
    )
    assert "1 events, as of 2024-03-05" in ok(cli_env, "profiles", "rebuild")  # 30-day window
    result = invoke(cli_env, "profiles", "rebuild", "--as-of", "soon")
    assert result.exit_code == 2 and "not an ISO 8601 time" in result.output


@pytest.mark.realdata
def test_movielens_profiles(data_dir: Path, engine: Engine, cli_env: dict) -> None:
    ok(cli_env, "import", "dataset", "movielens-100k", str(data_dir / "movielens-100k"))
    out = ok(cli_env, "profiles", "rebuild", "--schema", "movielens-100k")
    assert "943 users (244 with events in the window), 16,787 events" in out
    with engine.connect() as conn:
        n, width = conn.execute(
            text("SELECT count(*), max(array_length(vector, 1)) FROM user_profiles")
        ).one()
    assert n == 943
    # 18 genres on at least 5 movies + other, release year mean and std, 2 confidence slots
    assert width == 19 + 2 * 1 + 2
