"""The ``jobs`` table: one row per task run, written by whoever runs it (a Celery worker or
the in-process runner) and read by the admin API."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, text

COLUMNS = "id, name, status, args, attempts, queued_at, started_at, finished_at, seconds," \
    " summary, error"  # fmt: skip


def queued(conn: Connection, job_id: str, name: str, args: dict[str, Any]) -> None:
    conn.execute(
        text("INSERT INTO jobs (id, name, args) VALUES (:id, :n, CAST(:a AS jsonb))"
             " ON CONFLICT (id) DO NOTHING"),
        {"id": job_id, "n": name, "a": json.dumps(args, default=str)},
    )  # fmt: skip


def running(conn: Connection, job_id: str, name: str, args: dict[str, Any]) -> None:
    """Started (again: a retry or a redelivery counts another attempt). Beat's runs were never
    queued through the API, so the row may not exist yet."""
    conn.execute(
        text("INSERT INTO jobs (id, name, args, status, attempts, started_at)"
             " VALUES (:id, :n, CAST(:a AS jsonb), 'running', 1, now())"
             " ON CONFLICT (id) DO UPDATE SET status = 'running', started_at = now(),"
             " attempts = jobs.attempts + 1, finished_at = NULL, error = NULL"),
        {"id": job_id, "n": name, "a": json.dumps(args, default=str)},
    )  # fmt: skip


def finished(conn: Connection, job_id: str, *, summary: Any = None,
             error: str | None = None) -> None:  # fmt: skip
    conn.execute(
        text("UPDATE jobs SET status = :s, finished_at = now(),"
             " seconds = extract(epoch FROM now() - started_at),"
             " summary = CAST(:sum AS jsonb), error = :e WHERE id = :id"),
        {"id": job_id, "s": "failed" if error else "succeeded",
         "sum": json.dumps(summary, default=str), "e": error and error[:4000]},
    )  # fmt: skip


def get(conn: Connection, job_id: str) -> dict[str, Any] | None:
    row = conn.execute(text(f"SELECT {COLUMNS} FROM jobs WHERE id = :id"),
                       {"id": job_id}).mappings().one_or_none()  # fmt: skip
    return None if row is None else _doc(row)


def recent(conn: Connection, limit: int = 50) -> list[dict[str, Any]]:
    rows = conn.execute(text(f"SELECT {COLUMNS} FROM jobs ORDER BY queued_at DESC LIMIT :n"),
                        {"n": limit}).mappings()  # fmt: skip
    return [_doc(r) for r in rows]


def _doc(row: Any) -> dict[str, Any]:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in row.items()}
