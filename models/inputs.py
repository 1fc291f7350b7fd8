"""Network inputs: the shared feature space as dense float32 rows.

A vehicle: its one-hot / multi-hot categories, its scaled continuous values (0, the mean,
where absent) and a presence flag per continuous value. A user: the profile vector of
models/profiles.py (probabilities, means, stds, confidence) with the evidence weight on a log
scale, so one heavy user does not saturate the first layer, followed by the user's own
attributes (where the data has them) encoded the way vehicles are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from models.features import Encoded, FeatureSpace


def item_width(categorical: int, continuous: int) -> int:
    return categorical + 2 * continuous


def user_width(categorical: int, continuous: int, attributes: int = 0) -> int:
    return categorical + 2 * continuous + 2 + attributes


def item_matrix(encoded: Encoded) -> np.ndarray:
    """[n, C + 2K] float32."""
    present = ~np.isnan(encoded.cont)
    cont = np.where(present, encoded.cont, 0.0)
    return np.concatenate([encoded.dense_cat(), cont, present], axis=1).astype(np.float32)


def attribute_matrix(space: FeatureSpace, rows: Sequence[Mapping[str, Any] | None]) -> np.ndarray:
    """Users' attributes -> [U, space.attribute_width] float32 (zeros where a user has none).
    Width 0 when the space has no user attributes."""
    if not space.attribute_width:
        return np.zeros((len(rows), 0), np.float32)
    return item_matrix(space.attribute_space().encode([row or {} for row in rows]))


def user_matrix(
    profiles: np.ndarray, attributes: np.ndarray | None = None, *, copy: bool = True
) -> np.ndarray:
    """Profile vectors [U, C + 2K + 2] (models.profiles.posterior) and encoded attributes
    [U, A] (``attribute_matrix``) -> [U, C + 2K + 2 + A] float32. ``copy=False`` rewrites
    float32 ``profiles`` in place (training's millions of rows need not exist twice)."""
    out = np.array(profiles, dtype=np.float32, copy=copy or None)
    out[:, -1] = np.log1p(np.maximum(out[:, -1], 0.0))
    if attributes is not None and attributes.shape[1]:
        out = np.concatenate([out, attributes.astype(np.float32)], axis=1)
    return out


def stored_user_matrix(vectors: np.ndarray, space: FeatureSpace) -> np.ndarray:
    """Stored profile vectors (posterior, then attributes, as ``user_profiles`` holds them)
    -> network inputs."""
    cut = user_width(space.categorical_width, len(space.scalers))
    return user_matrix(vectors[:, :cut], vectors[:, cut:])
