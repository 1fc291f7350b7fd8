"""eBay Kleinanzeigen ads (2016, Dataquest's dirty sample): German values, Windows-1252."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from backend.ingest.parsing import (
    KW_PER_PS,
    is_placeholder,
    parse_distance_km,
    parse_int,
    parse_money,
    parse_number,
    parse_timestamp,
)
from backend.ingest.reader import records
from backend.ingest.records import Reject, VehicleRow
from backend.ingest.sources.vocab import BODY, FUEL, GEARBOX, lookup, make_and_model, put
from models.schema import FieldIssue

NAME = "ebay-kleinanzeigen"
COLUMNS = (
    "dateCrawled", "name", "price", "vehicleType", "yearOfRegistration", "gearbox",
    "powerPS", "model", "odometer", "fuelType", "brand", "dateCreated",
)  # fmt: skip


def read(path: Path, **_: object) -> Iterator[VehicleRow | Reject]:
    for record in records(path, COLUMNS, encoding="cp1252", desc=NAME):
        if isinstance(record, Reject):
            yield record
            continue
        n, line, cells = record
        get = cells.get
        issues: list[FieldIssue | None] = []
        crawled = None
        try:
            crawled = parse_timestamp(get("dateCrawled"))
        except ValueError as exc:  # only dates this snapshot; the ad itself is still good
            issues.append(FieldIssue("dateCrawled", get("dateCrawled"), str(exc), False))
        make, model = make_and_model(
            get("brand"), "" if is_placeholder(get("model")) else get("model")
        )
        features: dict[str, object] = {"make": make}
        if model and model != "andere":
            features["model"] = model
        # The prices carry a "$" added by Dataquest; the ads themselves are in euros.
        issues += [
            put(features, "price", get("price"), parse_money),
            put(features, "mileage_km", get("odometer"), parse_distance_km),
            put(
                features,
                "power_kw",
                get("powerPS"),
                lambda s: round(parse_number(s) * KW_PER_PS, 1),
            ),
            put(features, "first_registration_year", get("yearOfRegistration"), parse_int),
            put(features, "fuel", get("fuelType"), lambda s: lookup(FUEL, s)),
            put(features, "gearbox", get("gearbox"), lambda s: lookup(GEARBOX, s)),
            put(features, "body_type", get("vehicleType"), lambda s: lookup(BODY, s)),
        ]
        year = features.get("first_registration_year")
        if crawled and isinstance(year, int) and year > crawled.year:
            del features["first_registration_year"]
            issues.append(
                FieldIssue(
                    "first_registration_year", year, f"after the crawl ({crawled.year})", False
                )
            )
        listed = None
        if not is_placeholder(get("dateCreated")):
            try:
                listed = parse_timestamp(get("dateCreated"))
            except ValueError as exc:
                issues.append(FieldIssue("dateCreated", get("dateCreated"), str(exc), False))
        yield VehicleRow(
            line=line,
            external_id=f"{NAME}-{n}",
            title=get("name").replace("_", " ").strip() or None,
            features=features,
            listed_at=listed,
            observed_at=crawled,
            issues=[i for i in issues if i],
        )
