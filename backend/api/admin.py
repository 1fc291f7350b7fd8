"""Admin, behind the admin token: jobs (retrain, reindex, profile rebuild), the model
registry and activation (a rollback is activating an older version)."""

from __future__ import annotations

from flask import Blueprint, jsonify

from backend.api.context import services
from backend.api.errors import ApiError
from backend.db import jobs, registry

bp = Blueprint("admin", __name__, url_prefix="/v1/admin")
JOBS = {"retrain": "pipeline.retrain", "reindex": "index.publish",
        "profiles/rebuild": "profiles.rebuild_all"}  # fmt: skip


@bp.before_request
def admin_only() -> None:
    from backend.api.requests import bearer

    bearer(services().settings.admin_token)


def _submit(name: str):  # type: ignore[no-untyped-def]
    s = services()
    if s.jobs is None:
        raise ApiError(503, "no-workers", "this API runs without a job runner")
    job = s.jobs.submit(name)
    return jsonify({"job_id": job, "job": name, "status_url": f"/v1/admin/jobs/{job}"}), 202


@bp.post("/retrain")
def retrain():  # type: ignore[no-untyped-def]
    return _submit(JOBS["retrain"])


@bp.post("/reindex")
def reindex():  # type: ignore[no-untyped-def]
    return _submit(JOBS["reindex"])


@bp.post("/profiles/rebuild")
def rebuild():  # type: ignore[no-untyped-def]
    return _submit(JOBS["profiles/rebuild"])


@bp.get("/jobs")
def recent_jobs():  # type: ignore[no-untyped-def]
    with services().engine.connect() as conn:
        return jsonify({"jobs": jobs.recent(conn)})


@bp.get("/jobs/<job_id>")
def job(job_id: str):  # type: ignore[no-untyped-def]
    with services().engine.connect() as conn:
        found = jobs.get(conn, job_id)
    if found is None:
        raise ApiError(404, "not-found", f"no job {job_id!r}")
    return jsonify(found)


@bp.get("/models")
def models():  # type: ignore[no-untyped-def]
    with services().engine.connect() as conn:
        rows = registry.versions(conn)
        published = {r.id: r for r in (registry.get(conn, v.id) for v in rows)}
    return jsonify({"models": [
        {"version": r.id, "status": r.status, "schema": r.schema_name,
         "trained_from": r.trained_from.isoformat() if r.trained_from else None,
         "trained_to": r.trained_to.isoformat() if r.trained_to else None,
         "collection": published[r.id].collection, "vectors": published[r.id].vectors,
         "metrics": r.metrics, "created_at": r.created_at.isoformat()}
        for r in rows
    ]})  # fmt: skip


@bp.post("/models/<int:version>/activate")
def activate(version: int):  # type: ignore[no-untyped-def]
    s = services()
    try:
        with s.engine.begin() as conn:
            registry.activate(conn, version, require_published=True)
    except LookupError as exc:
        raise ApiError(404, "not-found", str(exc)) from exc
    except ValueError as exc:
        raise ApiError(409, "not-servable", str(exc)) from exc
    s.models.invalidate()
    return jsonify({"active": version})
