"""Reads on the request path: a user's stored profile and recent events, in few round trips."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text


def user_profile(conn: Connection, external_id: str) -> Any:
    """(id, vector, space_id, event_count, summary, as_of) — profile columns NULL when the
    user has none yet; None for an unknown user."""
    return conn.execute(
        text(
            "SELECT u.id, p.vector, p.space_id, p.event_count, p.summary, p.as_of FROM users u"
            " LEFT JOIN user_profiles p ON p.user_id = u.id WHERE u.external_id = :e"
        ),
        {"e": external_id},
    ).one_or_none()


def user_events(conn: Connection, user_id: int, limit: int = 1000) -> list[Any]:
    """(vehicle_id, type index, unix time) of the user's latest events, newest first."""
    return list(
        conn.execute(
            text(
                "SELECT vehicle_id, array_position(ARRAY['view', 'bookmark', 'contact'],"
                " type::text) - 1, extract(epoch FROM occurred_at)::float8 FROM events"
                " WHERE user_id = :u ORDER BY occurred_at DESC LIMIT :n"
            ),
            {"u": user_id, "n": limit},
        )
    )
