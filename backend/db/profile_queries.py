"""Reads and writes for profiles: events with the vehicle features valid when they happened."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

# The same rule for a whole window at once, as a hash join instead of one lookup per event:
# a version covers [lower, valid_to), where a vehicle's first version is open to the past.
WINDOW_COLUMNS = text(
    """
    WITH versions AS (
        SELECT id, vehicle_id, valid_to,
               CASE WHEN row_number() OVER (PARTITION BY vehicle_id
                                            ORDER BY valid_from NULLS FIRST) = 1
                    THEN NULL ELSE valid_from END AS lower
        FROM vehicle_versions
    ), picked AS (
        SELECT e.user_id, e.occurred_at, e.type, v.id AS version_id
        FROM events e
        JOIN versions v ON v.vehicle_id = e.vehicle_id
         AND (v.lower IS NULL OR v.lower <= e.occurred_at)
         AND (v.valid_to IS NULL OR e.occurred_at < v.valid_to)
        WHERE e.occurred_at > :since AND e.occurred_at <= :until
    )
    SELECT coalesce(array_agg(user_id), '{}') AS user_ids,
           coalesce(array_agg(extract(epoch FROM occurred_at)::float8), '{}') AS ats,
           coalesce(array_agg(array_position(ARRAY['view', 'bookmark', 'contact'],
                                             type::text) - 1), '{}') AS kinds,
           coalesce(array_agg(version_id), '{}') AS version_ids
    FROM picked
    """
)


def window_columns(conn: Connection, since: datetime, until: datetime) -> Any:
    """Every event in (since, until] as four parallel arrays: user id, unix time, type index
    (view, bookmark, contact), vehicle version id. No per-event Python objects."""
    # A hash join over millions of events spills to disk with the default 4 MB work_mem.
    conn.execute(text("SET LOCAL work_mem = '256MB'"))
    return conn.execute(WINDOW_COLUMNS, {"since": since, "until": until}).one()


def latest_event_time(conn: Connection) -> datetime | None:
    return conn.execute(text("SELECT max(occurred_at) FROM events")).scalar_one()


def users(conn: Connection) -> tuple[list[int], list[dict]]:
    """Every user's id (ascending) and attributes."""
    rows = conn.execute(text("SELECT id, attributes FROM users ORDER BY id")).all()
    return [r[0] for r in rows], [r[1] for r in rows]


def versions(conn: Connection, ids: Sequence[int]) -> tuple[list[dict], dict[int, dict]]:
    """In one pass: every vehicle's current features (the catalogue a feature space is fitted
    on) and the features of the given versions (those the events point at)."""
    current: list[dict] = []
    wanted: dict[int, dict] = {}
    needed = set(ids)
    rows = conn.execute(
        text(
            "SELECT id, features, valid_to IS NULL FROM vehicle_versions"
            " WHERE valid_to IS NULL OR id = ANY(:ids)"
        ),
        {"ids": list(ids)},
    )
    for vid, features, is_current in rows:
        if is_current:
            current.append(features)
        if vid in needed:
            wanted[vid] = features
    return current, wanted


def save_space(conn: Connection, schema_name: str, space: dict, prior: dict, config: dict) -> int:
    blob = json.dumps([space, prior, config], sort_keys=True).encode()
    fingerprint = hashlib.sha256(blob).hexdigest()[:20]
    found = conn.execute(
        text("SELECT id FROM feature_spaces WHERE fingerprint = :f"), {"f": fingerprint}
    ).scalar_one_or_none()
    if found is not None:
        return int(found)
    return int(
        conn.execute(
            text(
                "INSERT INTO feature_spaces (fingerprint, schema_name, space, prior, config)"
                " VALUES (:f, :n, :s, :p, :c) RETURNING id"
            ),
            {"f": fingerprint, "n": schema_name, "s": json.dumps(space),
             "p": json.dumps(prior), "c": json.dumps(config)},
        ).scalar_one()
    )  # fmt: skip


PROFILE_COLUMNS = (
    "user_id", "space_id", "as_of", "event_count", "total_weight", "vector", "stats", "summary"
)  # fmt: skip


