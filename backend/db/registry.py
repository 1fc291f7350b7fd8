"""The model registry: rows of ``model_versions`` and the one active version."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text


def create(
    conn: Connection, *, space_id: int | None, schema_name: str, schema_fingerprint: str,
    params: dict[str, Any],
) -> int:  # fmt: skip
    return int(
        conn.execute(
            text(
                "INSERT INTO model_versions (space_id, schema_name, schema_fingerprint, params,"
                " metrics) VALUES (:s, :n, :f, CAST(:p AS jsonb), '{}') RETURNING id"
            ),
            {"s": space_id, "n": schema_name, "f": schema_fingerprint,
             "p": json.dumps(params, default=str)},
        ).scalar_one()
    )  # fmt: skip


def finish(
    conn: Connection, version: int, *, artefact: str, metrics: dict[str, Any],
    trained_from: datetime, trained_to: datetime,
) -> None:  # fmt: skip
    conn.execute(
        text(
            "UPDATE model_versions SET status = 'ready', artefact = :a,"
            " metrics = CAST(:m AS jsonb), trained_from = :tf, trained_to = :tt,"
            " updated_at = now() WHERE id = :id"
        ),
        {"a": artefact, "m": json.dumps(metrics), "tf": trained_from, "tt": trained_to,
         "id": version},
    )  # fmt: skip


def fail(conn: Connection, version: int, error: str) -> None:
    conn.execute(
        text(
            "UPDATE model_versions SET status = 'failed', error = :e, updated_at = now()"
            " WHERE id = :id"
        ),
        {"e": error[:4000], "id": version},
    )


def versions(conn: Connection) -> list[Any]:
    return list(
        conn.execute(
            text(
                "SELECT id, status, schema_name, artefact, trained_from, trained_to, metrics,"
                " params, created_at FROM model_versions ORDER BY id"
            )
        )
    )


def activate(conn: Connection, version: int) -> None:
    """Make ``version`` (ready or retired) the serving one, retiring the active one, in the
    caller's transaction: readers see either the old or the new, never none."""
    status = conn.execute(
        text("SELECT status FROM model_versions WHERE id = :id FOR UPDATE"), {"id": version}
    ).scalar_one_or_none()
    if status is None:
        raise LookupError(f"no model version {version}")
    if status not in ("ready", "retired", "active"):
        raise ValueError(f"model version {version} is {status}, not ready")
    conn.execute(
        text("UPDATE model_versions SET status = 'retired', updated_at = now()"
             " WHERE status = 'active' AND id <> :id"),
        {"id": version},
    )  # fmt: skip
    conn.execute(
        text("UPDATE model_versions SET status = 'active', updated_at = now() WHERE id = :id"),
        {"id": version},
    )


def active(conn: Connection) -> Any:
    return conn.execute(
        text("SELECT id, artefact, space_id FROM model_versions WHERE status = 'active'")
    ).one_or_none()
