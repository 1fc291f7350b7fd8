"""Users: upsert by external id; attributes replaced when they differ."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from backend.db.bulk.result import BatchResult, dumps
from backend.ingest.records import UserRow

USER_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS stage_users (line bigint, external_id text, attributes jsonb)
ON COMMIT DELETE ROWS
"""


def write_users(conn: psycopg.Connection, rows: Sequence[UserRow]) -> BatchResult:
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(USER_STAGE)
        with cur.copy("COPY stage_users (line, external_id, attributes) FROM STDIN") as copy:
            for r in rows:
                copy.write_row((r.line, r.external_id, dumps(r.attributes)))
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
