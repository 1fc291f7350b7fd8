"""The generic CSV format: versioning, status, rejects, idempotency, clear errors."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import Engine, text

from tests.integration.cli import invoke, ok

HEADER = "vehicle_id,status,title,updated_at,price,mileage_km,make,fuel,gearbox\n"


def _write(path: Path, body: str) -> Path:
    path.write_text(body, encoding="utf-8")
    return path


def _versions(engine: Engine, external_id: str) -> list[tuple]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT vv.features->>'price', vv.valid_from, vv.valid_to"
                    " FROM vehicle_versions vv JOIN vehicles v ON v.id = vv.vehicle_id"
                    " WHERE v.external_id = :e ORDER BY vv.id"
                ),
                {"e": external_id},
            ).all()
        )


def test_changed_price_creates_a_version(engine: Engine, cli_env: dict, tmp_path: Path) -> None:
    day1 = _write(
        tmp_path / "day1.csv",
        HEADER + "v1,,Golf,2024-05-01T00:00:00Z,9500,120000,volkswagen,diesel,manual\n"
        "v2,,Polo,2024-05-01T00:00:00Z,7000,80000,volkswagen,gasoline,manual\n",
    )
    assert "2 loaded, 0 updated, 0 unchanged" in ok(cli_env, "import", "vehicles", str(day1))
    day2 = _write(
        tmp_path / "day2.csv",
        HEADER + "v1,,Golf,2024-05-02T00:00:00Z,8900,120000,volkswagen,diesel,manual\n"
        "v2,sold,Polo,2024-05-02T00:00:00Z,7000,80000,volkswagen,gasoline,manual\n",
    )
    assert "0 loaded, 2 updated, 0 unchanged" in ok(cli_env, "import", "vehicles", str(day2))
    assert "0 loaded, 0 updated, 2 unchanged" in ok(cli_env, "import", "vehicles", str(day2))

    v1 = _versions(engine, "v1")
    assert [float(p) for p, _, _ in v1] == [9500, 8900]
    assert v1[0][1] is None  # first version: valid as far back as we know
    assert v1[0][2].isoformat() == v1[1][1].isoformat() == "2024-05-02T00:00:00+00:00"
    assert v1[1][2] is None
    # A status change alone is not a new feature version, but the listing is marked sold.
    assert len(_versions(engine, "v2")) == 1
    with engine.connect() as conn:
        status = conn.execute(text("SELECT status::text FROM vehicles WHERE external_id='v2'"))
        assert status.scalar_one() == "sold"


def test_rejected_rows_are_reported_and_valid_rows_load(
    engine: Engine, cli_env: dict, tmp_path: Path
) -> None:
    file = _write(
        tmp_path / "v.csv",
        HEADER + "ok1,,,,9500,120000,vw,diesel,manual\n"
        "bad1,,,,,120000,vw,diesel,manual\n"  # line 3: no price
        "bad2,,,,cheap,120000,vw,diesel,manual\n"  # line 4: price not a number
        "ok2,,,,7000,-5,vw,rocket,manual\n"  # line 5: two fields dropped, row kept
        "bad3,lost,,,7000,1,vw,diesel,manual\n"  # line 6: unknown status
        "short,row\n"  # line 7: wrong cell count
        ",,,,7000,1,vw,diesel,manual\n",  # line 8: no id
    )
    rejects = tmp_path / "rejects.csv"
    result = invoke(cli_env, "import", "vehicles", str(file), "--rejects", str(rejects))
    assert result.exit_code == 0, result.output
    assert "2 loaded, 0 updated, 0 unchanged, 0 duplicates, 5 rejected (2 fields dropped)" in (
        result.stdout
    )
    assert f"{file}:3: price=None: required value is missing (row rejected)" in result.stderr
    with rejects.open() as fh:
        rows = [(int(r["line"]), r["field"], r["action"]) for r in csv.DictReader(fh)]
    assert rows == [
        (3, "price", "row rejected"),
        (4, "price", "row rejected"),
        (5, "mileage_km", "field dropped"),
        (5, "fuel", "field dropped"),
        (6, "status", "row rejected"),
        (7, "*", "row rejected"),
        (8, "vehicle_id", "row rejected"),
    ]
    with engine.connect() as conn:
        ok2 = conn.execute(text("SELECT features FROM vehicles WHERE external_id='ok2'"))
        assert ok2.scalar_one() == {"price": 7000.0, "make": "vw", "gearbox": "manual"}


def test_events_are_idempotent_and_unknown_vehicles_rejected(
    engine: Engine, cli_env: dict, tmp_path: Path
) -> None:
    vehicles = _write(tmp_path / "v.csv", "vehicle_id,price,make\nv1,5000,bmw\nv2,6000,audi\n")
    ok(cli_env, "import", "vehicles", str(vehicles))
    events = _write(
        tmp_path / "e.csv",
        "event_id,user_id,vehicle_id,type,occurred_at\n"
        "e1,alice,v1,view,2024-05-01T10:00:00Z\n"
        "e2,alice,v2,bookmark,2024-05-01T10:05:00Z\n"
        "e3,bob,v1,contact,1714557600\n"
        "e4,bob,v9,view,2024-05-01T10:00:00Z\n"  # line 5: unknown vehicle
        "e5,bob,v1,purchase,2024-05-01T10:00:00Z\n"  # line 6: unknown type
        "e6,bob,v1,view,yesterday\n"  # line 7: bad time
        "e1,alice,v1,view,2024-05-01T10:00:00Z\n",  # line 8: replay of e1 in the same file
    )
    rejects = tmp_path / "rejects.csv"
    out = ok(cli_env, "import", "events", str(events), "--rejects", str(rejects))
    assert "events: 3 loaded, 0 updated, 0 unchanged, 1 duplicates, 3 rejected" in out
    with rejects.open() as fh:
        got = [(r["line"], r["field"], r["reason"][:16]) for r in csv.DictReader(fh)]
    assert sorted(got) == [
        ("5", "vehicle_id", "unknown vehicle"),
        ("6", "type", "not one of ('vie"),
        ("7", "occurred_at", "not an ISO 8601 "),
    ]
    out = ok(cli_env, "import", "events", str(events), "--rejects", str(rejects))
    assert "events: 0 loaded, 0 updated, 0 unchanged, 4 duplicates, 3 rejected" in out
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM events")).scalar_one() == 3
        users = conn.execute(text("SELECT external_id FROM users ORDER BY 1")).scalars().all()
    assert users == ["alice", "bob"]  # bob's rejected rows did not matter; his contact did


def test_events_without_ids_are_keyed_by_content(
    engine: Engine, cli_env: dict, tmp_path: Path
) -> None:
    ok(
        cli_env,
        "import",
        "vehicles",
        str(_write(tmp_path / "v.csv", "vehicle_id,price,make\nv1,5000,bmw\n")),
    )
    body = "user_id,vehicle_id,type,occurred_at\nu1,v1,view,2024-05-01T10:00:00Z\n"
    out = ok(cli_env, "import", "events", str(_write(tmp_path / "e.csv", body)))
    assert "1 loaded" in out
    out = ok(cli_env, "import", "events", str(_write(tmp_path / "e2.csv", body)))
    assert "0 loaded" in out and "1 duplicates" in out


def test_users_with_attributes(engine: Engine, cli_env: dict, tmp_path: Path) -> None:
    file = _write(tmp_path / "u.csv", "user_id,age,gender,occupation\n7,31,F,writer\n8,200,M,\n")
    out = ok(cli_env, "import", "users", str(file), "--schema", "movielens-100k")
    assert "users: 2 loaded" in out and "(1 fields dropped)" in out
    with engine.connect() as conn:
        attrs = dict(conn.execute(text("SELECT external_id, attributes FROM users")).all())
    assert attrs == {
        "7": {"age": 31.0, "gender": "F", "occupation": "writer"},
        "8": {"gender": "M"},
    }


def test_file_level_errors_name_file_line_and_field(cli_env: dict, tmp_path: Path) -> None:
    bad = _write(tmp_path / "v.csv", "vehicle_id,price,wheels\nv1,5000,4\n")
    result = invoke(cli_env, "import", "vehicles", str(bad))
    assert result.exit_code == 1
    assert f"{bad}:1: wheels: unknown column(s)" in result.output
    result = invoke(cli_env, "import", "vehicles", str(tmp_path / "missing.csv"))
    assert result.exit_code == 1 and "missing.csv:0: no such file" in result.output
    odd = _write(tmp_path / "odd.csv", "a,b,c\n1,2,3\n")
    result = invoke(cli_env, "import", "vehicles", str(odd))
    assert result.exit_code == 1 and "unrecognised catalogue header" in result.output
    result = invoke(cli_env, "import", "events", str(bad))
    assert result.exit_code == 1 and "unknown column(s)" in result.output
    result = invoke(cli_env, "import", "vehicles", str(bad), "--schema", "boats")
    assert result.exit_code == 1 and "no feature schema 'boats'" in result.output
    result = invoke(cli_env, "import", "dataset", "movielens-100k", str(tmp_path))
    assert result.exit_code == 1 and "not a MovieLens 100K folder" in result.output
