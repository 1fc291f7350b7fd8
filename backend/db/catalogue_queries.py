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


def newest_events(conn: Connection, after_event_id: int) -> tuple[int, datetime | None]:
    """The highest event id above ``after_event_id`` (or it, when none) and the latest
    ``occurred_at`` among those events: a primary-key range, whatever order the table is in."""
    top, newest = conn.execute(
        text("SELECT max(id), max(occurred_at) FROM events WHERE id > :a"), {"a": after_event_id}
    ).one()
    return (after_event_id if top is None else int(top)), newest


def counts_in_ids(conn: Connection, after: int, upto: int,
                  since: Sequence[datetime]) -> list[Any]:  # fmt: skip
    """Per vehicle, over the events with ids in (after, upto]: (vehicle_id, all of them, then
    for each of ``since`` those at or after it). One pass over a primary-key range."""
    windows = "".join(f", count(*) FILTER (WHERE occurred_at >= :s{n})" for n in range(len(since)))
    sql = f"SELECT vehicle_id, count(*){windows} FROM events WHERE id > :a AND id <= :b"
    params = {"a": after, "b": upto, **{f"s{n}": s for n, s in enumerate(since)}}
    return list(conn.execute(text(sql + " GROUP BY vehicle_id"), params))


def counts_in_time(conn: Connection, upto: int, since: datetime,
                   until: datetime | None = None) -> list[Any]:  # fmt: skip
    """(vehicle_id, events) over the events with ids up to ``upto`` that happened in
    [since, until): a window's counts, or what leaves it as time moves (a BRIN range scan
    where events arrive in time order, as on a live marketplace)."""
    bound = "" if until is None else " AND occurred_at < :u"
    sql = f"SELECT vehicle_id, count(*) FROM events WHERE id <= :b AND occurred_at >= :s{bound}"
    params = {"b": upto, "s": since, "u": until}
    return list(conn.execute(text(sql + " GROUP BY vehicle_id"), params))
