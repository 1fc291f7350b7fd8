"""Why a vehicle was recommended, in the profile's own terms: which preferred categories it
has and which continuous values fall in the user's usual range."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from models.features import FeatureSpace, describe_continuous

STRONG = 0.15  # a category share worth mentioning


def reasons(space: FeatureSpace, profile: np.ndarray, features: Mapping[str, Any],
            limit: int = 3) -> list[str]:  # fmt: skip
    """Up to ``limit`` short phrases, strongest first. ``profile`` is the posterior part of a
    profile vector (models.profiles.posterior)."""
    found: list[tuple[float, str]] = []
    for start, vocab in zip(space.offsets(), space.vocabularies, strict=True):
        value = features.get(vocab.name)
        index = vocab.index()
        for v in value if isinstance(value, list) else [value]:
            if v is None or v not in index:
                continue
            p = float(profile[start + index[v]])
            if p >= STRONG:
                found.append((p, f"{vocab.name.replace('_', ' ')} {v}: {p:.0%} of your interest"))
    c, k = space.categorical_width, len(space.scalers)
    for j, scaler in enumerate(space.scalers):
        x = features.get(scaler.name)
        if x is None:
            continue
        mean, std = describe_continuous(scaler, profile[c + j], profile[c + k + j])
        if std > 0 and abs(float(x) - mean) <= std:
            closeness = 1.0 - abs(float(x) - mean) / std
            found.append((0.1 + 0.1 * closeness,
                          f"{scaler.name.replace('_', ' ')} {_num(float(x))} within your usual"
                          f" {_num(max(mean - std, 0))}–{_num(mean + std)}"))  # fmt: skip
    found.sort(key=lambda r: -r[0])
    return [text for _, text in found[:limit]]


def _num(x: float) -> str:
    """12,500 but 1997: four-digit values are mostly years, which take no separator."""
    return f"{x:,.0f}" if abs(x) >= 10_000 else f"{x:.0f}"
