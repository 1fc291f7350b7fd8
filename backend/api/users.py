"""Users: the readable profile, and creating/updating users with their attributes."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from pydantic import BaseModel, ConfigDict, Field

from backend.api.context import services
from backend.api.errors import ApiError
from backend.api.requests import batch_response, write_batch
from backend.db.profile_queries import profile_of
from backend.ingest.records import UserRow
from backend.services import ingestion

bp = Blueprint("users", __name__)


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=200, pattern=r"^[^/]+$")  # addressable in paths
    attributes: dict[str, Any] = Field(default_factory=dict)


class _Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    users: list[UserIn] = Field(min_length=1)


@bp.get("/v1/users/<user_id>/profile")
def profile(user_id: str):  # type: ignore[no-untyped-def]
    with services().engine.connect() as conn:
        row = profile_of(conn, user_id)
    if row is None:
        raise ApiError(404, "not-found", f"no user {user_id!r}")
    return jsonify({
        "user_id": row.external_id,
        "as_of": row.as_of.isoformat() if row.as_of else None,
        "events": row.event_count or 0,
        "total_weight": row.total_weight,
        "summary": row.summary,
    })  # fmt: skip


@bp.post("/v1/users")
def create():  # type: ignore[no-untyped-def]
    valid, refused = write_batch(UserIn, "users")
    s = services()
    rows = [UserRow(i, u.id, dict(u.attributes)) for i, u in valid]
    return batch_response(ingestion.users(s.engine, s.schema, rows).document(refused))
