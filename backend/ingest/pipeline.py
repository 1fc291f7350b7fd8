"""Source rows -> schema validation -> batches -> COPY loaders, with reject reporting."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TypeVar

import psycopg
from sqlalchemy import Engine

from backend.db import bulk
from backend.ingest.records import EventRow, Reject, UserRow, VehicleRow
from backend.ingest.rejects import RejectLog
from models.schema import FeatureSchema, FieldIssue

Row = TypeVar("Row", VehicleRow, UserRow, EventRow)


@dataclass
class ImportStats:
    what: str
    read: int = 0
    loaded: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    rejected: int = 0
    fields_dropped: int = 0
    seconds: float = 0.0
    reasons: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        rate = self.read / self.seconds if self.seconds else 0.0
        return (
            f"{self.what}: {self.loaded} loaded, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.duplicates} duplicates, {self.rejected} rejected "
            f"({self.fields_dropped} fields dropped) from {self.read} rows "
            f"in {self.seconds:.1f}s ({rate:,.0f} rows/s)"
        )


def _combine(
    parsed: Sequence[FieldIssue], checked: Sequence[FieldIssue], required: set[str]
) -> list[FieldIssue]:
    """Parse problems plus schema problems; a field that failed to parse is reported once
    (not again as "missing"), and a failure on a required feature rejects the row."""
    failed = {i.field for i in parsed}
    issues = [*parsed, *(i for i in checked if i.field not in failed)]
    return [replace(i, fatal=i.fatal or i.field in required) for i in issues]


def _issue_rejects(path: str, line: int, issues: Sequence[FieldIssue]) -> list[Reject]:
    fatal = any(i.fatal for i in issues)
    return [
        Reject(path, line, i.field, i.value, i.reason, "row rejected" if fatal else "field dropped")
        for i in issues
        if i.fatal or not fatal  # a rejected row lists only the reasons that rejected it
    ]


def _run(
    what: str,
    rows: Iterable[Row | Reject],
    accept: Callable[[Row], Row | None],
    write: Callable[[psycopg.Connection, list[Row]], bulk.BatchResult],
    engine: Engine,
    rejects: RejectLog,
    batch_rows: int,
    where: str,
) -> ImportStats:
    stats = ImportStats(what)
    started = time.perf_counter()
    rejected_before, dropped_before = rejects.rows_rejected, rejects.fields_dropped
    raw = engine.raw_connection()
    # One writer thread: PostgreSQL merges batch n while this thread parses batch n+1
    # (psycopg releases the GIL while it waits on the server).
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="copy")
    pending: Future[bulk.BatchResult] | None = None

    def collect() -> None:
        nonlocal pending
        if pending is None:
            return
        result, pending = pending.result(), None
        stats.loaded += result.loaded
        stats.updated += result.updated
        stats.unchanged += result.unchanged
        stats.duplicates += result.duplicates
        for line, fld, value in result.unknown or ():
            rejects.add(Reject(where, line, fld, value, f"unknown {fld.removesuffix('_id')}"))

    try:
        conn: psycopg.Connection = raw.driver_connection  # type: ignore[assignment]
        conn.commit()  # leave SQLAlchemy's implicit transaction; batches own theirs
        batch: list[Row] = []
        for row in rows:
            stats.read += 1
            if isinstance(row, Reject):
                rejects.add(row)
                continue
            accepted = accept(row)
            if accepted is None:
                continue
            batch.append(accepted)
            if len(batch) >= batch_rows:
                collect()
                pending = writer.submit(write, conn, batch)
                batch = []
        collect()
        if batch:
            pending = writer.submit(write, conn, batch)
            collect()
    finally:
        writer.shutdown(wait=True)
        raw.close()
    stats.rejected = rejects.rows_rejected - rejected_before
    stats.fields_dropped = rejects.fields_dropped - dropped_before
    stats.reasons = dict(rejects.reasons)
    stats.seconds = time.perf_counter() - started
    return stats


def import_vehicles(
    engine: Engine,
    rows: Iterable[VehicleRow | Reject],
    *,
    schema: FeatureSchema,
    source: str,
    where: str,
    rejects: RejectLog,
    batch_rows: int = 100_000,
) -> ImportStats:
    required = {f.name for f in schema.item_features if f.required}

    def accept(row: VehicleRow) -> VehicleRow | None:
        checked = schema.validate_item(row.features)
        issues = _combine(row.issues, checked.issues, required)
        for reject in _issue_rejects(where, row.line, issues):
            rejects.add(reject)
        if any(i.fatal for i in issues):
            return None
        row.features = checked.features
        return row

    def write(conn: psycopg.Connection, batch: list[VehicleRow]) -> bulk.BatchResult:
        return bulk.write_vehicles(conn, source, batch)

    return _run("vehicles", rows, accept, write, engine, rejects, batch_rows, where)


def import_users(
    engine: Engine,
    rows: Iterable[UserRow | Reject],
    *,
    schema: FeatureSchema,
    where: str,
    rejects: RejectLog,
    batch_rows: int = 100_000,
) -> ImportStats:
    required = {f.name for f in schema.user_features if f.required}

    def accept(row: UserRow) -> UserRow | None:
        checked = schema.validate_user(row.attributes)
        issues = _combine(row.issues, checked.issues, required)
        for reject in _issue_rejects(where, row.line, issues):
            rejects.add(reject)
        if any(i.fatal for i in issues):
            return None
        row.attributes = checked.features
        return row

    return _run("users", rows, accept, bulk.write_users, engine, rejects, batch_rows, where)


def import_events(
    engine: Engine,
    rows: Iterable[EventRow | Reject],
    *,
    where: str,
    rejects: RejectLog,
    batch_rows: int = 100_000,
) -> ImportStats:
    return _run("events", rows, lambda r: r, bulk.write_events, engine, rejects, batch_rows, where)
