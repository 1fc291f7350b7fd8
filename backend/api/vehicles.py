"""Vehicles: similar ones, and the catalogue writes (bulk upsert, patch, removal), each
mirrored into the active Milvus collection at once, without retraining."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from flask import Blueprint, jsonify
from pydantic import BaseModel, ConfigDict, Field

from backend.api.context import Services, services
from backend.api.errors import ApiError
from backend.api.recommendations import render
from backend.api.requests import (
    batch_response,
    bearer,
    body,
    query,
    rest_of_query,
    write_batch,
)
from backend.db import catalogue_queries as cq
from backend.ingest.records import VehicleRow
from backend.services import ingestion
from backend.services.active_model import NoActiveModel
from backend.services.indexing import Filters, sync_vehicles

bp = Blueprint("vehicles", __name__)


# A "/" would make the id unreachable in /v1/vehicles/{id} paths.
ID = r"^[^/]+$"


class VehicleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=200, pattern=ID)
    title: str | None = Field(None, max_length=500)
    status: Literal["available", "sold", "removed"] | None = None
    listed_at: datetime | None = None
    features: dict[str, Any]


class VehiclePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(None, max_length=500)
    status: Literal["available", "sold", "removed"] | None = None
    features: dict[str, Any] = Field(default_factory=dict)


class Similar(BaseModel):
    model_config = ConfigDict(extra="forbid")
    k: int = Field(10, ge=1)


def _writer(s: Services) -> None:
    bearer(s.settings.ingest_token, s.settings.admin_token)


def _sync(s: Services, ids: list[int]) -> dict[str, int] | None:
    """Mirror ``ids`` into the active collection (none before the first publication)."""
    try:
        model = s.models.current()
    except NoActiveModel:
        return None
    return sync_vehicles(s.engine, s.store, model, ids)


def _write(s: Services, rows: list[VehicleRow], source: str = "api",
           refused: list[dict[str, Any]] | None = None) -> dict[str, Any]:  # fmt: skip
    outcome = ingestion.vehicles(s.engine, s.schema, rows, source)
    ids = ingestion.vehicle_ids(s.engine, outcome.accepted)
    return {**outcome.document(refused or []), "index": _sync(s, sorted(ids.values()))}


@bp.get("/v1/vehicles/<vehicle_id>/similar")
def similar(vehicle_id: str):  # type: ignore[no-untyped-def]
    p = query(Similar, ("k",))
    s = services()
    if p.k > s.settings.serve_max_k:
        raise ApiError(400, "invalid", f"k must be at most {s.settings.serve_max_k}")
    filters = Filters.parse(s.schema, rest_of_query(("k",)))
    return jsonify(render(s.recommender.similar(vehicle_id, k=p.k, filters=filters),
                          vehicle_id=vehicle_id))  # fmt: skip


@bp.post("/v1/vehicles")
def upsert():  # type: ignore[no-untyped-def]
    valid, refused = write_batch(VehicleIn, "vehicles")
    rows = [VehicleRow(i, v.id, dict(v.features), v.title, v.status, v.listed_at)
            for i, v in valid]  # fmt: skip
    return batch_response(_write(services(), rows, refused=refused))


@bp.patch("/v1/vehicles/<vehicle_id>")
def patch(vehicle_id: str):  # type: ignore[no-untyped-def]
    s = services()
    _writer(s)
    p = body(VehiclePatch)
    with s.engine.connect() as conn:
        row = cq.vehicle_by_external(conn, vehicle_id)
    if row is None:
        raise ApiError(404, "not-found", f"no vehicle {vehicle_id!r}")
    merged = {**(row.features or {}), **p.features}
    merged = {k: v for k, v in merged.items() if v is not None}  # null removes a feature
    # Written as the vehicle's own source: an import owns what it loaded.
    doc = _write(s, [VehicleRow(0, vehicle_id, merged, p.title, p.status)], row.source)
    if doc["rejected"]:
        raise ApiError(400, "invalid", "the vehicle was not changed", doc["results"][0])
    return jsonify(doc)


@bp.delete("/v1/vehicles/<vehicle_id>")
def remove(vehicle_id: str):  # type: ignore[no-untyped-def]
    """Marks the vehicle removed (``{"status": "sold"}`` via PATCH for a sale): it stays in
    the store for history and training, and leaves the index at once."""
    s = services()
    _writer(s)
    with s.engine.connect() as conn:
        row = cq.vehicle_by_external(conn, vehicle_id)
    if row is None:
        raise ApiError(404, "not-found", f"no vehicle {vehicle_id!r}")
    doc = _write(s, [VehicleRow(0, vehicle_id, row.features or {}, None, "removed")], row.source)
    return jsonify(doc)


class _Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    vehicles: list[VehicleIn] = Field(min_length=1)
