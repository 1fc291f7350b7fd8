"""Request parsing: JSON bodies and query strings into pydantic models, 4xx on anything else."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import jsonify, request
from pydantic import BaseModel

from backend.api.context import services
from backend.api.errors import ApiError

M = TypeVar("M", bound=BaseModel)


def body(model: type[M]) -> M:
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "malformed-json", "the body must be JSON (application/json)")
    return model.model_validate(data)


def query(model: type[M], keys: tuple[str, ...]) -> M:
    return model.model_validate({k: request.args[k] for k in keys if k in request.args})


def rest_of_query(keys: tuple[str, ...]) -> dict[str, str]:
    """Query arguments other than ``keys`` (the filters)."""
    return {k: v for k, v in request.args.items() if k not in keys}


def bearer(*tokens: str | None) -> None:
    """401 without a bearer token, 403 with one that is none of ``tokens``."""
    given = request.headers.get("Authorization", "")
    if not given.startswith("Bearer ") or not given[7:].strip():
        raise ApiError(401, "unauthorized", "send Authorization: Bearer <token>")
    if given[7:].strip() not in {t for t in tokens if t}:
        raise ApiError(403, "forbidden", "this token may not do that")


def write_batch(model: type[M], items: str) -> M:
    """An ingestion request: the ingest (or admin) token, a JSON body, at most
    ``serve_max_batch`` records in its list ``items``."""
    settings = services().settings
    bearer(settings.ingest_token, settings.admin_token)
    data = body(model)
    if len(getattr(data, items)) > settings.serve_max_batch:
        raise ApiError(413, "batch-too-large", f"at most {settings.serve_max_batch} {items}")
    return data


def batch_response(doc: dict[str, Any]) -> Any:
    """200 when every record loaded, 207 when some were rejected (see ``results``)."""
    return jsonify(doc), 207 if doc["rejected"] else 200
