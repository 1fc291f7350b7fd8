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


def reject(conn: Connection, version: int, reason: str) -> None:
    """The retrain gate refused it: kept for inspection, never published or activated."""
    conn.execute(
        text("UPDATE model_versions SET status = 'rejected', error = :e, updated_at = now()"
             " WHERE id = :id"),
        {"e": reason[:4000], "id": version},
    )  # fmt: skip


def versions(conn: Connection) -> list[Any]:
    return list(
        conn.execute(
            text(
                "SELECT id, status, schema_name, artefact, trained_from, trained_to, metrics,"
                " params, created_at FROM model_versions ORDER BY id"
            )
        )
    )


def get(conn: Connection, version: int) -> Any:
    return conn.execute(
        text("SELECT id, status, artefact, space_id, collection, vectors, published_at"
             " FROM model_versions WHERE id = :id"),
        {"id": version},
    ).one_or_none()  # fmt: skip


def latest_ready(conn: Connection) -> int | None:
    """The newest version that finished training and is not retired or failed."""
    return conn.execute(
        text("SELECT max(id) FROM model_versions WHERE status IN ('ready', 'active')")
    ).scalar_one()


def published(conn: Connection, version: int, collection: str, vectors: int) -> None:
    conn.execute(
        text("UPDATE model_versions SET collection = :c, vectors = :n, published_at = now(),"
             " updated_at = now() WHERE id = :id"),
        {"c": collection, "n": vectors, "id": version},
    )  # fmt: skip


def synced(conn: Connection, version: int, at: datetime) -> None:
    """The collection holds every catalogue change made before ``at``."""
    conn.execute(text("UPDATE model_versions SET synced_at = :t WHERE id = :id"),
                 {"t": at, "id": version})  # fmt: skip


def collections_in_use(conn: Connection) -> set[str]:
    return set(
        conn.execute(
            text("SELECT collection FROM model_versions WHERE collection IS NOT NULL")
        ).scalars()
    )


def activate(conn: Connection, version: int, *, require_published: bool = False) -> None:
    """Make ``version`` (ready or retired) the serving one, retiring the active one, in the
    caller's transaction: readers see either the old or the new, never none. With
    ``require_published``, only a version whose embeddings are in Milvus (what serving needs)."""
    row = conn.execute(
        text("SELECT status, collection FROM model_versions WHERE id = :id FOR UPDATE"),
        {"id": version},
    ).one_or_none()
    if row is None:
        raise LookupError(f"no model version {version}")
    status = row.status
    if status not in ("ready", "retired", "active"):
        raise ValueError(f"model version {version} is {status}, not ready")
    if require_published and row.collection is None:
        raise ValueError(f"model version {version} is not published (forecourt publish)")
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
        text("SELECT id, artefact, space_id, collection FROM model_versions"
             " WHERE status = 'active'")
    ).one_or_none()  # fmt: skip
