"""Profile rebuild from the store: versions valid at event time, storage, CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
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
    assert alice["categories"]["fuel"][0][0] == "diesel"  # ordered by probability
    assert bob["categories"]["fuel"][0][0] == "gasoline"
    assert alice["ranges"]["price"]["mean"] < bob["ranges"]["price"]["mean"]
    # One view is evidence, not certainty.
    alice_make = dict(alice["categories"]["make"])
    assert 0.3 < alice_make["bmw"] < 1.0

    shown = ok(cli_env, "profiles", "show", "alice")
    assert shown.startswith("user alice: 1 events")
    assert dict(json.loads(shown.split("\n", 1)[1])["categories"]["make"]) == alice_make
    assert invoke(cli_env, "profiles", "show", "nobody").exit_code == 1


def test_an_event_before_the_listing_date_uses_the_first_version(
    engine: Engine, cli_env: dict, tmp_path: Path
) -> None:
    ok(cli_env, "import", "vehicles", _write(tmp_path / "v.csv",
       "vehicle_id,listed_at,updated_at,price,make\nv,2024-02-01,2024-02-01,5000,vw\n"
       "w,,2024-02-01,6000,vw\n"))  # fmt: skip
    ok(cli_env, "import", "events", _write(tmp_path / "e.csv",
       "user_id,vehicle_id,type,occurred_at\nu,v,view,2024-01-15T00:00:00Z\n"
       "u,w,view,2024-01-16T00:00:00Z\n"))  # fmt: skip
    assert "1 users (1 with events in the window), 2 events" in ok(cli_env, "profiles", "rebuild")


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


def _top_genres_from_raw(folder: Path, user: str) -> list[str]:
    """The user's genres straight from the GroupLens files, each rating split over its genres."""
    genres = [line.split("|")[0] for line in (folder / "u.genre").read_text().splitlines() if line]
    flags = {}
    for line in (folder / "u.item").read_text(encoding="latin-1").splitlines():
        cells = line.split("|")
        flags[cells[0]] = [g for g, f in zip(genres, cells[5:], strict=True) if f == "1"]
    score: dict[str, float] = {}
    for line in (folder / "u.data").read_text().splitlines():
        u, item, _, _ = line.split("\t")
        if u == user:
            for g in flags[item]:
                score[g] = score.get(g, 0.0) + 1 / len(flags[item])
    return sorted(score, key=score.get, reverse=True)


@pytest.mark.realdata
def test_movielens_profiles(data_dir: Path, engine: Engine, cli_env: dict) -> None:
    ok(cli_env, "import", "dataset", "movielens-100k", str(data_dir / "movielens-100k"))
    out = ok(cli_env, "profiles", "rebuild", "--schema", "movielens-100k")
    assert "943 users (244 with events in the window), 16,787 events" in out
    with engine.connect() as conn:
        n, width = conn.execute(
            text("SELECT count(*), max(length(vector)) / 4 FROM user_profiles")
        ).one()
    assert n == 943
    # 18 genres on at least 5 movies + other, release year mean and std, 2 confidence slots;
    # then the user's attributes: 6 age bands, 2 genders and 21 occupations (each + other),
    # age value and presence.
    assert width == 19 + 2 * 1 + 2 + (7 + 3 + 22 + 2)

    # Over the whole history with flat recency, user 1's top genre is the raw data's.
    env = {**cli_env, "FORECOURT_PROFILE_WINDOW_DAYS": "400",
           "FORECOURT_PROFILE_HALF_LIFE_DAYS": "100000"}  # fmt: skip
    assert "943 with events in the window" in ok(
        env, "profiles", "rebuild", "--schema", "movielens-100k"
    )
    shown = json.loads(ok(env, "profiles", "show", "1").split("\n", 1)[1])
    raw = _top_genres_from_raw(data_dir / "movielens-100k", "1")
    assert [g for g, _ in shown["categories"]["genres"]] == raw[:3]
    assert shown["events"] == 272
    # u.user: "1|24|M|technician|85711"
    assert shown["attributes"] == {"age_band": "18-24", "gender": "M",
                                   "occupation": "technician", "age": 24}  # fmt: skip
    with engine.connect() as conn:
        vector = np.frombuffer(conn.execute(text(
            "SELECT vector FROM user_profiles p JOIN users u ON u.id = p.user_id"
            " WHERE u.external_id = '1'")).scalar_one(), "<f4")  # fmt: skip
    age_band, gender = vector[23 : 23 + 7], vector[30:33]
    assert age_band.tolist() == [1, 0, 0, 0, 0, 0, 0]  # "18-24" sorts first, "<18" last
    assert gender.tolist() == [0, 1, 0]  # F, M, other
    # An incremental update keeps the attributes in the vector and the summary.
    moved = json.loads(ok(env, "profiles", "update", "1"))
    assert moved["attributes"] == shown["attributes"]
    with engine.connect() as conn:
        after = np.frombuffer(conn.execute(text(
            "SELECT vector FROM user_profiles p JOIN users u ON u.id = p.user_id"
            " WHERE u.external_id = '1'")).scalar_one(), "<f4")  # fmt: skip
    np.testing.assert_array_equal(after[23:], vector[23:])


