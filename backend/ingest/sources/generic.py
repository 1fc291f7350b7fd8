"""Forecourt's own CSV exchange format (see README): vehicles, users and events.

Feature columns are named as in the feature schema; multi-valued ones separate values by "|".
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from backend.ingest.parsing import is_placeholder, parse_float, parse_timestamp
from backend.ingest.reader import header_index, header_row, read_rows, records, span
from backend.ingest.records import EventRow, Reject, UserRow, VehicleRow
from models.schema import Feature, FeatureSchema, FieldIssue

NAME = "generic"
VEHICLE_META = ("vehicle_id", "status", "title", "listed_at", "updated_at")
EVENT_COLUMNS = ("event_id", "user_id", "vehicle_id", "type", "occurred_at", "value")
STATUSES = ("available", "sold", "removed")
EVENT_TYPES = ("view", "bookmark", "contact")


def _feature_value(feature: Feature, raw: str) -> Any:
    if feature.kind == "continuous":
        return parse_float(raw)
    if feature.multi:
        return [v.strip() for v in raw.split("|") if v.strip()]
    return raw.strip()


def _features(features: tuple[Feature, ...], get: Any, issues: list[FieldIssue]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in features:
        raw = get(f.name)
        if raw is None or is_placeholder(raw):
            continue
        try:
            out[f.name] = _feature_value(f, raw)
        except ValueError as exc:
            issues.append(FieldIssue(f.name, raw, str(exc), f.required))
    return out


def _timestamp(get: Any, name: str, issues: list[FieldIssue]) -> datetime | None:
    raw = get(name)
    if raw is None or is_placeholder(raw):
        return None
    try:
        return parse_timestamp(raw)
    except ValueError as exc:
        issues.append(FieldIssue(name, raw, str(exc), False))
        return None


def read_vehicles(
    path: Path, *, schema: FeatureSchema, **_: object
) -> Iterator[VehicleRow | Reject]:
    allowed = VEHICLE_META + schema.item_names
    for record in records(path, ("vehicle_id",), desc="vehicles", allowed=allowed):
        if isinstance(record, Reject):
            yield record
            continue
        _, line, cells = record
        get = cells.get
        vehicle_id = get("vehicle_id", "").strip()
        if not vehicle_id:
            yield Reject(str(path), line, "vehicle_id", vehicle_id, "vehicle_id is empty")
            continue
        status = (get("status") or "").strip().lower() or None
        if status is not None and status not in STATUSES:
            yield Reject(str(path), line, "status", status, f"not one of {', '.join(STATUSES)}")
            continue
        issues: list[FieldIssue] = []
        yield VehicleRow(
            line=line,
            external_id=vehicle_id,
            title=(get("title") or "").strip() or None,
            status=status,
            features=_features(schema.item_features, get, issues),
            listed_at=_timestamp(get, "listed_at", issues),
            observed_at=_timestamp(get, "updated_at", issues),
            issues=issues,
        )


def read_users(path: Path, *, schema: FeatureSchema, **_: object) -> Iterator[UserRow | Reject]:
    allowed = ("user_id", *schema.user_names)
    for record in records(path, ("user_id",), desc="users", allowed=allowed):
        if isinstance(record, Reject):
            yield record
            continue
        _, line, cells = record
        get = cells.get
        user_id = get("user_id", "").strip()
        if not user_id:
            yield Reject(str(path), line, "user_id", user_id, "user_id is empty")
            continue
        issues: list[FieldIssue] = []
        attributes = _features(schema.user_features, get, issues)
        yield UserRow(line=line, external_id=user_id, attributes=attributes, issues=issues)


def read_events(
    path: Path, *, progress: bool | None = None, **_: object
) -> Iterator[EventRow | Reject]:
    rows = read_rows(path, desc="events", progress=progress)
    header = header_row(path, rows, EVENT_COLUMNS)
    col = header_index(path, header, ("user_id", "vehicle_id", "type", "occurred_at"))
    i_id, i_user, i_vehicle = col.get("event_id"), col["user_id"], col["vehicle_id"]
    i_type, i_time, i_value = col["type"], col["occurred_at"], col.get("value")
    width, where = len(header), str(path)
    for record in rows:  # hot loop: plain indexing, no per-row dicts
        if isinstance(record, Reject):
            yield record
            continue
        line, end, cells = record
        if len(cells) != width:
            reason = f"expected {width} cells, got {len(cells)}{span(line, end)}"
            yield Reject(where, line, "*", len(cells), reason)
            continue
        user, vehicle, kind = cells[i_user].strip(), cells[i_vehicle].strip(), cells[i_type]
        if not user or not vehicle:
            field = "user_id" if not user else "vehicle_id"
            yield Reject(where, line, field, "", f"{field} is empty")
            continue
        if kind not in EVENT_TYPES:
            kind = kind.strip().lower()
            if kind not in EVENT_TYPES:
                yield Reject(where, line, "type", cells[i_type], f"not one of {EVENT_TYPES}")
                continue
        try:
            occurred = parse_timestamp(cells[i_time])
        except ValueError as exc:
            yield Reject(where, line, "occurred_at", cells[i_time], str(exc))
            continue
        value = None
        if i_value is not None and cells[i_value].strip():
            try:
                value = parse_float(cells[i_value])
            except ValueError as exc:  # optional: the event loads without it
                yield Reject(where, line, "value", cells[i_value], str(exc), "field dropped")
        event_id = cells[i_id].strip() if i_id is not None else ""
        # Without an event id, the content itself identifies the event for idempotency;
        # length prefixes keep "a|b" + "c" apart from "a" + "b|c".
        key = (
            event_id or f"{len(user)}:{user}|{len(vehicle)}:{vehicle}|{kind}|{occurred.isoformat()}"
        )
        yield EventRow(line, key, user, vehicle, kind, occurred, value)
