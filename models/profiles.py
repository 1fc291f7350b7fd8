"""User profiles as Bayesian posteriors over the shared feature space (pure numpy).

A profile is kept as sufficient statistics (decayed, weighted sums) at a reference time
``as_of``. That makes the incremental path exact: moving ``as_of`` forward multiplies every
sum by the same decay factor, a new event adds its terms, an event leaving the window
subtracts them, and the result equals a full rebuild (tests/unit/test_profiles.py).

Event weight = type weight x 2^(-(as_of - t) / half_life), for t in (as_of - window, as_of].
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from models.features import Encoded, FeatureSpace

DAY = 86_400.0
EVENT_TYPES = ("view", "bookmark", "contact")


@dataclass(frozen=True)
class ProfileConfig:
    alpha: float = 10.0  # Dirichlet concentration of the global prior (pseudo-events)
    shrink: float = 3.0  # pseudo-weight pulling continuous mean/std towards the global ones
    half_life_days: float = 7.0
    window_days: float = 30.0
    # view, bookmark, contact; None = inverse of each type's share in the data
    type_weights: tuple[float, float, float] | None = None


@dataclass
class Events:
    """Events as parallel arrays. Each points at a row of ``table``: the encoding of the
    vehicle version it was about, so a million events on a thousand versions encode once."""

    user: np.ndarray  # [E] int, user index
    t: np.ndarray  # [E] float, unix seconds
    kind: np.ndarray  # [E] int, index into EVENT_TYPES
    version: np.ndarray  # [E] int, row of table
    table: Encoded

    def __len__(self) -> int:
        return len(self.user)

    def select(self, mask: np.ndarray) -> Events:
        return Events(self.user[mask], self.t[mask], self.kind[mask], self.version[mask],
                      self.table)  # fmt: skip

    @classmethod
    def from_items(
        cls, space: FeatureSpace, user: Sequence[int], t: Sequence[float], kind: Sequence[int],
        items: Sequence[Mapping[str, Any]],
    ) -> Events:  # fmt: skip
        """One table row per event: convenient for tests and small batches."""
        return cls(
            np.asarray(user, dtype=np.int64).reshape(-1),
            np.asarray(t, dtype=np.float64).reshape(-1),
            np.asarray(kind, dtype=np.int64).reshape(-1),
            np.arange(len(items), dtype=np.int64),
            space.encode(items),
        )


@dataclass
class Prior:
    """Global distribution the posteriors shrink towards."""

    cat: np.ndarray  # [C], sums to 1 within each vocabulary block
    mean: np.ndarray  # [K]
    std: np.ndarray  # [K]

    def to_dict(self) -> dict[str, list[float]]:
        return {"cat": self.cat.tolist(), "mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Prior:
        return cls(*(np.asarray(doc[key]) for key in ("cat", "mean", "std")))


@dataclass
class ProfileStats:
    as_of: float
    cat: np.ndarray  # [U, C]  sum of w * one-hot
    w: np.ndarray  # [U, K]  sum of w where the value is present
    x: np.ndarray  # [U, K]  sum of w * x
    xx: np.ndarray  # [U, K]  sum of w * x^2
    count: np.ndarray  # [U]  events in the window
    weight: np.ndarray  # [U]  sum of w


def type_weights_from_counts(counts: np.ndarray) -> np.ndarray:
    """Inverse share of each type, scaled so the commonest weighs 1: rare deliberate acts
    weigh more. A type absent from the data gets the largest weight of those present."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.sum() == 0:
        return np.ones_like(counts)
    present = counts > 0
    weights = np.where(present, counts.max() / np.maximum(counts, 1.0), 0.0)
    return np.where(present, weights, weights.max())


def _type_weights(cfg: ProfileConfig, events: Events) -> np.ndarray:
    if cfg.type_weights is not None:
        return np.asarray(cfg.type_weights, dtype=np.float64)
    return type_weights_from_counts(np.bincount(events.kind, minlength=len(EVENT_TYPES)))


def _weights(events: Events, as_of: float, cfg: ProfileConfig, types: np.ndarray) -> np.ndarray:
    age_days = (as_of - events.t) / DAY
    return types[events.kind] * np.exp2(-age_days / cfg.half_life_days)


