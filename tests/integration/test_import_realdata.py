"""Every real data folder loads with exact counts, and a second run adds nothing."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tests.integration.cli import invoke, ok

pytestmark = pytest.mark.realdata


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def _rejects(path: Path) -> Counter[tuple[str, str, str]]:
    """(field, action, reason without the offending value) -> count."""
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    return Counter((r["field"], r["action"], r["reason"].split(" is ", 1)[-1]) for r in rows)


CATALOGUES = {
    # folder: (loaded, rows rejected, fields dropped)
    "autoscout24-germany": (46_405, 0, 9),
    "ebay-kleinanzeigen-autos-partial": (18_006, 698, 2_442),
    "cars-com-used-cars": (4_009, 0, 20),
}


@pytest.mark.parametrize("folder", sorted(CATALOGUES))
def test_catalogue(
    folder: str, data_dir: Path, engine: Engine, cli_env: dict[str, str], tmp_path: Path
) -> None:
    loaded, rejected, dropped = CATALOGUES[folder]
    rejects = tmp_path / "rejects.csv"
    out = ok(cli_env, "import", "vehicles", str(data_dir / folder), "--rejects", str(rejects))
    assert f"{loaded} loaded, 0 updated, 0 unchanged" in out
    assert f"{rejected} rejected ({dropped} fields dropped)" in out
    assert _count(engine, "SELECT count(*) FROM vehicles") == loaded
    assert _count(engine, "SELECT count(*) FROM vehicle_versions WHERE valid_to IS NULL") == loaded
    assert _count(engine, "SELECT count(*) FROM vehicles WHERE NOT features ? 'price'") == 0

    out = ok(cli_env, "import", "vehicles", str(data_dir / folder), "--rejects", str(rejects))
    assert f"0 loaded, 0 updated, {loaded} unchanged" in out
    assert _count(engine, "SELECT count(*) FROM vehicle_versions") == loaded


def test_ebay_rejects_name_line_field_and_reason(
    data_dir: Path, engine: Engine, cli_env: dict[str, str], tmp_path: Path
) -> None:
    rejects = tmp_path / "rejects.csv"
    folder = data_dir / "ebay-kleinanzeigen-autos-partial"
    ok(cli_env, "import", "vehicles", str(folder), "--rejects", str(rejects))
    reasons = _rejects(rejects)
    below, above = "below the plausible minimum", "above the plausible maximum"
    assert reasons[("price", "row rejected", f"{below} 100 EUR")] == 696  # $0 and tiny prices
    assert reasons[("price", "row rejected", f"{above} 5e+06 EUR")] == 2  # $10,000,000 and more
    assert reasons[("power_kw", "field dropped", f"{below} 1 kW")] == 1_758  # 0 PS
    assert reasons[("power_kw", "field dropped", f"{above} 1200 kW")] == 13
    assert reasons[("first_registration_year", "field dropped", f"{below} 1900 year")] == 1
    # "after the crawl (2016)" carries no value prefix
    assert reasons[("first_registration_year", "field dropped", "after the crawl (2016)")] == 670
    assert sum(reasons.values()) == 698 + 2_442
    with rejects.open() as fh:
        first = next(csv.DictReader(fh))
    assert first["file"].endswith("autos.partial.csv")
    assert int(first["line"]) > 1 and first["field"] and first["reason"]
    # Valid parts of a row with a dropped field are kept: a 0-PS ad loads without power.
    assert (
        _count(
            engine,
            "SELECT count(*) FROM vehicles WHERE source = 'ebay-kleinanzeigen' "
            "AND NOT features ? 'power_kw'",
        )
        >= 1_700
    )
    # Latin-1 text decoded: German umlauts survive in titles.
    assert _count(engine, "SELECT count(*) FROM vehicles WHERE title ~ '[äöüÄÖÜß]'") > 100


def test_catalogue_values_are_converted(data_dir: Path, engine: Engine, cli_env: dict) -> None:
    ok(cli_env, "import", "vehicles", str(data_dir / "cars-com-used-cars"))
    with engine.connect() as conn:
        first = conn.execute(
            text("SELECT title, features FROM vehicles WHERE external_id = 'cars-com-1'")
        ).one()
    assert first.title == "2013 Ford Utility Police Interceptor Base"
    f = first.features
    assert f["mileage_km"] == 82077  # "51,000 mi."
    assert f["price"] == pytest.approx(10_300 * 0.92)  # "$10,300" at the default USD rate
    assert f["power_kw"] == pytest.approx(223.7)  # "300.0HP"
    assert (f["make"], f["fuel"], f["gearbox"], f["colour"]) == (
        "ford", "ethanol", "automatic", "black",
    )  # fmt: skip
    ok(cli_env, "import", "vehicles", str(data_dir / "autoscout24-germany"))
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT features FROM vehicles WHERE external_id = 'autoscout24-1'")
        ).scalar_one()
    assert row == {
        "mileage_km": 235000, "make": "bmw", "model": "316", "fuel": "diesel",
        "gearbox": "manual", "price": 6800, "power_kw": 85.3, "first_registration_year": 2011,
    }  # fmt: skip


def test_movielens(data_dir: Path, engine: Engine, cli_env: dict[str, str]) -> None:
    folder = str(data_dir / "movielens-100k")
    out = ok(cli_env, "import", "dataset", "movielens-100k", folder)
    assert "vehicles: 1682 loaded" in out
    assert "users: 943 loaded" in out
    assert "events: 100000 loaded, 0 updated, 0 unchanged, 0 duplicates, 0 rejected" in out
    assert _count(engine, "SELECT count(*) FROM events WHERE type = 'view'") == 100_000
    assert _count(engine, "SELECT count(*) FROM events WHERE value = 5") == 21_201
    with engine.connect() as conn:
        toy = conn.execute(
            text("SELECT title, features FROM vehicles WHERE external_id = '1'")
        ).one()
        user = conn.execute(text("SELECT attributes FROM users WHERE external_id = '1'")).one()
        span = conn.execute(text("SELECT min(occurred_at), max(occurred_at) FROM events")).one()
    assert toy.title == "Toy Story (1995)"
    assert toy.features == {"genres": ["Animation", "Children's", "Comedy"], "release_year": 1995}
    assert user.attributes == {
        "age": 24, "age_band": "18-24", "gender": "M", "occupation": "technician",
    }  # fmt: skip
    assert span[0].isoformat() == "1997-09-20T03:05:10+00:00"
    assert span[1].isoformat() == "1998-04-22T23:10:38+00:00"

    out = ok(cli_env, "import", "dataset", "movielens-100k", folder)
    assert "events: 0 loaded, 0 updated, 0 unchanged, 100000 duplicates" in out
    assert "users: 0 loaded, 0 updated, 943 unchanged" in out
    assert _count(engine, "SELECT count(*) FROM events") == 100_000


def test_taobao(data_dir: Path, engine: Engine, cli_env: dict[str, str]) -> None:
    folder = str(data_dir / "taobao-userbehavior-partial")
    out = ok(cli_env, "import", "dataset", "taobao", folder)
    assert "vehicles: 55368 loaded" in out
    assert "events: 84475 loaded, 0 updated, 0 unchanged, 0 duplicates, 0 rejected" in out
    assert _count(engine, "SELECT count(*) FROM users") == 815
    with engine.connect() as conn:
        types = dict(conn.execute(text("SELECT type::text, count(*) FROM events GROUP BY 1")).all())
    assert types == {"view": 75_872, "bookmark": 2_356 + 4_497, "contact": 1_750}

    out = ok(cli_env, "import", "dataset", "taobao", folder)
    assert "events: 0 loaded, 0 updated, 0 unchanged, 84475 duplicates" in out
    assert _count(engine, "SELECT count(*) FROM events") == 84_475


def test_datasets_need_their_own_database(data_dir: Path, cli_env: dict[str, str]) -> None:
    ok(cli_env, "import", "dataset", "movielens-100k", str(data_dir / "movielens-100k"))
    result = invoke(
        cli_env, "import", "dataset", "taobao", str(data_dir / "taobao-userbehavior-partial")
    )
    assert result.exit_code == 1
    assert "already holds items (1,682 from movielens-100k)" in result.output
