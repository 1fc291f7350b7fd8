"""Vehicles: insert new ones, apply changes in observation order, keep feature history."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

import psycopg

from backend.db.bulk.result import BatchResult, dumps
from backend.ingest.records import VehicleRow

STAGE = [
    """CREATE TEMP TABLE IF NOT EXISTS stage_vehicles (
           line bigint, external_id text, source text, title text, status text,
           features jsonb, listed_at timestamptz, observed_at timestamptz
       ) ON COMMIT DELETE ROWS""",
    """CREATE TEMP TABLE IF NOT EXISTS stage_changes (
           id bigint, features jsonb, at timestamptz, features_changed boolean
       ) ON COMMIT DELETE ROWS""",
    "TRUNCATE stage_vehicles, stage_changes",
]
COPY = (
    "COPY stage_vehicles (line, external_id, source, title, status, features, listed_at,"
    " observed_at) FROM STDIN"
)

# Rows the store must refuse, each with (line, field, value, reason).
REFUSE = [
    # Catalogues and datasets keep their own ids; one must never overwrite another's item.
    """DELETE FROM stage_vehicles s USING vehicles v
       WHERE v.external_id = s.external_id AND v.source <> s.source
       RETURNING s.line, 'vehicle_id', s.external_id,
                 'belongs to source ' || v.source || ', not ' || s.source""",
    # A snapshot older than the state already stored must not become the current state
    # (a row without a time is observed now).
    """DELETE FROM stage_vehicles s USING vehicles v
       WHERE v.external_id = s.external_id AND coalesce(s.observed_at, now()) < v.updated_at
       RETURNING s.line, 'updated_at', coalesce(s.observed_at, now())::text,
                 'older than the stored state (' || v.updated_at::text || ')'""",
]

MERGE = [
    # Existing vehicles whose state differs; an absent status or title keeps the stored one.
    """INSERT INTO stage_changes
       SELECT v.id, s.features, coalesce(s.observed_at, now()),
              v.features IS DISTINCT FROM s.features
       FROM stage_vehicles s JOIN vehicles v ON v.external_id = s.external_id
       WHERE v.features IS DISTINCT FROM s.features
          OR (s.status IS NOT NULL AND v.status::text <> s.status)
          OR (s.title IS NOT NULL AND v.title IS DISTINCT FROM s.title)""",
    """UPDATE vehicles v
       SET features = s.features, updated_at = c.at,
           status = coalesce(s.status::vehicle_status, v.status), title = coalesce(s.title, v.title)
       FROM stage_changes c, stage_vehicles s
       WHERE v.id = c.id AND s.external_id = v.external_id""",
    # A change seen no later than the current version began (the same instant, or an update
    # dated before the listing) corrects that version in place: no empty or inverted period.
    # A later one closes it and opens a new version.
    """UPDATE vehicle_versions vv SET features = c.features
       FROM stage_changes c
       WHERE vv.vehicle_id = c.id AND vv.valid_to IS NULL AND c.features_changed
         AND vv.valid_from >= c.at""",
    """UPDATE vehicle_versions vv SET valid_to = c.at
       FROM stage_changes c
       WHERE vv.vehicle_id = c.id AND vv.valid_to IS NULL AND c.features_changed
         AND (vv.valid_from IS NULL OR vv.valid_from < c.at)""",
    """INSERT INTO vehicle_versions (vehicle_id, features, valid_from)
       SELECT c.id, c.features, c.at FROM stage_changes c
       WHERE c.features_changed AND NOT EXISTS (
           SELECT 1 FROM vehicle_versions vv WHERE vv.vehicle_id = c.id AND vv.valid_to IS NULL)""",
    # Seeing the same state again later still moves "last observed" forward, so that an
    # older snapshot arriving afterwards is recognised as stale.
    """UPDATE vehicles v SET updated_at = s.observed_at
       FROM stage_vehicles s
       WHERE v.external_id = s.external_id AND s.observed_at > v.updated_at""",
]

INSERT = """
WITH new AS (
    INSERT INTO vehicles (external_id, source, title, status, features, listed_at, updated_at)
    SELECT s.external_id, s.source, s.title, coalesce(s.status, 'available')::vehicle_status,
           s.features, s.listed_at, coalesce(s.observed_at, now())
    FROM stage_vehicles s
    WHERE NOT EXISTS (SELECT 1 FROM vehicles v WHERE v.external_id = s.external_id)
    RETURNING id, features, listed_at
)
INSERT INTO vehicle_versions (vehicle_id, features, valid_from)
SELECT id, features, listed_at FROM new
"""


def _rounds(rows: Sequence[VehicleRow]) -> Iterator[list[VehicleRow]]:
    """The k-th row of each vehicle goes to round k, so a file listing one vehicle several
    times is applied in file order, whatever the batch size."""
    rounds: defaultdict[int, list[VehicleRow]] = defaultdict(list)
    seen: defaultdict[str, int] = defaultdict(int)
    for r in rows:
        rounds[seen[r.external_id]].append(r)
        seen[r.external_id] += 1
    for k in sorted(rounds):
        yield rounds[k]


def write_vehicles(
    conn: psycopg.Connection, source: str, rows: Sequence[VehicleRow]
) -> BatchResult:
    result = BatchResult()
    with conn.transaction(), conn.cursor() as cur:
        for batch in _rounds(rows):
            for sql in STAGE:
                cur.execute(sql)
            with cur.copy(COPY) as copy:
                for r in batch:
                    copy.write_row(
                        (r.line, r.external_id, source, r.title, r.status, dumps(r.features),
                         r.listed_at, r.observed_at)
                    )  # fmt: skip
            refused = 0
            for sql in REFUSE:
                cur.execute(sql)
                found = cur.fetchall()
                refused += len(found)
                result.rejects.extend(found)
            cur.execute(MERGE[0])
            updated = cur.rowcount
            for sql in MERGE[1:]:
                cur.execute(sql)
            cur.execute(INSERT)
            result.loaded += cur.rowcount
            result.updated += updated
            result.unchanged += len(batch) - refused - cur.rowcount - updated
    return result
