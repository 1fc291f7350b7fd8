"""Classical recommender baselines: popularity, LightFM (pure CF and hybrid) and implicit ALS.

Every model takes the same :class:`Interactions` (user and item indices, optional weights and
side features), is fitted with :meth:`fit`, and answers :meth:`scores` with a dense
``[len(users), n_items]`` float32 matrix (higher is better). :func:`top_k` turns scores into
ranked lists with the user's own items left out; models/baseline_tuning.py picks their
hyper-parameters on held-out items.

Pure numpy/scipy plus lightfm (the ``lightfm-next`` distribution) and implicit: nothing here
touches the database, the web app or the task queue.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import scipy.sparse as sp

try:  # implicit depends on threadpoolctl, but stay usable without it
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover - threadpoolctl comes with implicit
    threadpool_limits = None

__all__ = [
    "MODELS",
    "ALSRecommender",
    "Interactions",
    "LightFMRecommender",
    "Popularity",
    "Recommender",
    "make",
    "top_k",
]


@dataclass
class Interactions:
    """Training interactions as a user x item matrix plus optional side features.

    ``user`` and ``item`` are parallel index arrays (one entry per event; repeats are summed by
    :meth:`matrix`). ``weight`` is a non-negative weight per event, 1 when omitted.
    ``user_features`` / ``item_features`` are content features only, one row per user / item:
    the hybrid LightFM model adds the identity features itself.
    """

    n_users: int
    n_items: int
    user: np.ndarray
    item: np.ndarray
    weight: np.ndarray | None = None
    user_features: sp.csr_matrix | None = None
    item_features: sp.csr_matrix | None = None
    t: np.ndarray | None = None  # unix seconds per interaction, for recency-aware models

    def __post_init__(self) -> None:
        self.user = np.asarray(self.user, dtype=np.int64).ravel()
        self.item = np.asarray(self.item, dtype=np.int64).ravel()
        if self.n_users < 0 or self.n_items < 0:
            raise ValueError("n_users and n_items must be non-negative")
        if self.user.shape != self.item.shape:
            raise ValueError(
                f"user and item differ in length: {len(self.user)} vs {len(self.item)}"
            )
        if len(self.user):
            if self.user.min() < 0 or self.user.max() >= self.n_users:
                raise ValueError(f"user index outside [0, {self.n_users})")
            if self.item.min() < 0 or self.item.max() >= self.n_items:
                raise ValueError(f"item index outside [0, {self.n_items})")
        if self.t is not None:
            self.t = np.asarray(self.t, dtype=np.float64).ravel()
            if self.t.shape != self.user.shape:
                raise ValueError("t must have one entry per interaction")
        if self.weight is not None:
            self.weight = np.asarray(self.weight, dtype=np.float64).ravel()
            if self.weight.shape != self.user.shape:
                raise ValueError("weight must have one entry per interaction")
            if not np.all(np.isfinite(self.weight)) or np.any(self.weight < 0):
                raise ValueError("weights must be finite and non-negative")
        for name, rows in (("user_features", self.n_users), ("item_features", self.n_items)):
            features = getattr(self, name)
            if features is None:
                continue
            features = sp.csr_matrix(features, dtype=np.float32)
            if features.shape[0] != rows:
                raise ValueError(f"{name} has {features.shape[0]} rows, expected {rows}")
            if not np.all(np.isfinite(features.data)):
                raise ValueError(f"{name} has non-finite values")
            setattr(self, name, features)

    def __len__(self) -> int:
        return len(self.user)

    def matrix(self) -> sp.csr_matrix:
        """User x item CSR (float32): the summed weights of each pair, 1 per event unweighted.
        Pairs whose weights sum to zero are not stored."""
        data = np.ones(len(self.user)) if self.weight is None else self.weight
        m = sp.coo_matrix(
            (data, (self.user, self.item)), shape=(self.n_users, self.n_items)
        ).tocsr()  # sums duplicates
        m.eliminate_zeros()
        m.sort_indices()
        return m.astype(np.float32)


@runtime_checkable
class Recommender(Protocol):
    """What every baseline offers: ``fit`` on interactions, then dense ``scores`` per user."""

    name: str
    params: dict[str, Any]

    def fit(self, data: Interactions, *, seed: int = 0) -> None: ...

    def scores(self, users: np.ndarray) -> np.ndarray:
        """``[len(users), n_items]`` float32, higher is better."""
        ...


def _users(users: np.ndarray) -> np.ndarray:
    return np.asarray(users, dtype=np.int64).ravel()


class Popularity:
    """Scores every item by its training interaction count (summed weights), for all users;
    with ``window_days``, only the interactions of the last days of training count (ties
    broken by the all-time count), which a temporal split rewards."""

    name = "popularity"

    def __init__(self, window_days: float | None = None) -> None:
        self.params: dict[str, Any] = {"window_days": window_days}
        self._counts: np.ndarray | None = None

    def fit(self, data: Interactions, *, seed: int = 0) -> None:
        del seed  # nothing random here
        counts = np.asarray(data.matrix().sum(axis=0), dtype=np.float64).ravel()
        window = self.params["window_days"]
        if window is not None:
            if data.t is None:
                raise ValueError("popularity with window_days needs interaction times")
            recent = data.t > data.t.max() - window * 86_400.0 if len(data.t) else data.t > 0
            w = np.ones(len(data.user)) if data.weight is None else data.weight
            # All-time counts only break ties among equally recent items.
            counts = np.bincount(
                data.item[recent], weights=w[recent], minlength=data.n_items
            ) + 1e-6 * counts / max(len(data), 1)
        self._counts = counts.astype(np.float32)

    def scores(self, users: np.ndarray) -> np.ndarray:
        if self._counts is None:
            raise RuntimeError("popularity: call fit() first")
        return np.repeat(self._counts[None, :], len(_users(users)), axis=0)


def _with_identity(
    n: int, features: sp.csr_matrix | None, known: np.ndarray | None = None
) -> sp.csr_matrix:
    """``[identity | features]`` with each row scaled to sum to 1 (LightFM does not normalise
    feature rows itself; its ``Dataset`` helper does the same L1 normalisation). Rows not
    ``known`` (no training interactions) get no identity part: its embedding would stay at
    its random start and only add noise to what the content features say (LightFM's advice
    for cold-start items)."""
    diagonal = np.ones(n, np.float32) if known is None or features is None else known
    eye = sp.diags(diagonal.astype(np.float32), format="csr")
    m = eye if features is None else sp.hstack([eye, features], format="csr", dtype=np.float32)
    norms = np.asarray(abs(m).sum(axis=1), dtype=np.float32).ravel()
    return sp.csr_matrix(sp.diags(1.0 / np.maximum(norms, 1e-12)) @ m, dtype=np.float32)


class LightFMRecommender:
    """LightFM factorisation. ``hybrid=False`` ("lightfm-cf") learns one embedding per user and
    item (identity features only). ``hybrid=True`` ("lightfm-hybrid") represents each item as
    the mean of its identity embedding and its content-feature embeddings (and each user the
    same way when user features are given), so items unseen in training still get scores.

    Seeded through LightFM's ``random_state``; with ``threads > 1`` the Hogwild updates race,
    so only ``threads=1`` is bit-for-bit repeatable.
    """

    def __init__(
        self,
        *,
        hybrid: bool,
        no_components: int = 64,
        loss: str = "warp",
        learning_rate: float = 0.05,
        item_alpha: float = 0.0,
        user_alpha: float = 0.0,
        epochs: int = 30,
        max_sampled: int = 10,
        threads: int = 2,
    ) -> None:
        if loss not in ("warp", "bpr", "logistic", "warp-kos"):
            raise ValueError(f"unknown LightFM loss {loss!r}")
        if epochs < 1 or threads < 1 or no_components < 1:
            raise ValueError("epochs, threads and no_components must be positive")
        self.hybrid = hybrid
        self.name = "lightfm-hybrid" if hybrid else "lightfm-cf"
        self.params: dict[str, Any] = {
            "no_components": no_components,
            "loss": loss,
            "learning_rate": learning_rate,
            "item_alpha": item_alpha,
            "user_alpha": user_alpha,
            "epochs": epochs,
            "max_sampled": max_sampled,
            "threads": threads,
        }
        self.model: Any = None
        self._user_emb: np.ndarray | None = None
        self._item_emb: np.ndarray | None = None
        self._item_bias: np.ndarray | None = None

    def _features(self, data: Interactions) -> tuple[sp.csr_matrix | None, sp.csr_matrix | None]:
        if not self.hybrid:
            return None, None
        users = (
            None if data.user_features is None else _with_identity(data.n_users, data.user_features)
        )
        known = np.bincount(data.item, minlength=data.n_items) > 0
        return users, _with_identity(data.n_items, data.item_features, known)

    def fit(self, data: Interactions, *, seed: int = 0) -> None:
        from lightfm import LightFM

        p = self.params
        model = LightFM(
            no_components=p["no_components"],
            loss=p["loss"],
            learning_rate=p["learning_rate"],
            item_alpha=p["item_alpha"],
            user_alpha=p["user_alpha"],
            max_sampled=p["max_sampled"],
            random_state=np.random.RandomState(seed),
        )
        counts = data.matrix().tocoo()
        interactions = sp.coo_matrix(
            (np.ones_like(counts.data), (counts.row, counts.col)), shape=counts.shape
        )
        weighted = p["loss"] != "warp-kos" and bool(np.any(counts.data != 1))
        user_features, item_features = self._features(data)
        model.fit(
            interactions,
            user_features=user_features,
            item_features=item_features,
            sample_weight=counts if weighted else None,
            epochs=p["epochs"],
            num_threads=p["threads"],
            verbose=False,
        )
        _, user_emb = model.get_user_representations(user_features)
        item_bias, item_emb = model.get_item_representations(item_features)
        self.model = model
        self._user_emb = np.ascontiguousarray(user_emb, dtype=np.float32)
        self._item_emb = np.ascontiguousarray(item_emb, dtype=np.float32)
        self._item_bias = np.asarray(item_bias, dtype=np.float32)

    def scores(self, users: np.ndarray) -> np.ndarray:
        """``user_emb @ item_emb.T + item_bias`` (the user bias shifts a whole row, so it is
        left out); the same ranking as ``LightFM.predict``, for all items at once."""
        if self._user_emb is None or self._item_emb is None or self._item_bias is None:
            raise RuntimeError(f"{self.name}: call fit() first")
        out = self._user_emb[_users(users)] @ self._item_emb.T
        out += self._item_bias[None, :]
        return out.astype(np.float32, copy=False)


@contextlib.contextmanager
def _single_threaded_blas() -> Iterator[None]:
    """implicit's ALS is slow (and warns) when BLAS runs its own thread pool."""
    if threadpool_limits is None:  # pragma: no cover
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


