"""Source rows -> schema validation -> batches -> COPY loaders, with reject reporting."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import psycopg
from sqlalchemy import Engine, text

from backend.db import bulk
from backend.ingest.records import EventRow, Reject, UserRow, VehicleRow
from backend.ingest.rejects import RejectLog
from models.schema import Feature, FeatureSchema, FieldIssue, Validated

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


# Transient conflicts with a concurrent import; a retried batch sees the other's rows.
RETRYABLE = (
    psycopg.errors.DeadlockDetected,
    psycopg.errors.SerializationFailure,
    psycopg.errors.UniqueViolation,
)


class _Writers:
    """Batches go to ``n`` threads, each with its own connection, and come back in order.

    PostgreSQL merges batches while this thread parses the next ones (psycopg releases the
    GIL while it waits). Row order matters for vehicles and users (a later row is a later
    state), so they use one writer; events are keyed and may be written concurrently.
    """

    def __init__(self, engine: Engine, write: Callable, n: int) -> None:
        self._engine, self._write, self._n = engine, write, n
        self._local = threading.local()
        self._connections: list = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="copy")
        self._pending: deque[Future[bulk.BatchResult]] = deque()

    def _connection(self) -> psycopg.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            raw = self._engine.raw_connection()
            with self._lock:
                self._connections.append(raw)
            conn = self._local.conn = raw.driver_connection
            conn.commit()  # leave SQLAlchemy's implicit transaction; batches own theirs
        return conn

    def _run(self, batch: list) -> bulk.BatchResult:
        conn = self._connection()
        for attempt in range(3):
            try:
                return self._write(conn, batch)
            except RETRYABLE:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def submit(self, batch: list) -> Iterator[bulk.BatchResult]:
        """Queue a batch; yield results of earlier batches once ``n`` are in flight."""
        self._pending.append(self._pool.submit(self._run, batch))
        while len(self._pending) > self._n:
            yield self._pending.popleft().result()

    def drain(self) -> Iterator[bulk.BatchResult]:
        while self._pending:
            yield self._pending.popleft().result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        for raw in self._connections:
            raw.close()


# Tables whose planner statistics a bulk load of each kind changes.
ANALYZE = {
    "vehicles": ("vehicles", "vehicle_versions"),
    "users": ("users",),
    "events": ("events", "users"),
}


def _analyze(engine: Engine, what: str) -> None:
    """Refresh planner statistics now: after a bulk load, autovacuum may take minutes, and
    until then per-user reads can get poor plans (bench/profiles_db.py saw slow updates)."""
    with engine.begin() as conn:
        for table in ANALYZE[what]:
            conn.execute(text(f"ANALYZE {table}"))


def _run(
    what: str,
    rows: Iterable[Row | Reject],
    accept: Callable[[Row], Row | None] | None,
    write: Callable[[psycopg.Connection, list[Row]], bulk.BatchResult],
    engine: Engine,
    rejects: RejectLog,
    batch_rows: int,
    where: str,
    writers: int = 1,
) -> ImportStats:
    stats = ImportStats(what)
    started = time.perf_counter()
    rejected_before, dropped_before = rejects.rows_rejected, rejects.fields_dropped
    pool = _Writers(engine, write, writers)

    def collect(results: Iterable[bulk.BatchResult]) -> None:
        for result in results:
            stats.loaded += result.loaded
            stats.updated += result.updated
            stats.unchanged += result.unchanged
            stats.duplicates += result.duplicates
            for line, fld, value, reason in result.rejects:
                rejects.add(Reject(where, line, fld, value, reason))

    read = 0
    try:
        batch: list[Row] = []
        append = batch.append
        for row in rows:  # hot loop (a million rows are seconds of Python): keep it lean
            if isinstance(row, Reject):
                rejects.add(row)
                # A dropped field comes before its row, which is counted when it arrives.
                read += row.action == "row rejected"
                continue
            read += 1
            if accept is not None:
                row = accept(row)
                if row is None:
                    continue
            append(row)
            if len(batch) >= batch_rows:
                collect(pool.submit(batch))
                batch = []
                append = batch.append
        if batch:
            collect(pool.submit(batch))
        collect(pool.drain())
    finally:
        pool.close()
    if stats.loaded or stats.updated:
        _analyze(engine, what)
    stats.read = read
    stats.rejected = rejects.rows_rejected - rejected_before
    stats.fields_dropped = rejects.fields_dropped - dropped_before
    stats.reasons = dict(rejects.reasons)
    stats.seconds = time.perf_counter() - started
    return stats


def _checker(
    validate: Callable[[dict[str, Any]], Validated],
    features: tuple[Feature, ...],
    where: str,
    rejects: RejectLog,
) -> Callable[[dict[str, Any], list[FieldIssue], int], dict[str, Any] | None]:
    """Schema validation plus parse issues -> clean features, or None when the row is rejected;
    every issue goes to the reject log."""
    required = {f.name for f in features if f.required}

    def check(raw: dict[str, Any], parsed: list[FieldIssue], line: int) -> dict[str, Any] | None:
        checked = validate(raw)
        issues = _combine(parsed, checked.issues, required)
        for reject in _issue_rejects(where, line, issues):
            rejects.add(reject)
        return None if any(i.fatal for i in issues) else checked.features

    return check


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
    check = _checker(schema.validate_item, schema.item_features, where, rejects)

    def accept(row: VehicleRow) -> VehicleRow | None:
        clean = check(row.features, row.issues, row.line)
        if clean is None:
            return None
        row.features = clean
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
    check = _checker(schema.validate_user, schema.user_features, where, rejects)

    def accept(row: UserRow) -> UserRow | None:
        clean = check(row.attributes, row.issues, row.line)
        if clean is None:
            return None
        row.attributes = clean
        return row

    return _run("users", rows, accept, bulk.write_users, engine, rejects, batch_rows, where)


def import_events(
    engine: Engine,
    rows: Iterable[EventRow | Reject],
    *,
    where: str,
    rejects: RejectLog,
    batch_rows: int = 100_000,
    writers: int = 2,
) -> ImportStats:
    """Events are keyed, so batches may be written by several connections at once."""
    write = bulk.EventWriter()
    return _run("events", rows, None, write, engine, rejects, batch_rows, where, writers)
