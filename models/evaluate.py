"""Offline evaluation protocol: a global temporal split and ranking metrics at several k.

Conventions (as the original work's): ``map@k`` is the mean over users of precision@k; ``ap@k``
is average precision in the usual sense. Every model ranks over all items, minus the user's
training items.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.metrics import ap_at_k, coverage_at_k, ndcg_at_k, precision_at_k, recall_at_k

KS = (1, 5, 10, 30, 100)


def split_time(t: np.ndarray, fraction: float) -> float:
    """The time before which (1 - fraction) of the events lie: the later part is held out.
    Quantiles of events, not of the calendar, so a few stray early events (Taobao has some
    weeks before the rest) cannot push almost everything into the held-out part."""
    if not 0 < fraction < 1:
        raise ValueError("the held-out fraction must lie strictly between 0 and 1")
    return float(np.quantile(np.asarray(t, dtype=np.float64), 1 - fraction))


def ranking_metrics(
    ranked: Sequence[np.ndarray], relevant: Sequence[np.ndarray], n_items: int,
    ks: Sequence[int] = KS,
) -> dict[str, float]:  # fmt: skip
    out: dict[str, float] = {}
    for k in ks:
        out[f"map@{k}"] = precision_at_k(ranked, relevant, k)
        out[f"ap@{k}"] = ap_at_k(ranked, relevant, k)
        out[f"recall@{k}"] = recall_at_k(ranked, relevant, k)
        out[f"ndcg@{k}"] = ndcg_at_k(ranked, relevant, k)
        out[f"coverage@{k}"] = coverage_at_k(ranked, n_items, k)
    return out


def aggregate(runs: Sequence[dict[str, float]]) -> dict[str, float]:
    """Mean of each metric over runs (seeds), with ``<metric>_std`` beside it."""
    out: dict[str, float] = {}
    for key in runs[0]:
        values = np.array([r[key] for r in runs], dtype=np.float64)
        out[key] = float(values.mean())
        out[f"{key}_std"] = float(values.std())
    return out


def candidate_recall(
    exhaustive: Sequence[np.ndarray], retrieved: Sequence[np.ndarray], k: int
) -> float:
    """Share of the exhaustive top k that survives the retrieval stage."""
    shares = [np.isin(e[:k], r).mean() for e, r in zip(exhaustive, retrieved, strict=True)
              if len(e)]  # fmt: skip
    return float(np.mean(shares)) if shares else 0.0