class ALSRecommender:
    """Implicit-feedback ALS (Hu, Koren & Volinsky) with implicit's CPU solver.

    Confidence is ``1 + alpha * count`` where ``count`` is the summed interaction weight; pairs
    never seen have confidence 1 and preference 0. Seeded through ``random_state``; the solver
    updates users (items) independently, so results repeat for any thread count.
    """

    name = "als"

    def __init__(
        self,
        *,
        factors: int = 64,
        regularization: float = 0.01,
        iterations: int = 15,
        alpha: float = 10.0,
        threads: int = 2,
    ) -> None:
        if factors < 1 or iterations < 1 or threads < 0:
            raise ValueError("factors and iterations must be positive, threads non-negative")
        if alpha < 0:
            raise ValueError("alpha must be non-negative")
        self.params: dict[str, Any] = {
            "factors": factors,
            "regularization": regularization,
            "iterations": iterations,
            "alpha": alpha,
            "threads": threads,
        }
        self.model: Any = None
        self._user_factors: np.ndarray | None = None
        self._item_factors: np.ndarray | None = None

    def fit(self, data: Interactions, *, seed: int = 0) -> None:
        from implicit.cpu.als import AlternatingLeastSquares

        p = self.params
        confidence = data.matrix()
        confidence.data = (1.0 + p["alpha"] * confidence.data).astype(np.float32)
        with _single_threaded_blas():
            model = AlternatingLeastSquares(
                factors=p["factors"],
                regularization=p["regularization"],
                alpha=1.0,  # implicit scales the matrix by alpha; confidence is built above
                iterations=p["iterations"],
                num_threads=p["threads"],
                random_state=seed,
            )
            model.fit(confidence, show_progress=False)
        self.model = model
        self._user_factors = np.asarray(model.user_factors, dtype=np.float32)
        self._item_factors = np.asarray(model.item_factors, dtype=np.float32)

    def scores(self, users: np.ndarray) -> np.ndarray:
        if self._user_factors is None or self._item_factors is None:
            raise RuntimeError("als: call fit() first")
        out = self._user_factors[_users(users)] @ self._item_factors.T
        return out.astype(np.float32, copy=False)


