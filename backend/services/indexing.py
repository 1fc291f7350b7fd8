"""Vehicles in Milvus: the scalar fields filtered search uses, and keeping the active
collection in step with the catalogue (new or changed listings embedded and upserted, sold
ones deleted) without retraining."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Engine

from backend.db import catalogue_queries as cq
from backend.services.active_model import ActiveModel
from backend.vectors.milvus import MilvusStore
from models.features import FeatureSpace
from models.schema import FeatureSchema, slug

ABSENT = -1.0e30  # a continuous value the vehicle does not have; range filters exclude it


def collection_name(version: int) -> str:
    return f"vehicles_v{version}"


def scalar_fields(space: FeatureSpace) -> dict[str, str]:
    """Milvus scalar fields: every continuous feature (float, in its units) and every
    single-valued categorical one (its value), for filtered search."""
    fields = {f"x_{s.name}": "float" for s in space.scalers}
    fields |= {f"c_{v.name}": "str" for v in space.vocabularies if not v.multi}
    return fields


def scalar_columns(space: FeatureSpace, features: Sequence[Mapping[str, Any]]) -> dict:
    cols: dict[str, np.ndarray] = {}
    for s in space.scalers:
        cols[f"x_{s.name}"] = np.array(
            [ABSENT if f.get(s.name) is None else float(f[s.name]) for f in features]
        )
    for v in space.vocabularies:
        if not v.multi:
            cols[f"c_{v.name}"] = np.array([str(f.get(v.name) or "")[:255] for f in features])
    return cols


class FilterError(ValueError):
    """A filter names no feature of the schema, or has a value of the wrong kind."""


@dataclass(frozen=True)
class Filters:
    """Ranges on continuous features, allowed values of categorical ones (OR within one
    feature, AND across features)."""

    ranges: Mapping[str, tuple[float | None, float | None]]
    values: Mapping[str, tuple[str, ...]]

    @classmethod
    def none(cls) -> Filters:
        return cls({}, {})

    @classmethod
    def parse(cls, schema: FeatureSchema, args: Mapping[str, str]) -> Filters:
        """From request arguments ``min_price=…&max_price=…&make=bmw,audi&fuel=diesel``."""
        kinds = {f.name: f for f in schema.item_features}
        ranges: dict[str, list[float | None]] = {}
        values: dict[str, tuple[str, ...]] = {}
        for key, raw in args.items():
            bound, _, name = key.partition("_")
            if bound in ("min", "max") and kinds.get(name) and kinds[name].kind == "continuous":
                try:
                    number = float(raw)
                except ValueError:
                    raise FilterError(f"{key}: {raw!r} is not a number") from None
                if not np.isfinite(number):
                    raise FilterError(f"{key}: {raw!r} is not a finite number")
                ranges.setdefault(name, [None, None])[0 if bound == "min" else 1] = number
            elif key in kinds and kinds[key].kind == "categorical" and not kinds[key].multi:
                f = kinds[key]
                wanted = [v.strip() for v in str(raw).split(",") if v.strip()]
                if not wanted:
                    raise FilterError(f"{key}: give at least one value")
                norm = {"slug": slug, "lower": str.lower}.get(f.normalize, str)
                values[key] = tuple(norm(v) for v in wanted)
            else:
                raise FilterError(f"unknown filter {key!r}")
        return cls({k: (v[0], v[1]) for k, v in ranges.items()}, values)

    def expression(self) -> str:
        """The Milvus boolean expression (empty: no filter)."""
        parts = []
        for name, (lo, hi) in self.ranges.items():
            parts.append(f"x_{name} > {ABSENT / 10:g}")
            if lo is not None:
                parts.append(f"x_{name} >= {lo!r}")
            if hi is not None:
                parts.append(f"x_{name} <= {hi!r}")
        for name, allowed in self.values.items():
            quoted = ", ".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
                               for v in allowed)  # fmt: skip
            parts.append(f"c_{name} in [{quoted}]")
        return " and ".join(parts)

    def matches(self, features: Mapping[str, Any]) -> bool:
        """The same test in Python, for candidates that do not come from a filtered search."""
        for name, (lo, hi) in self.ranges.items():
            x = features.get(name)
            if x is None or (lo is not None and x < lo) or (hi is not None and x > hi):
                return False
        return all(features.get(name) in allowed for name, allowed in self.values.items())


def write_vehicles(store: MilvusStore, model: ActiveModel, collection: str,
                   rows: Sequence[Any]) -> int:  # fmt: skip
    """Embed ``rows`` (id, external_id, title, features) with the model's ItemNet and upsert
    them with their scalar fields."""
    if not rows:
        return 0
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    features = [r[3] for r in rows]
    vectors = model.embed(ids, features)
    return store.insert(collection, ids, vectors, scalar_columns(model.artefact.space, features))


def sync_vehicles(engine: Engine, store: MilvusStore, model: ActiveModel,
                  ids: Sequence[int]) -> dict[str, int]:  # fmt: skip
    """Bring ``ids`` in the active collection in line with the catalogue: available ones
    (re-)embedded and upserted, the rest (sold, removed, unknown) deleted."""
    with engine.connect() as conn:
        rows = cq.available(conn, ids)
    upserted = write_vehicles(store, model, model.collection, rows)
    gone = sorted(set(ids) - {r[0] for r in rows})
    if gone:
        store.delete(model.collection, np.asarray(gone, dtype=np.int64))
    return {"upserted": upserted, "deleted": len(gone)}
