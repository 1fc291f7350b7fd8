"""Taobao UserBehavior: user_id,item_id,category_id,behavior_type,timestamp (no header)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from backend.ingest.reader import FormatError, read_rows
from backend.ingest.records import EventRow, Reject, VehicleRow

NAME = "taobao"
SCHEMA = "taobao"
# Add-to-favourites and add-to-cart both shortlist an item; a purchase is the strongest signal.
BEHAVIOUR = {"pv": "view", "fav": "bookmark", "cart": "bookmark", "buy": "contact"}


def find_file(path: Path) -> Path:
    if path.is_file():
        return path
    candidates = sorted(path.glob("UserBehavior*.csv"))
    if not candidates:
        raise FormatError(path, 0, None, "no UserBehavior*.csv in this folder")
    return candidates[0]


def _parse(where: str, line: int, cells: list[str]) -> tuple[EventRow, str] | Reject:
    if len(cells) != 5:
        return Reject(where, line, "*", len(cells), "expected 5 cells")
    user, item, category, behaviour, stamp = (c.strip() for c in cells)
    kind = BEHAVIOUR.get(behaviour)
    if kind is None:
        return Reject(where, line, "behavior_type", behaviour, f"not one of {sorted(BEHAVIOUR)}")
    if not (user and item and category):
        return Reject(where, line, "user/item/category", ",".join(cells[:3]), "empty id")
    if not stamp.isdigit():
        return Reject(where, line, "timestamp", stamp, "not unix seconds")
    occurred = datetime.fromtimestamp(int(stamp), tz=UTC)
    key = f"{NAME}:{user}:{item}:{behaviour}:{stamp}"
    return EventRow(line, key, user, item, kind, occurred), category


def read_items(path: Path) -> Iterator[VehicleRow]:
    """Items with their category, from the valid event rows (first category seen wins)."""
    seen: set[str] = set()
    for record in read_rows(path, desc="items"):
        if isinstance(record, Reject):
            continue  # reported once, by read_events
        parsed = _parse(str(path), record[0], record[2])
        if isinstance(parsed, Reject):
            continue
        event, category = parsed
        if event.vehicle not in seen:
            seen.add(event.vehicle)
            yield VehicleRow(
                line=event.line, external_id=event.vehicle, features={"category": category}
            )


def read_events(path: Path) -> Iterator[EventRow | Reject]:
    for record in read_rows(path, desc="events"):
        if isinstance(record, Reject):
            yield record
            continue
        parsed = _parse(str(path), record[0], record[2])
        yield parsed if isinstance(parsed, Reject) else parsed[0]
