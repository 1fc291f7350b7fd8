"""Request parsing: JSON bodies and query strings into pydantic models, 4xx on anything else."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import jsonify, request
from pydantic import BaseModel, ValidationError

from backend.api.context import services
from backend.api.errors import ApiError, validation_details

M = TypeVar("M", bound=BaseModel)


def unstorable(value: Any) -> str | None:
    """Why a value cannot be stored as text (a NUL character, a lone surrogate), if so."""
    if isinstance(value, str):
        if "\x00" in value:
            return "contains a NUL character"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "is not valid Unicode (a lone surrogate)"
        return None
    if isinstance(value, dict):
        return next((r for r in map(unstorable, [*value, *value.values()]) if r), None)
    if isinstance(value, list):
        return next((r for r in map(unstorable, value) if r), None)
    return None


def check_request_text() -> None:
    """Before every request: path parts and query arguments PostgreSQL can store."""
    for where, values in (("path", (request.view_args or {}).values()),
                          ("query", [*request.args.keys(), *request.args.values()])):  # fmt: skip
        for value in values:
            reason = unstorable(value)
            if reason:
                raise ApiError(400, "invalid", f"a {where} value {reason}")


def raw_body() -> Any:
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        data = None
    if data is None:
        raise ApiError(400, "malformed-json", "the body must be JSON (application/json)")
    return data


def body(model: type[M]) -> M:
    data = raw_body()
    reason = unstorable(data)
    if reason:
        raise ApiError(400, "invalid", f"a value in the body {reason}")
    return model.model_validate(data)


def query(model: type[M], keys: tuple[str, ...]) -> M:
    return model.model_validate({k: request.args[k] for k in keys if k in request.args})


def rest_of_query(keys: tuple[str, ...]) -> dict[str, str]:
    """Query arguments other than ``keys`` (the filters); each given once."""
    for k in request.args:
        if len(request.args.getlist(k)) > 1:
            raise ApiError(400, "invalid-filter", f"{k} is given twice: use {k}=a,b")
    return {k: v for k, v in request.args.items() if k not in keys}


def bearer(*tokens: str | None) -> None:
    """401 without a bearer token, 403 with one that is none of ``tokens``."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise ApiError(401, "unauthorized", "send Authorization: Bearer <token>")
    if given.strip() not in {t for t in tokens if t}:
        raise ApiError(403, "forbidden", "this token may not do that")


def write_batch(
    record: type[M], items: str
) -> tuple[list[tuple[int, M]], list[dict[str, Any]]]:  # fmt: skip
    """An ingestion request: the ingest (or admin) token, a JSON body ``{items: [...]}`` of
    at most ``serve_max_batch`` records. Each record is validated on its own, so a bad one
    costs only itself: returns the valid ones with their index, and a rejected result per
    bad one."""
    settings = services().settings
    bearer(settings.ingest_token, settings.admin_token)
    data = raw_body()
    records = data.get(items) if isinstance(data, dict) else None
    if not isinstance(records, list) or not records or set(data) != {items}:
        raise ApiError(400, "invalid", f'the body must be {{"{items}": [one or more records]}}')
    if len(records) > settings.serve_max_batch:
        raise ApiError(413, "batch-too-large", f"at most {settings.serve_max_batch} {items}")
    valid, rejected = [], []
    for n, raw in enumerate(records):
        reason = unstorable(raw)
        try:
            if reason:
                raise ValueError(f"a value {reason}")
            valid.append((n, record.model_validate(raw)))
        except (ValidationError, ValueError) as exc:
            problems = (validation_details(exc) if isinstance(exc, ValidationError)
                        else [{"field": "", "problem": str(exc)}])  # fmt: skip
            key = raw.get("id") if isinstance(raw, dict) else None
            rejected.append({"index": n, "id": key if isinstance(key, str) else None,
                             "status": "rejected", "problems": problems})  # fmt: skip
    return valid, rejected


def batch_response(doc: dict[str, Any]) -> Any:
    """200 when every record loaded, 207 when some were rejected (see ``results``)."""
    return jsonify(doc), 207 if doc["rejected"] else 200
