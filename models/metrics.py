"""Ranking metrics over users: each user has a ranked list and a set of relevant items.

``precision@k`` is what the original work called MAP@k (the mean over users of precision at
k); ``ap@k`` is average precision at k in the usual sense, normalised by min(k, relevant).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _hits(ranked: np.ndarray, relevant: np.ndarray, k: int) -> np.ndarray:
    return np.isin(np.asarray(ranked)[:k], relevant)


def precision_at_k(ranked: Sequence[np.ndarray], relevant: Sequence[np.ndarray], k: int) -> float:
    """Mean over users of (relevant items in the top k) / k. A list shorter than k counts
    its missing places as misses."""
    if not len(ranked):
        return 0.0
    return float(np.mean([_hits(r, t, k).sum() / k for r, t in zip(ranked, relevant, strict=True)]))


def ap_at_k(ranked: Sequence[np.ndarray], relevant: Sequence[np.ndarray], k: int) -> float:
    scores = []
    for r, t in zip(ranked, relevant, strict=True):
        hits = _hits(r, t, k)
        if not len(t):
            scores.append(0.0)
            continue
        precisions = np.cumsum(hits) / np.arange(1, len(hits) + 1)
        scores.append(float((precisions * hits).sum() / min(k, len(t))))
    return float(np.mean(scores)) if scores else 0.0


def recall_at_k(ranked: Sequence[np.ndarray], relevant: Sequence[np.ndarray], k: int) -> float:
    scores = [_hits(r, t, k).sum() / len(t) if len(t) else 0.0
              for r, t in zip(ranked, relevant, strict=True)]  # fmt: skip
    return float(np.mean(scores)) if scores else 0.0


def ndcg_at_k(ranked: Sequence[np.ndarray], relevant: Sequence[np.ndarray], k: int) -> float:
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    scores = []
    for r, t in zip(ranked, relevant, strict=True):
        hits = _hits(r, t, k)
        ideal = discounts[: min(k, len(t))].sum()
        scores.append(float((hits * discounts[: len(hits)]).sum() / ideal) if ideal else 0.0)
    return float(np.mean(scores)) if scores else 0.0


def coverage_at_k(ranked: Sequence[np.ndarray], n_items: int, k: int) -> float:
    """Share of the catalogue that appears in at least one user's top k."""
    if not len(ranked) or not n_items:
        return 0.0
    shown = np.unique(np.concatenate([np.asarray(r)[:k] for r in ranked]))
    return float(len(shown) / n_items)
