"""Network inputs: the shared feature space as dense float32 rows.

A vehicle: its one-hot / multi-hot categories, its scaled continuous values (0, the mean,
where absent) and a presence flag per continuous value. A user: the profile vector of
models/profiles.py (probabilities, means, stds, confidence) with the evidence weight on a log
scale, so one heavy user does not saturate the first layer.
"""

from __future__ import annotations

import numpy as np

from models.features import Encoded


def item_width(categorical: int, continuous: int) -> int:
    return categorical + 2 * continuous


def user_width(categorical: int, continuous: int) -> int:
    return categorical + 2 * continuous + 2


def item_matrix(encoded: Encoded) -> np.ndarray:
    """[n, C + 2K] float32."""
    present = ~np.isnan(encoded.cont)
    cont = np.where(present, encoded.cont, 0.0)
    return np.concatenate([encoded.dense_cat(), cont, present], axis=1).astype(np.float32)


def user_matrix(profiles: np.ndarray) -> np.ndarray:
    """Profile vectors [U, C + 2K + 2] (models.profiles.posterior) -> [U, C + 2K + 2] float32."""
    out = np.array(profiles, dtype=np.float32, copy=True)
    out[:, -1] = np.log1p(np.maximum(out[:, -1], 0.0))
    return out
