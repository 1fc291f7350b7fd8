"""Publication: a model version's ItemNet embeddings of every available vehicle into its own
Milvus collection ``vehicles_v{N}``, a count check, then (by default) the switch of the
active version in one transaction. A failure before the switch leaves the active version
serving; the previous collection stays until garbage-collected, so a rollback is one
activation. On a Milvus server the switch waits for the ANN index to be built."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text
from tqdm import tqdm

from backend.db import catalogue_queries as cq
from backend.db import registry
from backend.services.active_model import ActiveModel
from backend.services.indexing import collection_name, scalar_fields, write_vehicles
from backend.vectors.milvus import MilvusStore
from models import checkpoint

log = logging.getLogger(__name__)


@dataclass
class PublishResult:
    version: int
    collection: str
    vectors: int
    activated: bool
    seconds: float
    indexed: bool = True  # False: the server was still building the ANN index at the end


def publish(
    engine: Engine, store: MilvusStore, version: int | None = None, *, activate: bool = True,
    batch: int = 10_000, progress: bool = True,
) -> PublishResult:  # fmt: skip
    started = time.perf_counter()
    with engine.connect() as conn:
        version = version if version is not None else registry.latest_ready(conn)
        row = None if version is None else registry.get(conn, version)
        if row is None:
            raise LookupError("no trained model version to publish (forecourt train)")
        if row.status not in ("ready", "active", "retired") or not row.artefact:
            raise ValueError(f"model version {version} is {row.status}, not ready")
        # Changes from here on are the catalogue sync's (index.upsert_vehicles) to catch.
        snapshot = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
        vehicles = cq.available(conn)
    name = collection_name(row.id)
    model = ActiveModel(row.id, name, checkpoint.load(Path(row.artefact)))
    store.create(name, model.nets.config.dim, scalars=scalar_fields(model.artefact.space))
    done = 0
    with tqdm(total=len(vehicles), desc=f"publish v{row.id}", unit="vehicle",
              disable=not progress) as bar:  # fmt: skip
        for start in range(0, len(vehicles), batch):
            chunk = vehicles[start : start + batch]
            done += write_vehicles(store, model, name, chunk)
            bar.update(len(chunk))
    count = store.count(name)
    if count != len(vehicles):
        raise RuntimeError(f"{name} holds {count} vectors, expected {len(vehicles)}")
    # Serving before the index is built would scan: a version goes live indexed.
    indexed = store.wait_indexed(name)
    if not indexed:
        log.warning("%s: the ANN index is still building; searches scan until it is done", name)
    with engine.begin() as conn:
        registry.published(conn, row.id, name, count)
        registry.synced(conn, row.id, snapshot)
        if activate:
            registry.activate(conn, row.id, require_published=True)
    return PublishResult(row.id, name, count, activate, time.perf_counter() - started, indexed)