def top_k(scores: np.ndarray, exclude: Sequence[np.ndarray], k: int) -> list[np.ndarray]:
    """Per row: indices of the k highest scores, excluding the given items (e.g. the user's
    training items), best first.

    Exact: equal scores are ordered by item index (lower first), including at the cut-off. A
    row with fewer than ``k`` items left returns them all. NaN scores rank last.
    """
    scores = np.asarray(scores)
    if scores.ndim != 2:
        raise ValueError(f"scores must be 2-d, got shape {scores.shape}")
    if len(exclude) != scores.shape[0]:
        raise ValueError(f"exclude has {len(exclude)} rows, scores has {scores.shape[0]}")
    if k < 0:
        raise ValueError("k must be non-negative")
    n_items = scores.shape[1]
    out: list[np.ndarray] = []
    for row, skip in zip(scores, exclude, strict=True):
        keep = np.ones(n_items, dtype=bool)
        keep[np.asarray(skip, dtype=np.int64)] = False
        candidates = np.flatnonzero(keep)
        values = row[candidates].astype(np.float64)
        values[np.isnan(values)] = -np.inf
        kk = min(k, len(candidates))
        if kk == 0:
            out.append(np.empty(0, dtype=np.int64))
            continue
        if kk < len(candidates):
            # The kk-th largest value; everything above it is in, ties at it fill the rest
            # by item index so the cut-off does not depend on argpartition's order.
            threshold = np.partition(values, len(values) - kk)[len(values) - kk]
            above = np.flatnonzero(values > threshold)
            tied = np.flatnonzero(values == threshold)[: kk - len(above)]
            chosen = np.concatenate([above, tied])
        else:
            chosen = np.arange(len(candidates))
        # lexsort: last key is primary -> score descending, then candidate (item) ascending.
        order = np.lexsort((chosen, -values[chosen]))
        out.append(candidates[chosen[order]])
    return out


MODELS: dict[str, Callable[..., Recommender]] = {
    "popularity": Popularity,
    "lightfm-cf": lambda **params: LightFMRecommender(hybrid=False, **params),
    "lightfm-hybrid": lambda **params: LightFMRecommender(hybrid=True, **params),
    "als": ALSRecommender,
}


def make(name: str, **params: Any) -> Recommender:
    """A fresh, unfitted model by name: "popularity", "lightfm-cf", "lightfm-hybrid", "als"."""
    try:
        factory = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown baseline {name!r}; known: {', '.join(MODELS)}") from None
    return factory(**params)
