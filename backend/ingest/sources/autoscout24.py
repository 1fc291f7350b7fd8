"""AutoScout24 Germany catalogue: mileage,make,model,fuel,gear,offerType,price,hp,year."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from backend.ingest.parsing import KW_PER_PS, parse_int, parse_number
from backend.ingest.reader import records
from backend.ingest.records import Reject, VehicleRow
from backend.ingest.sources.vocab import FUEL, GEARBOX, lookup, make_and_model, put

NAME = "autoscout24"
COLUMNS = ("mileage", "make", "model", "fuel", "gear", "offerType", "price", "hp", "year")


def read(path: Path, **_: object) -> Iterator[VehicleRow | Reject]:
    for record in records(path, COLUMNS, desc=NAME):
        if isinstance(record, Reject):
            yield record
            continue
        n, line, cells = record
        get = cells.get
        make, model = make_and_model(get("make"), get("model"))
        features: dict[str, object] = {"make": make} if make else {}
        if model:
            features["model"] = model
        issues = [
            put(features, "price", get("price"), parse_number),
            put(features, "mileage_km", get("mileage"), parse_number),
            # AutoScout24's "hp" is the German PS (metric horsepower).
            put(features, "power_kw", get("hp"), lambda s: round(parse_number(s) * KW_PER_PS, 1)),
            put(features, "first_registration_year", get("year"), parse_int),
            put(features, "fuel", get("fuel"), lambda s: lookup(FUEL, s)),
            put(features, "gearbox", get("gear"), lambda s: lookup(GEARBOX, s)),
        ]
        yield VehicleRow(
            line=line,
            # The file has no listing id; its row number is stable for a given file.
            external_id=f"{NAME}-{n}",
            title=" ".join(p for p in (get("make"), get("model")) if p).strip() or None,
            features=features,
            issues=[i for i in issues if i],
        )
