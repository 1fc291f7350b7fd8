"""Messy-value parsers, with values taken from the staged real catalogues."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backend.ingest.parsing import (
    horsepower_from_engine,
    is_placeholder,
    parse_distance_km,
    parse_float,
    parse_int,
    parse_money,
    parse_number,
    parse_timestamp,
)
from backend.ingest.sources.cars_com import fuel, gearbox
from backend.ingest.sources.vocab import FUEL, colour, lookup, make_and_model


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("$5,000", 5000.0), ("$10,300", 10300.0), ("$1,950,995", 1950995.0), ("$0", 0.0),
     ("6800", 6800.0), ("$11,111,111", 11111111.0), ("$ 900", 900.0)],
)  # fmt: skip
def test_money(raw: str, expected: float) -> None:
    assert parse_money(raw) == expected


@pytest.mark.parametrize(
    "raw", ["call me", "$", "5 000 Euro VB", "$5,000 or best offer", "€54,598", "69OO", "$1,00"]
)
def test_money_rejects_text_and_other_currencies(raw: str) -> None:
    with pytest.raises(ValueError, match=r"not an amount in \$"):
        parse_money(raw)


def test_money_in_another_currency() -> None:
    assert parse_money("12,500 €", "€") == 12500.0
    assert parse_money("€ 12500", "€") == 12500.0


@pytest.mark.parametrize(
    "raw", ["150.000x", "1.5e5", "12abc34", "1" * 400, "69OO", "€ 6.900,-", ""]
)
def test_number_must_be_the_whole_cell(raw: str) -> None:
    with pytest.raises(ValueError, match=r"not a number|out of range"):
        parse_number(raw)


def test_numbers() -> None:
    assert parse_number("235000") == 235000.0
    assert parse_number(" 10,300 ") == 10300.0
    assert parse_number("-3.5") == -3.5
    assert parse_float("1.5e5") == 150000.0
    for raw in ("nan", "inf", "-inf", "9_500", "1e400", "1,5", "abc"):
        with pytest.raises(ValueError):
            parse_float(raw)


@pytest.mark.parametrize(
    ("raw", "km"),
    [("51,000 mi.", 82076.544), ("34,742 mi.", 55911.829), ("150,000km", 150000.0),
     ("235000", 235000.0), ("5,000km", 5000.0)],
)  # fmt: skip
def test_distance_converts_miles(raw: str, km: float) -> None:
    assert parse_distance_km(raw) == pytest.approx(km, abs=0.01)


@pytest.mark.parametrize("raw", ["lots", "12abc34 km", "1.5e5", "150 000 km"])
def test_distance_rejects_garbage(raw: str) -> None:
    with pytest.raises(ValueError, match="distance"):
        parse_distance_km(raw)


@pytest.mark.parametrize("raw", ["", "  ", "–", "-", "not supported", "-/- (Fuel)", None])
def test_placeholders(raw: str | None) -> None:
    assert is_placeholder(raw)


def test_real_values_are_not_placeholders() -> None:
    assert not is_placeholder("Diesel")
    assert not is_placeholder("0")


@pytest.mark.parametrize(
    ("engine", "hp"),
    [("300.0HP 3.7L V6 Cylinder Engine Flex Fuel Capability", 300.0),
     ("534.0HP Electric Motor Electric Fuel System", 534.0),
     ("3.8L V6 24V GDI DOHC", None), ("V6", None)],
)  # fmt: skip
def test_horsepower_from_engine(engine: str, hp: float | None) -> None:
    assert horsepower_from_engine(engine) == hp


def test_int_rejects_fraction_and_text() -> None:
    assert parse_int("2011") == 2011
    for raw in ("2011.5", "year", ""):
        with pytest.raises(ValueError):
            parse_int(raw)


def test_timestamps() -> None:
    expected = datetime(2016, 3, 26, 17, 47, 46, tzinfo=UTC)
    assert parse_timestamp("2016-03-26 17:47:46") == expected  # naive means UTC
    assert parse_timestamp("2016-03-26T18:47:46+01:00") == expected
    assert parse_timestamp("1459014466") == expected
    assert parse_timestamp("2016-03-26T17:47:46Z") == expected
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_timestamp("26/03/2016")
    for raw in ("9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "1000-01-01"):
        with pytest.raises(ValueError, match=r"out of range|outside the years"):
            parse_timestamp(raw)


def test_split_makes_are_joined() -> None:
    assert make_and_model("Land", "Rover Range Rover Sport") == ("land-rover", "range-rover-sport")
    assert make_and_model("Aston", "Martin DBS Superleggera") == (
        "aston-martin",
        "dbs-superleggera",
    )
    assert make_and_model("mercedes_benz", "c_klasse") == ("mercedes-benz", "c-klasse")
    assert make_and_model("sonstige_autos", "") == ("other", "")
    assert make_and_model("Land", "Cruiser") == ("land", "cruiser")  # not every "Land" is a Rover


def test_vocabularies() -> None:
    assert lookup(FUEL, "Electric/Gasoline") == "hybrid"
    assert lookup(FUEL, "benzin") == "gasoline"
    assert lookup(FUEL, "E85 Flex Fuel") == "ethanol"
    assert lookup(FUEL, "Steam") == "steam"  # passed on so the schema check reports it
    assert colour("Silver Ice Metallic") == "silver"
    assert colour("Moonlight Cloud") == "moonlight-cloud"
    assert colour("Gray") == "grey"


def test_cars_com_transmission_and_fuel() -> None:
    assert gearbox("6-Speed A/T") == "automatic"
    assert gearbox("6-Speed M/T") == "manual"
    assert gearbox("CVT Transmission") == "automatic"
    assert gearbox("Automatic, 8-Spd") == "automatic"
    with pytest.raises(ValueError, match="gearbox"):
        gearbox("2")
    assert fuel("", "534.0HP Electric Motor Electric Fuel System") == "electric"
    assert fuel("–", "354.0HP 3.5L V6 Cylinder Engine Gas/Electric Hybrid") is None
    assert fuel("Plug-In Hybrid", "") == "plug-in-hybrid"
