"""cars.com listings: US units and prices, free-text engine, transmission and colour."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from backend.ingest.parsing import (
    KW_PER_HP,
    horsepower_from_engine,
    is_placeholder,
    parse_distance_km,
    parse_int,
    parse_money,
)
from backend.ingest.reader import records
from backend.ingest.records import Reject, VehicleRow
from backend.ingest.sources.vocab import FUEL, colour, lookup, make_and_model, put
from models.schema import FieldIssue

NAME = "cars-com"
COLUMNS = ("brand", "model", "model_year", "mileage", "fuel_type", "engine", "transmission",
           "ext_col", "price")  # fmt: skip


def gearbox(raw: str) -> str:
    text = raw.lower()
    if re.search(r"\bm/t\b|manual", text):
        return "manual"
    if re.search(r"\ba/t\b|automatic|cvt|variable|dual shift|auto-shift", text):
        return "automatic"
    raise ValueError(f"cannot tell the gearbox from {raw!r}")


def fuel(raw_fuel: str, engine: str) -> str | None:
    if not is_placeholder(raw_fuel):
        return lookup(FUEL, raw_fuel)
    # Electric cars on cars.com leave fuel_type empty but say so in the engine text.
    if "electric" in engine.lower() and not re.search(r"gas|hybrid", engine, re.IGNORECASE):
        return "electric"
    return None


def read(path: Path, *, usd_to_eur: float = 0.92, **_: object) -> Iterator[VehicleRow | Reject]:
    # The original Kaggle header spells mileage "milage".
    for record in records(path, COLUMNS, desc=NAME, aliases={"milage": "mileage"}):
        if isinstance(record, Reject):
            yield record
            continue
        n, line, cells = record
        get = cells.get
        make, model = make_and_model(get("brand"), get("model"))
        features: dict[str, object] = {"make": make}
        if model:
            features["model"] = model
        engine = get("engine") or ""
        issues = [
            put(features, "price", get("price"), lambda s: round(parse_money(s) * usd_to_eur, 2)),
            put(features, "mileage_km", get("mileage"), lambda s: round(parse_distance_km(s))),
            put(features, "first_registration_year", get("model_year"), parse_int),
            put(features, "gearbox", get("transmission"), gearbox),
            put(features, "colour", get("ext_col"), colour),
        ]
        hp = horsepower_from_engine(engine)
        if hp is not None:
            features["power_kw"] = round(hp * KW_PER_HP, 1)
        fuel_value = fuel(get("fuel_type"), engine)
        if fuel_value:
            features["fuel"] = fuel_value
        year = get("model_year")
        yield VehicleRow(
            line=line,
            external_id=f"{NAME}-{n}",
            title=" ".join(p for p in (year, get("brand"), get("model")) if p).strip() or None,
            features=features,
            issues=[i for i in issues if isinstance(i, FieldIssue)],
        )
