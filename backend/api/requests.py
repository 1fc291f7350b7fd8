"""Request parsing: JSON bodies and query strings into pydantic models, 4xx on anything else."""

from __future__ import annotations

from typing import TypeVar

from flask import request
from pydantic import BaseModel

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
