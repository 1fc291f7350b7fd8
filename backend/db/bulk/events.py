"""Events: an id-resolving COPY fast path with an ON CONFLICT fallback."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from backend.db.bulk.result import BatchResult
from backend.ingest.records import EventRow

EVENT_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS stage_events (
    line bigint, key text, user_ext text, vehicle_ext text, type text,
    occurred_at timestamptz, value float8
) ON COMMIT DELETE ROWS
"""
EVENT_TYPES = ["int8", "text", "text", "text", "text", "timestamptz", "float8"]
EVENT_COPY = (
    "COPY events (user_id, vehicle_id, type, occurred_at, value, idempotency_key)"
    " FROM STDIN (FORMAT BINARY)"
)
EVENT_INSERT = """
INSERT INTO events (user_id, vehicle_id, type, occurred_at, value, idempotency_key)
SELECT u.id, v.id, s.type::event_type, s.occurred_at, s.value, s.key
FROM stage_events s
JOIN users u ON u.external_id = s.user_ext
JOIN vehicles v ON v.external_id = s.vehicle_ext
"""


def _write_events_merged(cur: psycopg.Cursor, rows: Sequence[EventRow]) -> int:
    """The general path: stage, then INSERT ... ON CONFLICT DO NOTHING. Returns rows added."""
    cur.execute(EVENT_STAGE)
    with cur.copy(
        "COPY stage_events (line, key, user_ext, vehicle_ext, type, occurred_at, value)"
        " FROM STDIN (FORMAT BINARY)"
    ) as copy:
        copy.set_types(EVENT_TYPES)
        for r in rows:
            copy.write_row((r.line, r.key, r.user, r.vehicle, r.type, r.occurred_at, r.value))
    cur.execute(EVENT_INSERT + " ON CONFLICT (idempotency_key) DO NOTHING")
    return cur.rowcount


class EventWriter:
    """Writes batches of events; one instance per import, shared by its writer threads.

    Fast path: resolve user and vehicle ids in memory (cached across batches) and COPY
    straight into ``events``. A replayed or overlapping batch hits the unique key, rolls
    back to a savepoint and takes the general ON CONFLICT path instead, so idempotency
    never depends on the fast path.
    """

    def __init__(self) -> None:
        # Only ids known to be committed: a batch adds what it learned after its commit, so a
        # rolled-back batch (a deadlock between writers, say) cannot leave ids that never were.
        self.vehicles: dict[str, int] = {}
        self.users: dict[str, int] = {}

    @staticmethod
    def _ids(
        cur: psycopg.Cursor, table: str, cache: dict[str, int], wanted: set[str], create: bool
    ) -> dict[str, int]:
        found = {k: cache[k] for k in wanted if k in cache}
        missing = sorted(wanted - found.keys())
        if missing:
            if create:
                # Sorted, so that concurrent writers take new index entries in one order.
                cur.execute(
                    "INSERT INTO users (external_id) SELECT unnest(%s::text[]) ORDER BY 1"
                    " ON CONFLICT (external_id) DO NOTHING",
                    (missing,),
                )
            cur.execute(
                f"SELECT external_id, id FROM {table} WHERE external_id = ANY(%s)", (missing,)
            )
            found.update(cur.fetchall())
        return found

    def __call__(self, conn: psycopg.Connection, rows: Sequence[EventRow]) -> BatchResult:
        with conn.transaction(), conn.cursor() as cur:
            wanted = {r.vehicle for r in rows}
            vehicles = self._ids(cur, "vehicles", self.vehicles, wanted, False)
            known, unknown = rows, []
            if len(vehicles) < len(wanted):
                known = [r for r in rows if r.vehicle in vehicles]
                unknown = [
                    (r.line, "vehicle_id", r.vehicle, "unknown vehicle")
                    for r in rows
                    if r.vehicle not in vehicles
                ]
            users = self._ids(cur, "users", self.users, {r.user for r in known}, True)
            try:
                # A key repeated within the batch also lands here, via the unique index.
                with conn.transaction(), cur.copy(EVENT_COPY) as copy:
                    # An enum's binary form is its label, so the label goes as text.
                    copy.set_types(["int8", "int8", "text", "timestamptz", "float8", "text"])
                    write = copy.write_row
                    for r in known:
                        write(
                            (
                                users[r.user],
                                vehicles[r.vehicle],
                                r.type,
                                r.occurred_at,
                                r.value,
                                r.key,
                            )
                        )
                loaded = len(known)
            except psycopg.errors.UniqueViolation:
                loaded = _write_events_merged(cur, known)
        self.vehicles.update(vehicles)
        self.users.update(users)
        return BatchResult(loaded=loaded, duplicates=len(known) - loaded, rejects=unknown)
