"""GET /openapi.json (OpenAPI 3.1, request bodies from the pydantic models) and /docs."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

bp = Blueprint("openapi", __name__)


ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def _op(summary: str, *, auth: str | None = None, body: Any = None,
        params: tuple[str, ...] = (), ok: str = "200") -> dict[str, Any]:  # fmt: skip
    op: dict[str, Any] = {"summary": summary, "responses": {
        ok: {"description": "success"},
        "4XX": {"description": "bad request: {'error': {'code', 'message', 'details'}}",
                "content": ERROR},
    }}  # fmt: skip
    if auth:
        op["security"] = [{auth: []}]
    if body is not None:
        schema = body.model_json_schema()
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    op["parameters"] = [
        {"name": p, "in": "path" if p.endswith("_id") or p == "version" else "query",
         "required": p.endswith("_id") or p == "version", "schema": {"type": "string"}}
        for p in params
    ]  # fmt: skip
    return op


def document() -> dict[str, Any]:
    from backend.api.events import _Batch as Events
    from backend.api.recommendations import Visitor
    from backend.api.users import _Batch as Users
    from backend.api.vehicles import VehiclePatch
    from backend.api.vehicles import _Batch as Vehicles

    filters = ("min_<feature>", "max_<feature>", "<feature>")
    paths = {
        "/v1/users/{user_id}/recommendations": {"get": _op(
            "Top k vehicles for a user (fallback flagged for users without history); filters:"
            " min_/max_<continuous feature>, <categorical feature>=a,b",
            params=("user_id", "k", "candidates", "exclude_viewed", *filters))},
        "/v1/recommendations": {"post": _op("Anonymous visitor: ids just viewed", body=Visitor)},
        "/v1/vehicles/{vehicle_id}/similar": {"get": _op(
            "ItemNet neighbours (available only)", params=("vehicle_id", "k", *filters))},
        "/v1/users/{user_id}/profile": {"get": _op("Readable profile", params=("user_id",))},
        "/v1/vehicles": {"post": _op("Bulk upsert (207: some rejected, see results)",
                                     auth="ingest", body=Vehicles)},
        "/v1/vehicles/{vehicle_id}": {
            "patch": _op("Change features/status", auth="ingest", body=VehiclePatch,
                         params=("vehicle_id",)),
            "delete": _op("Mark removed", auth="ingest", params=("vehicle_id",))},
        "/v1/users": {"post": _op("Bulk upsert users", auth="ingest", body=Users)},
        "/v1/events": {"post": _op("Bulk events, idempotent by id", auth="ingest", body=Events)},
        "/v1/admin/retrain": {"post": _op("Retrain pipeline job", auth="admin", ok="202")},
        "/v1/admin/reindex": {"post": _op("Publish job", auth="admin", ok="202")},
        "/v1/admin/profiles/rebuild": {"post": _op("Profile rebuild job", auth="admin", ok="202")},
        "/v1/admin/jobs": {"get": _op("The 50 most recent jobs", auth="admin")},
        "/v1/admin/jobs/{job_id}": {"get": _op("Job status", auth="admin", params=("job_id",))},
        "/v1/admin/models": {"get": _op("Model versions", auth="admin")},
        "/v1/admin/models/{version}/activate": {"post": _op(
            "Activate a published version (rollback = an older one)", auth="admin",
            params=("version",))},
        "/healthz": {"get": _op("Liveness")},
        "/readyz": {"get": _op("Readiness: database, Milvus, active model")},
        "/metrics": {"get": _op("Prometheus metrics")},
    }  # fmt: skip
    return {
        "openapi": "3.1.0",
        "info": {"title": "Forecourt", "version": "1"},
        "paths": paths,
        "components": {
            "securitySchemes": {"ingest": {"type": "http", "scheme": "bearer"},
                                "admin": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {"type": "object", "properties": {"error": {
                "type": "object", "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                               "details": {}}}}}},
        },
    }  # fmt: skip


@bp.get("/openapi.json")
def spec():  # type: ignore[no-untyped-def]
    return jsonify(document())


DOCS = """<!doctype html><html><head><title>Forecourt API</title></head><body>
<h1>Forecourt API</h1><p>OpenAPI document: <a href="/openapi.json">/openapi.json</a>
(load it into any OpenAPI viewer).</p><ul>{items}</ul></body></html>"""


@bp.get("/docs")
def docs() -> Response:
    items = "".join(
        f"<li><code>{m.upper()} {p}</code>: {op['summary']}</li>"
        for p, ops in document()["paths"].items() for m, op in ops.items()
    )  # fmt: skip
    return Response(DOCS.format(items=items), mimetype="text/html")