def replace_profiles(conn: Connection, rows: Iterable[tuple]) -> None:
    """All profiles at once (a rebuild), by COPY, in the caller's transaction; each row holds
    the values of PROFILE_COLUMNS in order (summary as JSON text)."""
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        cur.execute("DELETE FROM user_profiles")
        with cur.copy(f"COPY user_profiles ({', '.join(PROFILE_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def profile_of(conn: Connection, external_id: str) -> Any:
    return conn.execute(
        text(
            "SELECT u.external_id, p.as_of, p.event_count, p.total_weight, p.summary"
            " FROM users u LEFT JOIN user_profiles p ON p.user_id = u.id"
            " WHERE u.external_id = :e"
        ),
        {"e": external_id},
    ).one_or_none()


PROFILE_WITH_EVENTS = text(
    """
    WITH p AS (
        SELECT u.id AS user_id, u.attributes, p.as_of, p.stats, p.event_count,
               p.total_weight, p.updated_at, p.space_id,
               (f.config->>'window_days')::float8 * interval '1 day' AS window,
               greatest(p.as_of, coalesce(CAST(:as_of AS timestamptz),
                        (SELECT max(occurred_at) FROM events WHERE user_id = u.id))) AS new_as_of
        FROM users u
        JOIN user_profiles p ON p.user_id = u.id
        JOIN feature_spaces f ON f.id = p.space_id
        WHERE u.external_id = :e
    ), moved AS (
        -- Only what changes the sums: events not counted yet, and counted ones that leave.
        SELECT e.occurred_at, e.type, e.vehicle_id,
               e.occurred_at <= p.as_of AND e.received_at <= p.updated_at AS counted
        FROM p JOIN events e ON e.user_id = p.user_id
        WHERE e.occurred_at > p.as_of - p.window AND e.occurred_at <= p.new_as_of
    )
    SELECT p.user_id, p.attributes, p.as_of, p.new_as_of, p.stats, p.event_count,
           p.total_weight, p.space_id, p.updated_at, now() AS read_at,
           (SELECT coalesce(json_agg(json_build_array(
                        extract(epoch FROM m.occurred_at)::float8,
                        array_position(ARRAY['view', 'bookmark', 'contact'], m.type::text) - 1,
                        m.counted, vv.features)), '[]')
            FROM moved m
            CROSS JOIN LATERAL (
                SELECT features FROM vehicle_versions v
                WHERE v.vehicle_id = m.vehicle_id
                  AND (v.valid_to IS NULL OR m.occurred_at < v.valid_to)
                ORDER BY v.valid_to NULLS LAST
                LIMIT 1
            ) vv
            WHERE NOT m.counted OR m.occurred_at <= p.new_as_of - p.window) AS events
    FROM p
    """
)


def profile_with_events(conn: Connection, external_id: str, as_of: datetime | None) -> Any:
    """In one round trip: a stored profile, the time it moves to (``as_of``, or the user's
    latest event), and the events that change its sums on the way (at, type index, counted
    already?, vehicle features then); with the user's attributes."""
    return conn.execute(PROFILE_WITH_EVENTS, {"e": external_id, "as_of": as_of}).one_or_none()


def feature_space(conn: Connection, space_id: int) -> Any:
    return conn.execute(
        text("SELECT space, prior, config FROM feature_spaces WHERE id = :i"), {"i": space_id}
    ).one()


def update_profile_row(conn: Connection, row: dict[str, Any], seen: datetime) -> bool:
    """Write a moved profile if nobody else moved it since it was read (``updated_at`` is
    still ``seen``; the new ``updated_at`` is the time of that read, which decides which
    events count as received). One statement: under autocommit, one round trip and no
    BEGIN/COMMIT. A profile is derived data that a rebuild recreates, so its commit skips
    the WAL flush (``set_config(..., true)`` lasts for this statement's own transaction)."""
    done = conn.execute(
        text(
            "UPDATE user_profiles SET as_of = :as_of, event_count = :event_count,"
            " total_weight = :total_weight, vector = :vector, stats = :stats,"
            " summary = CAST(:summary AS jsonb), updated_at = :read_at"
            " FROM (SELECT set_config('synchronous_commit', 'off', true)) AS local"
            " WHERE user_id = :user_id AND updated_at = :seen"
        ),
        {**row, "seen": seen},
    )
    return done.rowcount == 1
