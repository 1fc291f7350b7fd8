"""The serving model: the active version's artefact and collection, swapped without a
restart when another version is activated."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine

from backend.db import registry
from models import checkpoint
from models.inputs import item_matrix
from models.nets import Nets
from models.profiles import ProfileConfig
from models.scoring import item_embeddings

# Embeddings kept per process, by vehicle version: enough for the whole catalogue on sale, or
# candidates are re-read and re-embedded request after request.
EMBEDDING_CACHE = 1_000_000


class NoActiveModel(LookupError):
    """Nothing to serve: no version is active, or the active one is not published."""


@dataclass
class ActiveModel:
    version: int
    collection: str
    artefact: checkpoint.Artefact
    cfg: ProfileConfig = field(init=False)
    cache_size: int = EMBEDDING_CACHE
    _cache: OrderedDict[int, np.ndarray] = field(init=False, default_factory=OrderedDict)
    _cache_lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        doc = self.artefact.meta.get("profile_config", {})
        doc = {**doc, "type_weights": tuple(doc["type_weights"]) if doc.get("type_weights")
               else None}  # fmt: skip
        self.cfg = ProfileConfig(**doc)

    @property
    def nets(self) -> Nets:
        return self.artefact.nets

    def id_index(self, vehicle_ids: np.ndarray) -> np.ndarray:
        """Store ids -> id-embedding indices (0 for vehicles the model never saw)."""
        known = self.artefact.vehicle_ids  # ascending
        vehicle_ids = np.asarray(vehicle_ids, dtype=np.int64)
        if not len(known):
            return np.zeros(len(vehicle_ids), np.int64)
        pos = np.minimum(np.searchsorted(known, vehicle_ids), len(known) - 1)
        hit = known[pos] == vehicle_ids
        return np.where(hit, self.artefact.item_ids[pos], 0).astype(np.int64)

    def embed(self, vehicle_ids: np.ndarray, features: list[dict[str, Any]]) -> np.ndarray:
        """ItemNet embeddings [n, dim] of vehicles from their current features: a new
        listing needs no retraining, only its features."""
        x = item_matrix(self.artefact.space.encode(features))
        return item_embeddings(self.nets, x, self.id_index(vehicle_ids))

    def embed_versions(
        self, vehicle_ids: np.ndarray, version_ids: np.ndarray,
        features_of: Callable[[list[int]], dict[int, dict[str, Any]]],
    ) -> np.ndarray:  # fmt: skip
        """Embeddings of vehicles at their given versions, from the cache where it has
        them; ``features_of`` loads the features of the versions it lacks."""
        with self._cache_lock:
            found = [self._cache.get(int(v)) for v in version_ids]
        missing = [n for n, e in enumerate(found) if e is None]
        if missing:
            want = [int(version_ids[n]) for n in missing]
            features = features_of(want)
            fresh = self.embed(vehicle_ids[missing], [features[v] for v in want])
            with self._cache_lock:
                for v, e, n in zip(want, fresh, missing, strict=True):
                    self._cache[v], found[n] = e, e
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        if not found:
            return np.zeros((0, self.nets.config.dim), np.float32)
        return np.stack(found)  # type: ignore[arg-type]


class ModelCache:
    """The active model, re-read from the registry at most every ``ttl_s`` seconds; an
    artefact is loaded once per version (previous ones kept, so a rollback is instant)."""

    def __init__(self, engine: Engine, *, ttl_s: float = 1.0,
                 embedding_cache: int = EMBEDDING_CACHE) -> None:  # fmt: skip
        self.engine, self.ttl_s, self.embedding_cache = engine, ttl_s, embedding_cache
        self._lock = threading.Lock()
        self._loaded: dict[int, ActiveModel] = {}
        self._current: ActiveModel | None = None
        self._checked = -np.inf

    def current(self) -> ActiveModel:
        now = time.monotonic()
        if now - self._checked >= self.ttl_s:
            with self._lock:
                if now - self._checked >= self.ttl_s:
                    self._current = self._read()
                    self._checked = now
        if self._current is None:
            raise NoActiveModel("no active, published model version: train, then publish")
        return self._current

    def invalidate(self) -> None:
        self._checked = -np.inf

    def _read(self) -> ActiveModel | None:
        row = servable_row(self.engine)
        if row is None:
            return None
        if row.id not in self._loaded:
            self._loaded = {**self._loaded, row.id: load_model(row, self.embedding_cache)}
        return self._loaded[row.id]


def servable_row(engine: Engine) -> Any | None:
    """The active version's registry row, if it is published and has its artefact."""
    with engine.connect() as conn:
        row = registry.active(conn)
    if row is None or row.collection is None or row.artefact is None:
        return None
    return row


def load_model(row: Any, embedding_cache: int = EMBEDDING_CACHE) -> ActiveModel:
    return ActiveModel(row.id, row.collection, checkpoint.load(Path(row.artefact)),
                       cache_size=embedding_cache)  # fmt: skip
