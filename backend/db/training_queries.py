"""Reads for training: the catalogue with every version, and the space profiles live in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, text


@dataclass
class CatalogueVersions:
    """Every vehicle version, sorted by vehicle then validity, as parallel columns."""

    vehicle_ids: np.ndarray  # [J] store id per vehicle, ascending
    start: np.ndarray  # [J] unix time listed (-inf: unknown, always there)
    end: np.ndarray  # [J] unix time sold/removed (+inf: on sale)
    version_ids: np.ndarray  # [R] store id per version
    version_vehicle: np.ndarray  # [R] vehicle index (into vehicle_ids) per version
    current_row: np.ndarray  # [J] row of each vehicle's open (or latest) version
    features: list[dict[str, Any]]  # [R]


CATALOGUE = text(
    """
    SELECT v.id, extract(epoch FROM coalesce(v.listed_at, first.valid_from))::float8 AS start,
           CASE WHEN v.status = 'available' THEN NULL
                ELSE extract(epoch FROM v.updated_at)::float8 END AS end_,
           vv.id AS version_id, vv.valid_to IS NULL AS open, vv.features
    FROM vehicles v
    JOIN vehicle_versions vv ON vv.vehicle_id = v.id
    LEFT JOIN LATERAL (
        SELECT min(valid_from) AS valid_from FROM vehicle_versions f WHERE f.vehicle_id = v.id
    ) first ON true
    ORDER BY v.id, vv.valid_from NULLS FIRST, vv.id
    """
)


def catalogue_versions(conn: Connection) -> CatalogueVersions:
    rows = conn.execute(CATALOGUE).all()
    vehicle_of_row = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    vehicle_ids, first_row, vehicle_index = np.unique(
        vehicle_of_row, return_index=True, return_inverse=True
    )
    start = np.array([rows[i][1] for i in first_row], dtype=np.float64)
    end = np.array([rows[i][2] for i in first_row], dtype=np.float64)
    # The last row of each vehicle is its open version when there is one (ordered by time).
    last_row = np.r_[first_row[1:], len(rows)] - 1 if len(rows) else np.zeros(0, np.int64)
    return CatalogueVersions(
        vehicle_ids=vehicle_ids,
        start=np.where(np.isnan(start), -np.inf, start),
        end=np.where(np.isnan(end), np.inf, end),
        version_ids=np.array([r[3] for r in rows], dtype=np.int64),
        version_vehicle=vehicle_index.reshape(-1),
        current_row=last_row.astype(np.int64),
        features=[r[5] for r in rows],
    )


def profile_space(conn: Connection) -> Any:
    """The feature space (with prior and profile config) the stored profiles were computed
    in, or None before the first rebuild."""
    return conn.execute(
        text(
            "SELECT f.id, f.schema_name, f.space, f.prior, f.config FROM feature_spaces f"
            " WHERE f.id = (SELECT space_id FROM user_profiles LIMIT 1)"
        )
    ).one_or_none()


def event_bounds(conn: Connection) -> Any:
    return conn.execute(text("SELECT min(occurred_at), max(occurred_at) FROM events")).one()


def user_attributes(conn: Connection, ids: Sequence[int]) -> list[dict]:
    """The attributes of each of ``ids``, in that order ({} for a user without any)."""
    found = dict(
        conn.execute(
            text("SELECT id, attributes FROM users WHERE id = ANY(:i)"), {"i": list(ids)}
        ).all()
    )
    return [found.get(i) or {} for i in ids]