@pytest.mark.realdata
def test_taobao_profiles(data_dir: Path, engine: Engine, cli_env: dict) -> None:
    ok(cli_env, "import", "dataset", "taobao", str(data_dir / "taobao-userbehavior-partial"))
    out = ok(cli_env, "profiles", "rebuild", "--schema", "taobao")
    assert "815 users" in out and "as of 2017-12-03T15:59:23" in out
    with engine.connect() as conn:
        weights = conn.execute(
            text("SELECT config->'type_weights' FROM feature_spaces")
        ).scalar_one()
    assert weights[0] == 1.0 and weights[2] > weights[1] > 1.0  # buy > fav/cart > view


def _stats(engine: Engine, user: str) -> Any:
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT p.stats, p.event_count, p.total_weight, p.as_of FROM user_profiles p"
                " JOIN users u ON u.id = p.user_id WHERE u.external_id = :u"
            ),
            {"u": user},
        ).one()
    return row


def test_incremental_update_equals_a_rebuild(engine: Engine, cli_env: dict, tmp_path: Path) -> None:
    env = {
        **cli_env,
        "FORECOURT_PROFILE_TYPE_WEIGHTS": "[1, 4, 16]",
        "FORECOURT_PROFILE_WINDOW_DAYS": "10",
        "FORECOURT_PROFILE_HALF_LIFE_DAYS": "3",
    }
    rows = "".join(f"c{i},{8000 + 700 * i},{('vw', 'bmw')[i % 2]}\n" for i in range(20))
    ok(env, "import", "vehicles", _write(tmp_path / "v.csv", "vehicle_id,price,make\n" + rows))
    first = "".join(
        f"alice,c{d % 20},{('view', 'bookmark', 'contact')[d % 3]},2024-01-{d:02d}T12:00:00Z\n"
        for d in range(1, 21)
    )
    head = "user_id,vehicle_id,type,occurred_at\n"
    ok(env, "import", "events", _write(tmp_path / "e1.csv", head + first))
    ok(env, "profiles", "rebuild")
    assert _stats(engine, "alice").event_count == 10  # days 11-20 of a 10-day window
    # Later events move the window (days 1-15 expire); a late one lands inside it.
    later = "alice,c3,contact,2024-01-25T12:00:00Z\nalice,c4,view,2024-01-18T18:00:00Z\n"
    ok(env, "import", "events", _write(tmp_path / "e2.csv", head + later))
    ok(env, "profiles", "update", "alice")
    incremental = _stats(engine, "alice")
    ok(env, "profiles", "rebuild")
    full = _stats(engine, "alice")
    assert incremental.as_of == full.as_of
    assert incremental.event_count == full.event_count == 7  # days 16-20, the 18th twice, 25th
    assert incremental.total_weight == pytest.approx(full.total_weight, rel=1e-9)
    np.testing.assert_allclose(
        np.frombuffer(incremental.stats, "<f8"), np.frombuffer(full.stats, "<f8"),
        rtol=1e-9, atol=1e-9,
    )  # fmt: skip
    assert invoke(env, "profiles", "update", "nobody").exit_code == 1


def test_an_update_never_overwrites_a_newer_one(
    engine: Engine, cli_env: dict, tmp_path: Path
) -> None:
    from backend.db import profile_queries as q
    from workers.jobs.profiles import _moved, update_profile

    ok(
        cli_env,
        "import",
        "vehicles",
        _write(tmp_path / "v.csv", "vehicle_id,price,make\nc1,9000,vw\n"),
    )
    head = "user_id,vehicle_id,type,occurred_at\n"
    events = head + "bob,c1,view,2024-01-01T12:00:00Z\n"
    ok(cli_env, "import", "events", _write(tmp_path / "e1.csv", events))
    ok(cli_env, "profiles", "rebuild")
    ok(
        cli_env,
        "import",
        "events",
        _write(tmp_path / "e2.csv", head + "bob,c1,contact,2024-01-02T12:00:00Z\n"),
    )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        stale = q.profile_with_events(conn, "bob", None)
        # Another worker moves the profile between this read and this write.
        assert update_profile(engine, "bob") is not None
        moved = _stats(engine, "bob")
        write, _ = _moved(conn, stale)
        assert q.update_profile_row(conn, write, seen=stale.updated_at) is False
    assert _stats(engine, "bob") == moved
    assert moved.event_count == 2