def _in_window(t: np.ndarray, as_of: float, cfg: ProfileConfig) -> np.ndarray:
    return (t > as_of - cfg.window_days * DAY) & (t <= as_of)


def _sums(
    n_users: int, events: Events, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-user weighted sums, vectorised with bincount over (user, slot): no per-event loop
    and no dense [events x slots] matrix."""
    table, v, c = events.table, events.version, events.table.width
    cat = np.zeros(n_users * c)
    for j in range(table.slots.shape[1]):
        slot = table.slots[v, j]
        used = slot >= 0
        cat += np.bincount(
            events.user[used] * c + slot[used],
            weights=(w * table.vals[v, j])[used],
            minlength=n_users * c,
        )
    k = table.cont.shape[1]
    sums = np.zeros((3, n_users, k))
    for j in range(k):
        x = table.cont[v, j].astype(np.float64)
        present = ~np.isnan(x)
        u, wp, xp = events.user[present], w[present], x[present]
        sums[0, :, j] = np.bincount(u, weights=wp, minlength=n_users)
        sums[1, :, j] = np.bincount(u, weights=wp * xp, minlength=n_users)
        sums[2, :, j] = np.bincount(u, weights=wp * xp * xp, minlength=n_users)
    count = np.bincount(events.user, minlength=n_users).astype(np.float64)
    weight = np.bincount(events.user, weights=w, minlength=n_users)
    return cat.reshape(n_users, c), sums[0], sums[1], sums[2], count, weight


def rebuild(
    events: Events, n_users: int, as_of: float, cfg: ProfileConfig, types: np.ndarray | None = None
) -> ProfileStats:
    """Sufficient statistics of every user from the events in the window before ``as_of``."""
    types = _type_weights(cfg, events) if types is None else types
    window = events.select(_in_window(events.t, as_of, cfg))
    cat, w, x, xx, count, weight = _sums(n_users, window, _weights(window, as_of, cfg, types))
    return ProfileStats(as_of, cat, w, x, xx, count, weight)


def advance(
    stats: ProfileStats,
    as_of: float,
    added: Events,
    expired: Events,
    cfg: ProfileConfig,
    types: np.ndarray,
) -> ProfileStats:
    """Move statistics to a later ``as_of``: decay, add events not counted before (late ones
    too: the sums are linear), remove events that left the window. Equal to ``rebuild``."""
    if as_of < stats.as_of:
        raise ValueError("profiles only move forward in time; rebuild for an earlier as_of")
    decay = np.exp2(-(as_of - stats.as_of) / DAY / cfg.half_life_days)
    n_users = stats.cat.shape[0]
    added = added.select(_in_window(added.t, as_of, cfg))
    plus = _sums(n_users, added, _weights(added, as_of, cfg, types))
    minus = _sums(n_users, expired, _weights(expired, as_of, cfg, types))
    parts = [stats.cat, stats.w, stats.x, stats.xx]
    new = [p * decay + a - m for p, a, m in zip(parts, plus[:4], minus[:4], strict=True)]
    count = stats.count + plus[4] - minus[4]
    weight = stats.weight * decay + plus[5] - minus[5]
    return ProfileStats(as_of, *new, count, weight)


def expiring(events: Events, old_as_of: float, new_as_of: float, cfg: ProfileConfig) -> Events:
    """Events inside the window at ``old_as_of`` that fall out of it by ``new_as_of``."""
    lo, hi = old_as_of - cfg.window_days * DAY, new_as_of - cfg.window_days * DAY
    return events.select((events.t > lo) & (events.t <= hi) & (events.t <= old_as_of))


def global_prior(events: Events, space: FeatureSpace) -> Prior:
    """Unweighted distribution of what users interacted with: the prior of every profile."""
    zero = Events(np.zeros(len(events), np.int64), events.t, events.kind, events.version,
                  events.table)  # fmt: skip
    cat = _sums(1, zero, np.ones(len(events)))[0][0] + 1.0  # add-one: no slot has prior 0
    for start, vocab in zip(space.offsets(), space.vocabularies, strict=True):
        block = slice(start, start + vocab.size)
        cat[block] /= cat[block].sum()
    cont = events.table.cont[events.version]
    present = ~np.isnan(cont)
    n = present.sum(axis=0)
    x = np.where(present, cont, 0.0).astype(np.float64)
    mean = x.sum(axis=0) / np.maximum(n, 1)  # no evidence: the catalogue's mean, 0 when scaled
    var = (x * x).sum(axis=0) / np.maximum(n, 1) - mean**2
    std = np.where(n > 1, np.sqrt(np.maximum(var, 0.0)), 1.0)
    return Prior(cat, mean, np.maximum(std, 1e-3))


def posterior(
    stats: ProfileStats, space: FeatureSpace, prior: Prior, cfg: ProfileConfig
) -> np.ndarray:
    """Profile vectors [U, C + 2K + 2]: category probabilities, continuous means and stds
    (scaled units), log(1 + events in window) and the total evidence weight."""
    probs = np.empty_like(stats.cat)
    for start, vocab in zip(space.offsets(), space.vocabularies, strict=True):
        block = slice(start, start + vocab.size)
        evidence = stats.cat[:, block].sum(axis=1, keepdims=True)
        probs[:, block] = (stats.cat[:, block] + cfg.alpha * prior.cat[block]) / (
            evidence + cfg.alpha
        )
    k = cfg.shrink
    mean = (stats.x + k * prior.mean) / (stats.w + k)
    second = (stats.xx + k * (prior.std**2 + prior.mean**2)) / (stats.w + k)
    std = np.sqrt(np.maximum(second - mean**2, 1e-12))
    confidence = np.stack([np.log1p(np.maximum(stats.count, 0)), stats.weight], axis=1)
    return np.concatenate([probs, mean, std, confidence], axis=1).astype(np.float32)


def with_types(cfg: ProfileConfig, types: np.ndarray) -> ProfileConfig:
    return replace(cfg, type_weights=tuple(float(t) for t in types))  # type: ignore[arg-type]


def posteriors_before(
    events: Events,
    n_users: int,
    query_user: np.ndarray,
    query_t: np.ndarray,
    space: FeatureSpace,
    prior: Prior,
    cfg: ProfileConfig,
    types: np.ndarray,
    *,
    chunk_events: int = 20_000,
) -> np.ndarray:
    """The profile vector of ``query_user[q]`` from the events strictly before ``query_t[q]``
    (in its window): what the user looked like just before an interaction, for training
    without leakage. Vectorised with prefix sums: a user's decayed sums at time t are
    2^(-(t - ref)/h) x (sum of type x 2^((t_e - ref)/h) x terms), so every query is the
    difference of two rows of one cumulative sum over the user's events sorted by time.
    Equal to ``posterior(rebuild(events before t, as_of=t))`` (tests/unit/test_profiles.py)."""
    query_user = np.asarray(query_user, dtype=np.int64)
    query_t = np.asarray(query_t, dtype=np.float64)
    h, window = cfg.half_life_days * DAY, cfg.window_days * DAY
    order = np.lexsort((events.t, events.user))
    user, t = events.user[order], events.t[order]
    ref = np.full(n_users, np.inf)
    np.minimum.at(ref, user, t)
    ref[np.isinf(ref)] = 0.0
    exponent = (t - ref[user]) / h
    if exponent.size and exponent.max() > 900:  # 2^900 is near float64's range
        raise ValueError(
            "the events span more than 900 half-lives; train on a shorter period "
            "or use a longer half-life"
        )
    a = types[events.kind[order]] * np.exp2(exponent)
    # Exact integer keys (user, time rank) so that the bounds are found by one searchsorted.
    times, ranks = np.unique(np.concatenate([t, query_t, query_t - window]), return_inverse=True)
    stride = len(times) + 1
    event_key = user * stride + ranks[: len(t)]
    q_key_hi = query_user * stride + ranks[len(t) : len(t) + len(query_t)]
    q_key_lo = query_user * stride + ranks[len(t) + len(query_t) :]
    lo_all = np.searchsorted(event_key, q_key_lo, side="right")  # first with t_e > t - window
    hi_all = np.searchsorted(event_key, q_key_hi, side="left")  # first with t_e >= t
    scale_all = np.exp2(-(query_t - ref[query_user]) / h)

    table, version = events.table, events.version[order]
    c, k = table.width, table.cont.shape[1]
    out = np.empty((len(query_t), c + 2 * k + 2), dtype=np.float32)
    bounds = np.searchsorted(user, np.arange(n_users + 1))  # each user's event range
    q_order = np.argsort(query_user, kind="stable")
    q_bounds = np.searchsorted(query_user[q_order], np.arange(n_users + 1))
    u0 = 0
    while u0 < n_users:
        # A block of whole users with about chunk_events events, so memory stays bounded.
        u1 = int(np.searchsorted(bounds, bounds[u0] + chunk_events, side="right")) - 1
        u1 = min(max(u1, u0 + 1), n_users)
        e0, e1 = bounds[u0], bounds[u1]
        qs = q_order[q_bounds[u0] : q_bounds[u1]]
        u0 = u1
        if not len(qs):
            continue
        sl = slice(e0, e1)
        block = Encoded(table.slots[version[sl]], table.vals[version[sl]],
                        table.cont[version[sl]], c)  # fmt: skip
        w = a[sl]
        x = block.cont.astype(np.float64)
        present = ~np.isnan(x)
        x = np.where(present, x, 0.0)
        terms = np.concatenate(
            [block.dense_cat() * w[:, None], present * w[:, None], x * w[:, None],
             x * x * w[:, None], np.ones((len(w), 1)), w[:, None]],
            axis=1,
        )  # fmt: skip
        sums = np.vstack([np.zeros((1, terms.shape[1])), np.cumsum(terms, axis=0)])
        diff = sums[hi_all[qs] - e0] - sums[lo_all[qs] - e0]
        diff[:, :-2] *= scale_all[qs, None]
        diff[:, -1] *= scale_all[qs]
        stats = ProfileStats(
            float("nan"), diff[:, :c], diff[:, c : c + k], diff[:, c + k : c + 2 * k],
            diff[:, c + 2 * k : c + 3 * k], np.rint(diff[:, -2]), diff[:, -1],
        )  # fmt: skip
        out[qs] = posterior(stats, space, prior, cfg)
    return out


def recent_items(
    events: Events,
    item: np.ndarray,
    n_users: int,
    query_user: np.ndarray,
    query_t: np.ndarray,
    cfg: ProfileConfig,
    types: np.ndarray,
    *,
    length: int,
    chunk: int = 100_000,
) -> tuple[np.ndarray, np.ndarray]:
    """The collaborative half of a profile: each query user's last ``length`` items strictly
    before ``query_t`` inside the window, with the profile's event weights (type x recency).
    Returns (items [Q, length] with -1 padding, weights [Q, length] float32), latest last."""
    query_user = np.asarray(query_user, dtype=np.int64)
    query_t = np.asarray(query_t, dtype=np.float64)
    order = np.lexsort((events.t, events.user))
    user, t = events.user[order], events.t[order]
    window = cfg.window_days * DAY
    items = np.full((len(query_t), length), -1, np.int64)
    weights = np.zeros((len(query_t), length), np.float32)
    if not len(t):
        return items, weights
    times, ranks = np.unique(np.concatenate([t, query_t, query_t - window]), return_inverse=True)
    stride = len(times) + 1
    key = user * stride + ranks[: len(t)]
    hi = np.searchsorted(key, query_user * stride + ranks[len(t) : len(t) + len(query_t)], "left")
    lo = np.searchsorted(key, query_user * stride + ranks[len(t) + len(query_t) :], "right")
    kind, item = events.kind[order], item[order]
    # In blocks of queries: the [Q, length] temporaries would otherwise cost several times
    # the result (2M training examples x 50 items x 8 bytes each).
    for q0 in range(0, len(query_t), chunk):
        q = slice(q0, q0 + chunk)
        idx = hi[q, None] - length + np.arange(length)[None, :]
        valid = idx >= lo[q, None]
        idx = np.clip(idx, 0, len(t) - 1)
        age = (query_t[q, None] - t[idx]) / DAY
        w = types[kind[idx]] * np.exp2(-age / cfg.half_life_days)
        items[q] = np.where(valid, item[idx], -1)
        weights[q] = np.where(valid, w, 0.0)
    return items, weights
