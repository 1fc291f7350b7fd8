"""Bulk writes through PostgreSQL COPY into temp staging tables, then set-based merges.

Each ``write_*`` call handles one batch in one transaction, so an interrupted import keeps
every finished batch and a re-run skips what is already there.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from backend.ingest.records import EventRow, UserRow, VehicleRow


@dataclass
class BatchResult:
    loaded: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    unknown: list[tuple[int, str, str]] | None = None  # (line, field, value) that had no match


def _dumps(obj: object) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False)


VEHICLE_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS stage_vehicles (
    line bigint, external_id text, source text, title text, status text,
    features jsonb, listed_at timestamptz, observed_at timestamptz
) ON COMMIT DELETE ROWS
"""

VEHICLE_MERGE = [
    # Within one batch the last row for a vehicle wins (an export may list a change twice).
    """DELETE FROM stage_vehicles s USING stage_vehicles t
       WHERE s.external_id = t.external_id AND s.line < t.line""",
    """CREATE TEMP TABLE IF NOT EXISTS stage_changes (
           id bigint, features jsonb, at timestamptz, features_changed boolean
       ) ON COMMIT DELETE ROWS""",
    # Existing vehicles whose state differs; computed before new ones are inserted.
    """INSERT INTO stage_changes
       SELECT v.id, s.features,
              greatest(coalesce(s.observed_at, now()), cur.valid_from),
              v.features IS DISTINCT FROM s.features
       FROM stage_vehicles s
       JOIN vehicles v ON v.external_id = s.external_id
       LEFT JOIN vehicle_versions cur ON cur.vehicle_id = v.id AND cur.valid_to IS NULL
       WHERE v.features IS DISTINCT FROM s.features
          OR v.status::text <> s.status
          OR v.title IS DISTINCT FROM s.title""",
    """UPDATE vehicles v SET features = s.features, status = s.status::vehicle_status,
              title = s.title, updated_at = c.at
       FROM stage_changes c, stage_vehicles s
       WHERE v.id = c.id AND s.external_id = v.external_id""",
    # A feature change closes the current version and opens a new one at the observed time.
    """UPDATE vehicle_versions vv SET valid_to = c.at
       FROM stage_changes c
       WHERE vv.vehicle_id = c.id AND vv.valid_to IS NULL AND c.features_changed""",
    """INSERT INTO vehicle_versions (vehicle_id, features, valid_from)
       SELECT id, features, at FROM stage_changes WHERE features_changed""",
]

VEHICLE_INSERT = """
WITH new AS (
    INSERT INTO vehicles (external_id, source, title, status, features, listed_at, updated_at)
    SELECT s.external_id, s.source, s.title, s.status::vehicle_status, s.features, s.listed_at,
           coalesce(s.observed_at, now())
    FROM stage_vehicles s
    WHERE NOT EXISTS (SELECT 1 FROM vehicles v WHERE v.external_id = s.external_id)
    RETURNING id, features, listed_at
)
INSERT INTO vehicle_versions (vehicle_id, features, valid_from)
SELECT id, features, listed_at FROM new
"""


def write_vehicles(
    conn: psycopg.Connection, source: str, rows: Sequence[VehicleRow]
) -> BatchResult:
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(VEHICLE_STAGE)
        with cur.copy(
            "COPY stage_vehicles (line, external_id, source, title, status, features,"
            " listed_at, observed_at) FROM STDIN"
        ) as copy:
            for r in rows:
                copy.write_row(
                    (r.line, r.external_id, source, r.title, r.status, _dumps(r.features),
                     r.listed_at, r.observed_at)
                )  # fmt: skip
        cur.execute(VEHICLE_MERGE[0])
        duplicates = cur.rowcount
        for sql in VEHICLE_MERGE[1:3]:
            cur.execute(sql)
        updated = cur.rowcount
        for sql in VEHICLE_MERGE[3:]:
            cur.execute(sql)
        cur.execute(VEHICLE_INSERT)
        loaded = cur.rowcount
        staged = len(rows) - duplicates
        return BatchResult(loaded, updated, staged - loaded - updated, duplicates)


USER_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS stage_users (line bigint, external_id text, attributes jsonb)
ON COMMIT DELETE ROWS
"""


def write_users(conn: psycopg.Connection, rows: Sequence[UserRow]) -> BatchResult:
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(USER_STAGE)
        with cur.copy("COPY stage_users (line, external_id, attributes) FROM STDIN") as copy:
            for r in rows:
                copy.write_row((r.line, r.external_id, _dumps(r.attributes)))
        cur.execute(
            """DELETE FROM stage_users s USING stage_users t
               WHERE s.external_id = t.external_id AND s.line < t.line"""
        )
        duplicates = cur.rowcount
        cur.execute(
            """UPDATE users u SET attributes = s.attributes, updated_at = now()
               FROM stage_users s
               WHERE u.external_id = s.external_id AND u.attributes IS DISTINCT FROM s.attributes"""
        )
        updated = cur.rowcount
        cur.execute(
            """INSERT INTO users (external_id, attributes)
               SELECT external_id, attributes FROM stage_users
               ON CONFLICT (external_id) DO NOTHING"""
        )
        loaded = cur.rowcount
        return BatchResult(loaded, updated, len(rows) - duplicates - loaded - updated, duplicates)


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
            vehicles = self._ids(cur, "vehicles", self.vehicles, {r.vehicle for r in rows}, False)
            known = [r for r in rows if r.vehicle in vehicles]
            unknown = [(r.line, "vehicle_id", r.vehicle) for r in rows if r.vehicle not in vehicles]
            users = self._ids(cur, "users", self.users, {r.user for r in known}, True)
            seen: set[str] = set()
            fresh = []
            for r in known:
                if r.key not in seen:
                    seen.add(r.key)
                    fresh.append(r)
            try:
                with conn.transaction(), cur.copy(EVENT_COPY) as copy:
                    # An enum's binary form is its label, so the label goes as text.
                    copy.set_types(["int8", "int8", "text", "timestamptz", "float8", "text"])
                    for r in fresh:
                        row = (users[r.user], vehicles[r.vehicle], r.type, r.occurred_at)
                        copy.write_row((*row, r.value, r.key))
                loaded = len(fresh)
            except psycopg.errors.UniqueViolation:
                loaded = _write_events_merged(cur, known)
        self.vehicles.update(vehicles)
        self.users.update(users)
        return BatchResult(loaded=loaded, duplicates=len(known) - loaded, unknown=unknown)
