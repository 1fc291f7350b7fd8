"""Hostile and odd input: each bad row is reported, every valid row loads, nothing crashes."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import Engine, text

from tests.integration.cli import invoke, ok


def _scalar(engine: Engine, sql: str) -> object:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


def _rejected_lines(path: Path) -> list[tuple[int, str, str]]:
    with path.open() as fh:
        return [(int(r["line"]), r["field"], r["action"]) for r in csv.DictReader(fh)]


def test_nul_bytes_long_fields_and_bad_times_reject_only_their_rows(
    engine: Engine, cli_env: dict, tmp_path: Path
) -> None:
    file = tmp_path / "v.csv"
    file.write_bytes(
        b"vehicle_id,title,price,make,listed_at\n"
        b"a,ok,1000,vw,\n"
        b"b,ti\x00tle,1000,vw,\n"  # line 3: NUL
        b"c," + b"x" * 200_000 + b",1000,vw,\n"  # line 4: over the CSV field limit
        b"d,ok,1000,vw,9999-12-31T23:59:59-01:00\n"  # line 5: listed_at dropped, row kept
        b"e,ok,1000,vw,\n"
    )
    rejects = tmp_path / "r.csv"
    out = ok(cli_env, "import", "vehicles", str(file), "--rejects", str(rejects))
    assert "3 loaded" in out and "2 rejected (1 fields dropped)" in out
    assert _rejected_lines(rejects) == [
        (3, "*", "row rejected"),
        (4, "title", "row rejected"),
        (5, "listed_at", "field dropped"),
    ]
    assert (
        _scalar(engine, "SELECT string_agg(external_id, ',' ORDER BY 1) FROM vehicles") == "a,d,e"
    )


def test_events_with_bad_values_keep_the_event(
    engine: Engine, cli_env: dict, tmp_path: Path
) -> None:
    (tmp_path / "v.csv").write_text("vehicle_id,price,make\nv1,5000,bmw\n")
    ok(cli_env, "import", "vehicles", str(tmp_path / "v.csv"))
    events = tmp_path / "events"
    events.mkdir()  # a folder holding one CSV is accepted, as for catalogues
    (events / "e.csv").write_text(
        "event_id,user_id,vehicle_id,type,occurred_at,value\n"
        "e1,u1,v1,view,2024-05-01T10:00:00Z,nan\n"
        "e2,u1,v1,view,2024-05-01T10:01:00Z,abc\n"
        "e3,u1,v1,view,0001-01-01T00:00:00+01:00,1\n"
        "e4,u1,v1,view,2024-05-01T10:02:00Z,2.5\n"
    )
    out = ok(cli_env, "import", "events", str(events))
    assert "3 loaded" in out and "1 rejected (2 fields dropped)" in out
    with engine.connect() as conn:
        values = dict(conn.execute(text("SELECT idempotency_key, value FROM events")).all())
    assert values == {"e1": None, "e2": None, "e4": 2.5}


def test_catalogue_values_that_only_start_with_a_number_are_not_numbers(
    engine: Engine, cli_env: dict, tmp_path: Path
) -> None:
    file = tmp_path / "as24.csv"
    file.write_text(
        "mileage,make,model,fuel,gear,offerType,price,hp,year\n"
        "12abc34,BMW,316,Diesel,Manual,Used,6800,116,2011\n"
        "1000,BMW,316,Diesel,Manual,Used,69OO,116,2011\n"
        "1000,BMW,316,Diesel,Manual,Used,6800,1e400,2011\n"
    )
    rejects = tmp_path / "r.csv"
    out = ok(cli_env, "import", "vehicles", str(file), "--rejects", str(rejects))
    assert "2 loaded" in out and "1 rejected (2 fields dropped)" in out
    assert _rejected_lines(rejects) == [
        (2, "mileage_km", "field dropped"),
        (3, "price", "row rejected"),
        (4, "power_kw", "field dropped"),
    ]


def test_history_is_applied_in_observation_order(
    engine: Engine, cli_env: dict, tmp_path: Path
) -> None:
    head = "vehicle_id,updated_at,price,make\n"
    twice = tmp_path / "twice.csv"
    twice.write_text(head + "h,2024-06-01,9000,vw\nh,2024-07-01,8000,vw\n")
    out = ok(cli_env, "import", "vehicles", str(twice))
    assert "1 loaded, 1 updated" in out
    stale = tmp_path / "stale.csv"
    stale.write_text(head + "h,2024-03-01,9900,vw\n")
    out = ok(cli_env, "import", "vehicles", str(stale))
    assert "0 loaded, 0 updated, 0 unchanged, 0 duplicates, 1 rejected" in out
    same_instant = tmp_path / "same.csv"
    same_instant.write_text(head + "h,2024-07-01,7900,vw\n")
    assert "1 updated" in ok(cli_env, "import", "vehicles", str(same_instant))
    with engine.connect() as conn:
        versions = conn.execute(
            text(
                "SELECT (features->>'price')::float::int, valid_from::date::text,"
                " valid_to::date::text FROM vehicle_versions ORDER BY id"
            )
        ).all()
    # No empty [t, t) periods: the same-instant correction replaced the current version.
    assert versions == [(9000, None, "2024-07-01"), (7900, "2024-07-01", None)]


def test_same_file_same_history_whatever_the_batch_size(
    engine: Engine, cli_env: dict, tmp_path: Path
) -> None:
    file = tmp_path / "v.csv"
    file.write_text(
        "vehicle_id,updated_at,price,make\nd,2024-01-01,1000,vw\nd,2024-02-01,2000,vw\n"
    )
    out = ok({**cli_env, "FORECOURT_IMPORT_BATCH_ROWS": "1"}, "import", "vehicles", str(file))
    assert "1 loaded, 1 updated" in out
    assert _scalar(engine, "SELECT count(*) FROM vehicle_versions") == 2
    assert _scalar(engine, "SELECT (features->>'price')::float FROM vehicles") == 2000


def test_a_file_without_status_keeps_a_sold_vehicle_sold(
    engine: Engine, cli_env: dict, tmp_path: Path
) -> None:
    (tmp_path / "a.csv").write_text("vehicle_id,status,title,price,make\ns,sold,Golf,5000,vw\n")
    ok(cli_env, "import", "vehicles", str(tmp_path / "a.csv"))
    (tmp_path / "b.csv").write_text("vehicle_id,price,make\ns,4500,vw\n")
    assert "1 updated" in ok(cli_env, "import", "vehicles", str(tmp_path / "b.csv"))
    with engine.connect() as conn:
        row = conn.execute(text("SELECT status::text, title FROM vehicles")).one()
    assert tuple(row) == ("sold", "Golf")


def test_items_of_another_source_are_not_overwritten(
    engine: Engine, cli_env: dict, tmp_path: Path
) -> None:
    (tmp_path / "a.csv").write_text("vehicle_id,price,make\n1,5000,vw\n")
    ok(cli_env, "import", "vehicles", str(tmp_path / "a.csv"))
    cars = tmp_path / "cars.csv"
    cars.write_text(
        "brand,model,model_year,mileage,fuel_type,engine,transmission,ext_col,int_col,"
        "accident,clean_title,price\n"
        'Ford,F-150,2019,"10 mi.",Gasoline,V8,A/T,Black,Black,None,Yes,"$30,000"\n'
    )
    ok(cli_env, "import", "vehicles", str(cars))
    with engine.begin() as conn:  # pretend the cars.com row had taken id "1"
        conn.execute(text("UPDATE vehicles SET external_id = '2' WHERE source = 'cars-com'"))
    (tmp_path / "b.csv").write_text("vehicle_id,price,make\n2,6000,vw\n")
    result = invoke(cli_env, "import", "vehicles", str(tmp_path / "b.csv"))
    assert "0 loaded, 0 updated, 0 unchanged, 0 duplicates, 1 rejected" in result.stdout
    assert "belongs to source cars-com, not generic" in result.stderr


def test_headers(cli_env: dict, tmp_path: Path) -> None:
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeffvehicle_id,price,make\nb1,5000,vw\n".encode())
    assert "1 loaded" in ok(cli_env, "import", "vehicles", str(bom))
    cases = {
        "": "empty file",
        "vehicle_id,price,make,price\n": "price: column named twice",
        "vehicle_id,price,make,\n": "column 4: column without a name",
        "price,make\n": "a generic file needs a vehicle_id",
    }
    for body, message in cases.items():
        file = tmp_path / "h.csv"
        file.write_text(body)
        result = invoke(cli_env, "import", "vehicles", str(file), "--format", "generic")
        if body == "price,make\n":
            result = invoke(cli_env, "import", "vehicles", str(file))
        assert result.exit_code == 1, body
        assert message in result.output, (body, result.output)


def test_cli_errors_are_messages_not_tracebacks(cli_env: dict, tmp_path: Path) -> None:
    (tmp_path / "v.csv").write_text("vehicle_id,price,make\nv1,5000,vw\n")
    result = invoke(
        cli_env, "import", "vehicles", str(tmp_path / "v.csv"), "--rejects", str(tmp_path)
    )
    assert result.exit_code == 2 and "is a directory" in result.output
    result = invoke({**cli_env, "FORECOURT_IMPORT_BATCH_ROWS": "abc"}, "db", "current")
    assert result.exit_code == 1
    assert "invalid settings: FORECOURT_IMPORT_BATCH_ROWS" in result.output
    assert "Traceback" not in result.output


def test_a_long_quoted_field_with_newlines_is_one_reject(
    engine: Engine, cli_env: dict, tmp_path: Path
) -> None:
    file = tmp_path / "v.csv"
    long = "A" * 140_000 + "\n" + "B" * 10
    file.write_text(
        f'vehicle_id,title,price,make\nq-1,ok,5000,vw\nq-2,"{long}",5000,vw\n'
        'q-3,ok,5000,vw\nq-4,"a, quoted title",5000,vw\n'
    )
    out = ok(cli_env, "import", "vehicles", str(file))
    assert "3 loaded" in out and "1 rejected" in out
    assert _scalar(engine, "SELECT string_agg(external_id, ',' ORDER BY 1) FROM vehicles") == (
        "q-1,q-3,q-4"
    )


def test_history_edge_cases(engine: Engine, cli_env: dict, tmp_path: Path) -> None:
    def load(body: str) -> str:
        file = tmp_path / "v.csv"
        file.write_text("vehicle_id,listed_at,updated_at,price,make\n" + body)
        return ok(cli_env, "import", "vehicles", str(file))

    def current(vid: str) -> tuple:
        with engine.connect() as conn:
            return tuple(
                conn.execute(
                    text(
                        "SELECT (v.features->>'price')::float, (vv.features->>'price')::float,"
                        " (SELECT count(*) FROM vehicle_versions x WHERE x.vehicle_id = v.id)"
                        " FROM vehicles v JOIN vehicle_versions vv"
                        "   ON vv.vehicle_id = v.id AND vv.valid_to IS NULL"
                        " WHERE v.external_id = :v"
                    ),
                    {"v": vid},
                ).one()
            )

    # Seen unchanged on 05-03, so a 05-02 snapshot afterwards is stale.
    load("t,,2024-05-01,9000,vw\n")
    assert "1 unchanged" in load("t,,2024-05-03,9000,vw\n")
    assert "1 rejected" in load("t,,2024-05-02,8000,vw\n")
    assert current("t") == (9000, 9000, 1)
    # A row without a time after a future-dated state is older than it: refused, not mixed.
    load("f,,2090-02-01,9100,vw\n")
    assert "1 rejected" in load("f,,,9500,vw\n")
    assert current("f") == (9100, 9100, 1)
    # An update dated before the listing corrects the first version; both tables agree.
    load("z,2024-06-01,2024-06-01,9000,vw\n")
    assert "1 rejected" in load("z,,2024-05-15,9100,vw\n")  # older than what we saw
    load("y,2024-06-01,2024-05-01,9000,vw\n")  # observed before it was listed
    assert "1 updated" in load("y,,2024-05-15,9100,vw\n")
    assert current("y") == (9100, 9100, 1)  # the version was corrected, not left behind


def test_derived_event_keys_do_not_collide(engine: Engine, cli_env: dict, tmp_path: Path) -> None:
    (tmp_path / "v.csv").write_text("vehicle_id,price,make\nc,5000,vw\nb|c,5000,vw\n")
    ok(cli_env, "import", "vehicles", str(tmp_path / "v.csv"))
    (tmp_path / "e.csv").write_text(
        "user_id,vehicle_id,type,occurred_at\n"
        "a|b,c,view,2024-05-01T10:00:00Z\n"
        "a,b|c,view,2024-05-01T10:00:00Z\n"
        "a,b|c,view,2024-05-01T10:00:00Z,\n"  # ragged: rejected, counted once
    )
    out = ok(cli_env, "import", "events", str(tmp_path / "e.csv"))
    assert "events: 2 loaded, 0 updated, 0 unchanged, 0 duplicates, 1 rejected" in out
    assert "from 3 rows" in out


def test_rejects_file_must_not_be_the_input_and_must_be_writable(
    cli_env: dict, tmp_path: Path
) -> None:
    file = tmp_path / "v.csv"
    file.write_text("vehicle_id,price,make\nv1,5000,vw\nv2,abc,vw\n")
    result = invoke(cli_env, "import", "vehicles", str(file), "--rejects", str(file))
    assert result.exit_code == 1 and "would overwrite the input" in result.output
    assert file.read_text().startswith("vehicle_id,price,make")
    result = invoke(cli_env, "import", "vehicles", str(file), "--rejects", f"{file}/r.csv")
    assert result.exit_code == 1 and "cannot write rejects to" in result.output
    assert "Traceback" not in result.output
