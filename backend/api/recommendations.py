"""GET /v1/users/{id}/recommendations, POST /v1/recommendations (anonymous visitors)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from pydantic import BaseModel, ConfigDict, Field

from backend.api.context import services
from backend.api.errors import ApiError
from backend.api.metrics import observe_recommendation
from backend.api.requests import body, query, rest_of_query
from backend.services.indexing import Filters
from backend.services.recommender import Result

bp = Blueprint("recommendations", __name__)
PARAMS = ("k", "candidates", "exclude_viewed")


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    k: int = Field(5, ge=1)
    candidates: int | None = Field(None, ge=1, le=5000)
    exclude_viewed: bool | None = None


class Visitor(BaseModel):
    model_config = ConfigDict(extra="forbid")
    viewed: list[str] = Field(default_factory=list, max_length=200)
    k: int = Field(5, ge=1, strict=True)  # JSON true is not a 1
    candidates: int | None = Field(None, ge=1, le=5000, strict=True)
    filters: dict[str, str | int | float] = Field(default_factory=dict)


def _checked(k: int, candidates: int | None) -> int:
    s = services().settings
    if k > s.serve_max_k:
        raise ApiError(400, "invalid", f"k must be at most {s.serve_max_k}")
    return max(candidates or s.serve_candidates, k)


def render(result: Result, **extra: Any) -> dict[str, Any]:
    observe_recommendation(result)
    return {
        **extra,
        "model_version": result.model_version,
        "fallback": result.fallback,
        "items": [
            {"vehicle_id": i.vehicle_id, "title": i.title, "score": round(i.score, 6),
             "features": i.features, "reasons": i.reasons}
            for i in result.items
        ],
    }  # fmt: skip


@bp.get("/v1/users/<user_id>/recommendations")
def for_user(user_id: str):  # type: ignore[no-untyped-def]
    p = query(Params, PARAMS)
    s = services()
    filters = Filters.parse(s.schema, rest_of_query(PARAMS))
    result = s.recommender.for_user(user_id, k=p.k, candidates=_checked(p.k, p.candidates),
                                    filters=filters, exclude_viewed=p.exclude_viewed)  # fmt: skip
    return jsonify(render(result, user_id=user_id))


@bp.post("/v1/recommendations")
def for_visitor():  # type: ignore[no-untyped-def]
    v = body(Visitor)
    s = services()
    filters = Filters.parse(s.schema, {k: str(x) for k, x in v.filters.items()})
    result = s.recommender.for_visitor(v.viewed, k=v.k, candidates=_checked(v.k, v.candidates),
                                       filters=filters)  # fmt: skip
    return jsonify(render(result))
