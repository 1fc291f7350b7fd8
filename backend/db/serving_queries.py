"""Reads on the request path: a user's stored profile and recent events, in few round trips."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text


def user_with_events(conn: Connection, external_id: str, limit: int = 1000) -> Any:
    """In one round trip: (id, vector, space_id, event_count, summary, as_of) — profile
    columns NULL when the user has none yet — and ``events``, the user's latest events as
    [vehicle_id, type index, unix time], newest first. None for an unknown user."""
    return conn.execute(
        text(
            "SELECT u.id, p.vector, p.space_id, p.event_count, p.summary, p.as_of,"
            " coalesce((SELECT json_agg(json_build_array(e.vehicle_id, array_position("
            "ARRAY['view', 'bookmark', 'contact'], e.type::text) - 1,"
            " extract(epoch FROM e.occurred_at)::float8) ORDER BY e.occurred_at DESC)"
            " FROM (SELECT vehicle_id, type, occurred_at FROM events WHERE user_id = u.id"
            " ORDER BY occurred_at DESC LIMIT :n) e), '[]') AS events"
            " FROM users u LEFT JOIN user_profiles p ON p.user_id = u.id"
            " WHERE u.external_id = :e"
        ),
        {"e": external_id, "n": limit},
    ).one_or_none()
