"""Declarative feature schema (TOML): which features are continuous or categorical.

The schema is the contract every write is validated against, and later the basis of the
shared user/vehicle feature space.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

BUILTIN_DIR = Path(__file__).parent / "schemas"


class SchemaError(ValueError):
    """The schema file itself is malformed."""


@dataclass(frozen=True)
class Feature:
    name: str
    kind: Literal["continuous", "categorical"]
    required: bool = False
    description: str = ""
    # continuous
    unit: str | None = None
    log: bool = False
    valid_min: float | None = None  # outside [valid_min, valid_max] a value is implausible
    valid_max: float | None = None
    clip_min: float | None = None  # outlier clipping used when scaling, not for validation
    clip_max: float | None = None
    # categorical
    multi: bool = False
    values: tuple[str, ...] | None = None  # closed vocabulary, or None for open
    # Vocabulary of the feature space: the max_values commonest values seen on at least
    # min_count items get their own slot (None: the space's defaults, 200 and 5).
    max_values: int | None = None
    min_count: int | None = None
    # How values are canonicalised before checking and storing: "slug" turns "Mercedes Benz"
    # and "mercedes_benz" into "mercedes-benz", so every source spells a category one way.
    normalize: Literal["none", "lower", "slug"] = "none"


@dataclass(frozen=True)
class FieldIssue:
    """One problem with one field of one record; ``fatal`` means the record is rejected."""

    field: str
    value: Any
    reason: str
    fatal: bool


@dataclass
class Validated:
    features: dict[str, Any]
    issues: list[FieldIssue] = field(default_factory=list)

    @property
    def rejected(self) -> bool:
        return any(i.fatal for i in self.issues)


@dataclass(frozen=True)
class FeatureSchema:
    name: str
    item_features: tuple[Feature, ...]
    user_features: tuple[Feature, ...] = ()

    def item(self, name: str) -> Feature:
        return {f.name: f for f in self.item_features}[name]

    @property
    def item_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.item_features)

    @property
    def user_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.user_features)

    def fingerprint(self) -> str:
        """A stable hash of the schema's content, stored with anything built from it."""
        blob = json.dumps(asdict(self), sort_keys=True, default=list).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def validate_item(self, raw: Mapping[str, Any]) -> Validated:
        return _validate(self.item_features, raw)

    def validate_user(self, raw: Mapping[str, Any]) -> Validated:
        return _validate(self.user_features, raw)


def _is_absent(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _check_continuous(f: Feature, value: Any) -> tuple[float | None, str | None]:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None, f"expected a number, got {type(value).__name__}"
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float
        return None, "not a finite number"
    if not math.isfinite(number):
        return None, "not a finite number"
    if f.valid_min is not None and number < f.valid_min:
        return None, f"{number:g} is below the plausible minimum {f.valid_min:g} {f.unit or ''}"
    if f.valid_max is not None and number > f.valid_max:
        return None, f"{number:g} is above the plausible maximum {f.valid_max:g} {f.unit or ''}"
    return (int(number) if isinstance(value, int) else number), None


def slug(raw: str) -> str:
    """Canonical categorical value: 'Mercedes-Benz', 'mercedes_benz' -> 'mercedes-benz',
    'Škoda' -> 'skoda' (sources disagree on accents as much as on case)."""
    text = raw.strip().lower()
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[\s_]+", "-", text)


def _check_category(f: Feature, value: Any) -> tuple[str | None, str | None]:
    if not isinstance(value, str) or not value.strip():
        return None, f"expected a non-empty string, got {value!r}"
    text = value.strip()
    if f.normalize == "slug":
        text = slug(text)
    elif f.normalize == "lower":
        text = text.lower()
    if not text.strip("-"):  # e.g. a lone combining accent, or "___": nothing is left
        return None, f"{value!r} has no letters or digits"
    if f.values is not None and text not in f.values:
        return None, f"{text!r} is not one of {', '.join(f.values)}"
    return text, None


def _validate(features: tuple[Feature, ...], raw: Mapping[str, Any]) -> Validated:
    known = {f.name: f for f in features}
    out = Validated(features={})
    for name in raw:
        if name not in known:
            out.issues.append(FieldIssue(name, raw[name], "not a feature of the schema", False))
    for f in features:
        value = raw.get(f.name)
        if _is_absent(value) or (f.multi and isinstance(value, list | tuple) and not value):
            if f.required:
                out.issues.append(FieldIssue(f.name, value, "required value is missing", True))
            continue
        if f.kind == "continuous":
            clean, reason = _check_continuous(f, value)
        elif f.multi:
            items = value if isinstance(value, list | tuple) else [value]
            checked = [_check_category(f, v) for v in items]
            reason = next((r for _, r in checked if r), None)
            clean = sorted({c for c, _ in checked if c}) if reason is None else None
        else:
            clean, reason = _check_category(f, value)
        if reason is not None:
            # Never lose the rest of a record for one bad optional field: drop the field only.
            out.issues.append(FieldIssue(f.name, value, reason, f.required))
            continue
        out.features[f.name] = clean
    return out


def _parse_feature(entry: Mapping[str, Any], where: str) -> Feature:
    allowed = set(Feature.__dataclass_fields__)
    unknown = set(entry) - allowed
    if unknown:
        raise SchemaError(f"{where}: unknown keys {sorted(unknown)}")
    if "name" not in entry or entry.get("kind") not in ("continuous", "categorical"):
        raise SchemaError(f"{where}: needs name and kind = 'continuous' | 'categorical'")
    values = entry.get("values")
    if entry.get("normalize", "none") not in ("none", "lower", "slug"):
        raise SchemaError(f"{where}: normalize must be 'none', 'lower' or 'slug'")
    return Feature(**{**entry, "values": tuple(values) if values is not None else None})


def parse_schema(doc: Mapping[str, Any], where: str = "<schema>") -> FeatureSchema:
    if "name" not in doc:
        raise SchemaError(f"{where}: missing top-level 'name'")
    items = tuple(
        _parse_feature(e, f"{where}: item_features[{i}]")
        for i, e in enumerate(doc.get("item_features", []))
    )
    users = tuple(
        _parse_feature(e, f"{where}: user_features[{i}]")
        for i, e in enumerate(doc.get("user_features", []))
    )
    if not items:
        raise SchemaError(f"{where}: no item_features")
    names = [f.name for f in items] + [f.name for f in users]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SchemaError(f"{where}: duplicate feature names {duplicates}")
    return FeatureSchema(name=str(doc["name"]), item_features=items, user_features=users)


def load_schema(name_or_path: str | Path) -> FeatureSchema:
    """Load a built-in schema by name (``vehicles``, ``movielens-100k``, ``taobao``) or a file."""
    path = Path(name_or_path)
    if not path.suffix:
        path = BUILTIN_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        builtin = sorted(p.stem for p in BUILTIN_DIR.glob("*.toml"))
        raise SchemaError(f"no feature schema {str(name_or_path)!r} (built-in: {builtin})")
    with path.open("rb") as fh:
        try:
            doc = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise SchemaError(f"{path}: {exc}") from exc
    return parse_schema(doc, str(path))
