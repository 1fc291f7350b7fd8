"""Reads of the live catalogue for publication and serving: available vehicles with their
current features, and the interaction counts RankNet's trend features need."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

AVAILABLE = """
    SELECT v.id, v.external_id, v.title, vv.features
    FROM vehicles v JOIN vehicle_versions vv ON vv.vehicle_id = v.id AND vv.valid_to IS NULL
    WHERE v.status = 'available'
"""


def available(conn: Connection, ids: Sequence[int] | None = None) -> list[Any]:
    """(id, external_id, title, features) of every available vehicle, or of those of ``ids``
    that are available (sold or removed ones are left out), ordered by id."""
    if ids is None:
        return list(conn.execute(text(AVAILABLE + " ORDER BY v.id")))
    return list(
        conn.execute(text(AVAILABLE + " AND v.id = ANY(:ids) ORDER BY v.id"), {"ids": list(ids)})
    )


def available_versions(conn: Connection, ids: Sequence[int]) -> dict[int, int]:
    """Which of ``ids`` are on sale, each with its current version's id (features are
    immutable per version, so embeddings can be cached by it): index lookups, no JSON."""
    rows = conn.execute(
        text(
            "SELECT v.id, vv.id FROM vehicles v JOIN vehicle_versions vv"
            " ON vv.vehicle_id = v.id AND vv.valid_to IS NULL"
            " WHERE v.id = ANY(:ids) AND v.status = 'available'"
        ),
        {"ids": list(ids)},
    )
    return dict(rows.all())


def version_features(conn: Connection, version_ids: Sequence[int]) -> dict[int, dict]:
    rows = conn.execute(
        text("SELECT id, features FROM vehicle_versions WHERE id = ANY(:ids)"),
        {"ids": list(version_ids)},
    )
    return dict(rows.all())


def vehicle_by_external(conn: Connection, external_id: str) -> Any:
    return conn.execute(
        text(
            "SELECT v.id, v.external_id, v.title, v.status, v.source, vv.features FROM vehicles v"
            " LEFT JOIN vehicle_versions vv ON vv.vehicle_id = v.id AND vv.valid_to IS NULL"
            " WHERE v.external_id = :e"
        ),
        {"e": external_id},
    ).one_or_none()


def current_features(conn: Connection, external_ids: Sequence[str]) -> dict[str, tuple[int, dict]]:
    """external id -> (id, current features) for those of ``external_ids`` that exist."""
    rows = conn.execute(
        text(
            "SELECT v.external_id, v.id, coalesce(vv.features, '{}') FROM vehicles v"
            " LEFT JOIN vehicle_versions vv ON vv.vehicle_id = v.id AND vv.valid_to IS NULL"
            " WHERE v.external_id = ANY(:e)"
        ),
        {"e": list(external_ids)},
    )
    return {e: (i, f) for e, i, f in rows}


def vehicle_ids(conn: Connection, external_ids: Sequence[str]) -> dict[str, int]:
    rows = conn.execute(
        text("SELECT external_id, id FROM vehicles WHERE external_id = ANY(:e)"),
        {"e": list(external_ids)},
    )
    return {e: i for e, i in rows}


def recent_counts(conn: Connection, since: datetime, until: datetime) -> list[Any]:
    """(vehicle_id, interactions) in [since, until): the trend window, a BRIN range scan."""
    return list(
        conn.execute(
            text(
                "SELECT vehicle_id, count(*) FROM events"
                " WHERE occurred_at >= :s AND occurred_at < :u GROUP BY vehicle_id"
            ),
            {"s": since, "u": until},
        )
    )


def interacted_since(conn: Connection, after_event_id: int) -> tuple[list[tuple[int, int]], int]:
    """(vehicle_id, events) for the events whose id is above ``after_event_id`` (ids only
    grow), and the highest event id: all-time counts, kept incrementally (novelty, and the
    popularity fallback)."""
    rows = conn.execute(
        text("SELECT vehicle_id, count(*), max(id) FROM events WHERE id > :a GROUP BY vehicle_id"),
        {"a": after_event_id},
    ).all()
    return [(r[0], r[1]) for r in rows], max((r[2] for r in rows), default=after_event_id)


def latest_event(conn: Connection) -> datetime | None:
    return conn.execute(text("SELECT max(occurred_at) FROM events")).scalar_one()
