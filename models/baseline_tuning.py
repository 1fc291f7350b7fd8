"""Hyper-parameter grids for the baselines (models/baselines.py) and the tuning loop that
picks a point by precision@k on held-out items."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from models.baselines import MODELS, Interactions, _users, make, top_k
from models.metrics import precision_at_k

_LIGHTFM_GRID: list[dict[str, Any]] = [
    {"no_components": c, "learning_rate": lr, "item_alpha": a, "epochs": 30}
    for c in (32, 64)
    for lr in (0.03, 0.07)
    for a in (0.0, 1e-5)
]

GRIDS: dict[str, list[dict[str, Any]]] = {
    # All-time counts, or only the last days' (a temporal split rewards the recent).
    "popularity": [{}] + [{"window_days": d} for d in (1.0, 3.0, 7.0, 14.0, 30.0)],
    "lightfm-cf": _LIGHTFM_GRID,
    "lightfm-hybrid": _LIGHTFM_GRID,
    # factors (32, 64, 128) x regularization (0.01, 0.1) x alpha (1, 10, 40), trimmed to a
    # spread of six: each factor count twice, each regularization and alpha at least once.
    "als": [
        {"factors": 32, "regularization": 0.01, "alpha": 10.0},
        {"factors": 32, "regularization": 0.1, "alpha": 40.0},
        {"factors": 64, "regularization": 0.01, "alpha": 1.0},
        {"factors": 64, "regularization": 0.1, "alpha": 10.0},
        {"factors": 128, "regularization": 0.01, "alpha": 40.0},
        {"factors": 128, "regularization": 0.1, "alpha": 10.0},
    ],
}


def tune(
    name: str,
    train: Interactions,
    users: np.ndarray,
    relevant: Sequence[np.ndarray],
    exclude: Sequence[np.ndarray],
    *,
    k: int = 5,
    seed: int = 0,
    grid: list[dict[str, Any]] | None = None,
) -> tuple[dict[str, Any], float]:
    """Fit each grid point on ``train``, score ``users``, precision@k (mean over users of hits
    in top k / k) against ``relevant`` after removing ``exclude``; return (best params, best
    precision). The first of equally good points wins."""
    if name not in MODELS:
        raise ValueError(f"unknown baseline {name!r}; known: {', '.join(MODELS)}")
    points = GRIDS.get(name, [{}]) if grid is None else grid
    if train.t is None:  # recency windows need interaction times
        points = [p for p in points if p.get("window_days") is None]
    if not points:
        raise ValueError("empty grid")
    if k < 1:
        raise ValueError("k must be positive")
    users = _users(users)
    if len(relevant) != len(users) or len(exclude) != len(users):
        raise ValueError("users, relevant and exclude must have the same length")
    best_params: dict[str, Any] | None = None
    best = -1.0
    for params in points:
        model = make(name, **params)
        model.fit(train, seed=seed)
        ranked = top_k(model.scores(users), exclude, k)
        precision = precision_at_k(ranked, relevant, k)
        if precision > best:
            best_params, best = dict(params), precision
    assert best_params is not None
    return best_params, best
