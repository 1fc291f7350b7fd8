"""GET /healthz (the process answers), GET /readyz (database, Milvus, an active model)."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from backend.api.context import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():  # type: ignore[no-untyped-def]
    s = services()
    checks: dict[str, str] = {}
    try:
        with s.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # readiness reports any failure, it never raises
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        model = s.models.current()
        checks["model"] = f"v{model.version}"
        checks["milvus"] = f"ok ({s.store.count(model.collection)} vectors)"
    except Exception as exc:
        checks.setdefault("model", f"error: {exc}")
        checks.setdefault("milvus", "unknown")
    ready = all(not v.startswith(("error", "unknown")) for v in checks.values())
    return jsonify({"status": "ready" if ready else "not-ready", "checks": checks}), (
        200 if ready else 503
    )
