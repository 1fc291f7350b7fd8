"""Vehicle catalogue formats: which reader handles a file, detected from its header."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path

from backend.ingest.reader import FormatError
from backend.ingest.records import Reject, VehicleRow
from backend.ingest.sources import autoscout24, cars_com, ebay_kleinanzeigen, generic

Reader = Callable[..., Iterator[VehicleRow | Reject]]

FORMATS: dict[str, Reader] = {
    generic.NAME: generic.read_vehicles,
    autoscout24.NAME: autoscout24.read,
    ebay_kleinanzeigen.NAME: ebay_kleinanzeigen.read,
    cars_com.NAME: cars_com.read,
}


def resolve_file(path: Path) -> Path:
    """A CSV file, or a folder holding exactly one (as each catalogue folder in shared/data)."""
    if path.is_dir():
        found = sorted(path.glob("*.csv"))
        if len(found) != 1:
            raise FormatError(path, 0, None, f"expected one .csv in the folder, found {len(found)}")
        return found[0]
    if not path.is_file():
        raise FormatError(path, 0, None, "no such file")
    return path


def detect(path: Path) -> str:
    with path.open(encoding="latin-1", newline="") as fh:
        header = {h.strip().lstrip("\ufeff") for h in next(csv.reader(fh), [])}
    if "vehicle_id" in header:
        return generic.NAME
    if {"dateCrawled", "vehicleType", "powerPS"} <= header:
        return ebay_kleinanzeigen.NAME
    if {"brand", "model_year", "engine"} <= header:
        return cars_com.NAME
    if set(autoscout24.COLUMNS) <= header:
        return autoscout24.NAME
    raise FormatError(
        path, 1, None, f"unrecognised catalogue header; use --format one of {sorted(FORMATS)}"
    )
