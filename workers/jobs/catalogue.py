"""Catalogue changes into the active collection without retraining: vehicles changed since
the collection was last synchronised are (re-)embedded and upserted, sold or removed ones
deleted. Idempotent: a re-run finds nothing new, or writes the same rows again."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, text

from backend.db import registry
from backend.services.active_model import ActiveModel, load_model, servable_row
from backend.services.indexing import sync_vehicles
from backend.vectors.milvus import MilvusStore


def active_model(engine: Engine) -> ActiveModel | None:
    """The serving version, loaded afresh (a job runs rarely; the API caches instead)."""
    row = servable_row(engine)
    return None if row is None else load_model(row)


def sync_changed(engine: Engine, store: MilvusStore, *, batch: int = 10_000) -> dict[str, Any]:
    """Everything that changed since the active collection's ``synced_at``."""
    model = active_model(engine)
    if model is None:
        return {"skipped": "no published active model"}
    with engine.connect() as conn:
        since, now = conn.execute(
            text("SELECT synced_at, clock_timestamp() FROM model_versions WHERE id = :v"),
            {"v": model.version},
        ).one()  # fmt: skip
        ids = list(conn.execute(
            text("SELECT id FROM vehicles WHERE changed_at >= :s ORDER BY id"),
            {"s": since or now},
        ).scalars())  # fmt: skip
    done = _sync(engine, store, model, ids, batch)
    with engine.begin() as conn:
        registry.synced(conn, model.version, now)
    return {"version": model.version, "since": since, **done}


def sync_ids(engine: Engine, store: MilvusStore, ids: Sequence[int],
             batch: int = 10_000) -> dict[str, Any]:  # fmt: skip
    """The named vehicles (``index.upsert_vehicles`` / ``index.delete_vehicles``): available
    ones upserted, the rest deleted, whichever task named them."""
    model = active_model(engine)
    if model is None:
        return {"skipped": "no published active model"}
    return {"version": model.version, **_sync(engine, store, model, list(ids), batch)}


def _sync(engine: Engine, store: MilvusStore, model: ActiveModel, ids: list[int],
          batch: int) -> dict[str, int]:  # fmt: skip
    total = {"upserted": 0, "deleted": 0}
    for start in range(0, len(ids), batch):
        for key, n in sync_vehicles(engine, store, model, ids[start : start + batch]).items():
            total[key] += n
    return total
