"""Vehicle catalogue formats: which reader handles a file, detected from its header."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path

from backend.ingest.reader import FormatError, resolve_file
from backend.ingest.records import Reject, VehicleRow
from backend.ingest.sources import autoscout24, cars_com, ebay_kleinanzeigen, generic

Reader = Callable[..., Iterator[VehicleRow | Reject]]

FORMATS: dict[str, Reader] = {
    generic.NAME: generic.read_vehicles,
    autoscout24.NAME: autoscout24.read,
    ebay_kleinanzeigen.NAME: ebay_kleinanzeigen.read,
    cars_com.NAME: cars_com.read,
}


def detect(path: Path) -> str:
    with resolve_file(path).open(encoding="utf-8-sig", errors="replace", newline="") as fh:
        header = {h.strip() for h in next(csv.reader(fh), [])}
    if not header - {""}:
        raise FormatError(path, 1, None, "empty file: expected a header row")
    if "vehicle_id" in header:
        return generic.NAME
    if {"dateCrawled", "vehicleType", "powerPS"} <= header:
        return ebay_kleinanzeigen.NAME
    if {"brand", "model_year", "engine"} <= header:
        return cars_com.NAME
    if set(autoscout24.COLUMNS) <= header:
        return autoscout24.NAME
    raise FormatError(
        path,
        1,
        None,
        f"unrecognised catalogue header {sorted(header)}: a generic file needs a vehicle_id "
        f"column (see README); or name the format with --format {{{','.join(sorted(FORMATS))}}}",
    )
