"""The shared feature space: vocabularies and scalers that turn features into fixed slots.

Vehicles and user profiles live in the same slots: a vehicle is one-hot / multi-hot over each
vocabulary and a scaled value per continuous feature; a profile (models/profiles.py) holds a
probability per vocabulary slot and a mean and std per continuous feature. The space is built
once from the catalogue and travels with every trained model (``to_dict`` / ``from_dict``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.schema import Feature, FeatureSchema

OTHER = "<other>"  # rare or unseen values share one slot, so nothing falls outside the space


@dataclass
class Vocabulary:
    name: str
    values: list[str]  # slot order; OTHER is always the last slot
    multi: bool = False

    @property
    def size(self) -> int:
        return len(self.values)

    def index(self) -> dict[str, int]:
        return {v: i for i, v in enumerate(self.values)}


@dataclass
class Scaler:
    """log (optional) -> clip -> standardise; the inverse maps profile means back to units."""

    name: str
    log: bool
    lo: float
    hi: float
    mean: float
    std: float

    def transform(self, x: np.ndarray) -> np.ndarray:
        y = np.clip(x.astype(np.float64), self.lo, self.hi)
        if self.log:
            y = np.log1p(np.maximum(y, 0.0))
        return (y - self.mean) / self.std

    def inverse(self, z: np.ndarray) -> np.ndarray:
        y = z * self.std + self.mean
        return np.expm1(y) if self.log else y


@dataclass
class Encoded:
    """Encoded items: categorical slots as (slot, value) columns, -1 where a column is unused."""

    slots: np.ndarray  # [n, S] int32
    vals: np.ndarray  # [n, S] float32
    cont: np.ndarray  # [n, K] float32, NaN = absent
    width: int  # C, the categorical width of the space

    def dense_cat(self) -> np.ndarray:
        n = len(self.slots)
        dense = np.zeros((n, self.width), dtype=np.float32)
        rows = np.repeat(np.arange(n), self.slots.shape[1])
        flat, vals = self.slots.ravel(), self.vals.ravel()
        used = flat >= 0
        np.add.at(dense, (rows[used], flat[used]), vals[used])
        return dense


def _values(value: Any) -> list[str]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


@dataclass
class FeatureSpace:
    """Fixed-width layout: every vocabulary's slots, then one slot per continuous feature."""

    schema_name: str
    schema_fingerprint: str
    vocabularies: list[Vocabulary] = field(default_factory=list)
    scalers: list[Scaler] = field(default_factory=list)

    # User-side attributes (MovieLens age, gender, occupation...): encoded like a vehicle,
    # one-hot categories and scaled values, and appended to the profile. Empty for
    # vehicles-only deployments.
    user_vocabularies: list[Vocabulary] = field(default_factory=list)
    user_scalers: list[Scaler] = field(default_factory=list)

    @classmethod
    def fit(
        cls,
        schema: FeatureSchema,
        items: Iterable[Mapping[str, Any]],
        *,
        users: Iterable[Mapping[str, Any]] = (),
        max_values: int = 200,
        min_count: int = 5,
    ) -> FeatureSpace:
        """Vocabularies keep each feature's ``max_values`` most frequent values seen at least
        ``min_count`` times (the schema may set both per feature); scalers take the robust
        range of each continuous feature. Item features are fitted on ``items``, user
        attributes on ``users``."""
        space = cls(schema.name, schema.fingerprint())
        space.vocabularies, space.scalers = _fit_block(
            schema.item_features, items, max_values, min_count
        )
        users = [u for u in users if u]
        if schema.user_features and users:  # no attributes anywhere: nothing to learn from
            space.user_vocabularies, space.user_scalers = _fit_block(
                schema.user_features, users, max_values, min_count
            )
        return space

    def attribute_space(self) -> FeatureSpace:
        """The user attributes as a space of their own, so they encode like items do."""
        return FeatureSpace(
            self.schema_name, self.schema_fingerprint, self.user_vocabularies, self.user_scalers
        )

    @property
    def attribute_width(self) -> int:
        """Width of the encoded attributes: one-hot slots, then value and presence per
        continuous attribute."""
        return sum(v.size for v in self.user_vocabularies) + 2 * len(self.user_scalers)

    @property
    def categorical_width(self) -> int:
        return sum(v.size for v in self.vocabularies)

    @property
    def width(self) -> int:
        return self.categorical_width + len(self.scalers)

    def offsets(self) -> list[int]:
        """Start slot of each vocabulary."""
        starts, at = [], 0
        for vocab in self.vocabularies:
            starts.append(at)
            at += vocab.size
        return starts

    def encode(self, items: Sequence[Mapping[str, Any]]) -> Encoded:
        """Items -> sparse categorical slots (one column per single-valued vocabulary, several
        for multi-valued ones; a multi-valued item spreads one unit over its values) and the
        scaled continuous block (NaN where absent)."""
        n = len(items)
        columns: list[tuple[np.ndarray, np.ndarray]] = []
        for start, vocab in zip(self.offsets(), self.vocabularies, strict=True):
            index, other = vocab.index(), vocab.size - 1
            if not vocab.multi:  # the common case, kept to one pass over the items
                raw = [item.get(vocab.name) for item in items]
                slot = [-1 if v is None else start + index.get(v, other) for v in raw]
                slots = np.asarray(slot, dtype=np.int32).reshape(n, 1)
                columns.append((slots, (slots >= 0).astype(np.float32)))
                continue
            lists = [_values(item.get(vocab.name)) for item in items]
            width = max((len(v) for v in lists), default=0)
            slots = np.full((n, max(width, 1)), -1, dtype=np.int32)
            vals = np.zeros((n, max(width, 1)), dtype=np.float32)
            for row, values in enumerate(lists):
                for col, v in enumerate(values[: slots.shape[1]]):
                    slots[row, col] = start + index.get(v, other)
                    vals[row, col] = 1.0 / len(values)
            columns.append((slots, vals))
        cont = np.full((n, len(self.scalers)), np.nan, dtype=np.float32)
        for col, scaler in enumerate(self.scalers):
            raw = np.array(
                [np.nan if item.get(scaler.name) is None else item[scaler.name] for item in items],
                dtype=np.float64,
            )
            present = ~np.isnan(raw)
            cont[present, col] = scaler.transform(raw[present])
        return Encoded(
            np.concatenate([c[0] for c in columns], axis=1)
            if columns
            else np.zeros((n, 0), np.int32),
            np.concatenate([c[1] for c in columns], axis=1)
            if columns
            else np.zeros((n, 0), np.float32),
            cont,
            self.categorical_width,
        )

    def encode_items(self, items: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        """Items -> (dense categorical block [n, C], continuous block [n, K])."""
        encoded = self.encode(items)
        return encoded.dense_cat(), encoded.cont

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_name": self.schema_name,
            "schema_fingerprint": self.schema_fingerprint,
            "vocabularies": [v.__dict__ for v in self.vocabularies],
            "scalers": [s.__dict__ for s in self.scalers],
            "user_vocabularies": [v.__dict__ for v in self.user_vocabularies],
            "user_scalers": [s.__dict__ for s in self.user_scalers],
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> FeatureSpace:
        return cls(
            doc["schema_name"],
            doc["schema_fingerprint"],
            [Vocabulary(**v) for v in doc["vocabularies"]],
            [Scaler(**s) for s in doc["scalers"]],
            # Spaces stored before user attributes existed have none.
            [Vocabulary(**v) for v in doc.get("user_vocabularies", [])],
            [Scaler(**s) for s in doc.get("user_scalers", [])],
        )


def _fit_block(
    features: Sequence[Feature], rows: Iterable[Mapping[str, Any]], max_values: int,
    min_count: int,
) -> tuple[list[Vocabulary], list[Scaler]]:  # fmt: skip
    counts = {f.name: Counter() for f in features if f.kind == "categorical"}
    numbers: dict[str, list[float]] = {f.name: [] for f in features if f.kind == "continuous"}
    for row in rows:
        for name, counter in counts.items():
            value = row.get(name)
            if value is None:
                continue
            counter.update(value if isinstance(value, list) else [value])
        for name, bucket in numbers.items():
            value = row.get(name)
            if value is not None:
                bucket.append(float(value))
    vocabularies, scalers = [], []
    for f in features:
        if f.kind == "categorical":
            cap, floor = f.max_values or max_values, f.min_count or min_count
            common = [v for v, n in counts[f.name].most_common(cap) if n >= floor]
            vocabularies.append(Vocabulary(f.name, [*sorted(common), OTHER], f.multi))
        else:
            scalers.append(_fit_scaler(f, np.asarray(numbers[f.name])))
    return vocabularies, scalers


def _fit_scaler(f: Feature, values: np.ndarray) -> Scaler:
    if values.size:
        lo = f.clip_min if f.clip_min is not None else float(np.quantile(values, 0.001))
        hi = f.clip_max if f.clip_max is not None else float(np.quantile(values, 0.999))
    else:
        lo, hi = f.clip_min or 0.0, f.clip_max or 1.0
    hi = max(hi, lo + 1e-9)
    probe = Scaler(f.name, f.log, lo, hi, 0.0, 1.0)
    scaled = probe.transform(values) if values.size else np.zeros(1)
    std = float(scaled.std())
    return Scaler(f.name, f.log, lo, hi, float(scaled.mean()), std if std > 1e-9 else 1.0)


def describe_continuous(scaler: Scaler, mean: Any, std: Any) -> tuple[Any, Any]:
    """Profile means ± stds (scaled units; floats or arrays) back in the feature's unit, the
    std through the log transform by the delta method."""
    centre = scaler.inverse(np.asarray(mean, dtype=np.float64))
    spread = np.asarray(std, dtype=np.float64) * scaler.std
    if scaler.log:
        spread = (centre + 1.0) * spread
    if centre.ndim == 0:
        return float(centre), float(spread)
    return centre, spread
