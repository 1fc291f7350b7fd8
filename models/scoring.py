"""Scoring with trained nets: the pieces serving and evaluation share.

Served path: UserNet -> nearest ItemNet embeddings (Milvus, or ``retrieve`` here) -> RankNet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from models.nets import Nets


@torch.no_grad()
def user_embedding(
    nets: Nets, user_x: np.ndarray, history: tuple[np.ndarray, np.ndarray] | None = None,
    *, batch: int = 8192,
) -> np.ndarray:  # fmt: skip
    """Profile inputs [U, Du] (and recent items as id-embedding indices [U, L] with weights)
    -> e_u [U, dim] float32."""
    nets.user.eval()
    parts = []
    for i in range(0, len(user_x), batch):
        items = weights = None
        if history is not None:
            items = torch.from_numpy(history[0][i : i + batch].astype(np.int64))
            weights = torch.from_numpy(history[1][i : i + batch].astype(np.float32))
        parts.append(nets.user(torch.from_numpy(user_x[i : i + batch]), items, weights).numpy())
    return np.concatenate(parts) if parts else np.zeros((0, nets.config.dim), np.float32)


@torch.no_grad()
def item_embeddings(
    nets: Nets, item_x: np.ndarray, ids: np.ndarray | None = None, *, batch: int = 8192
) -> np.ndarray:
    """Vehicle inputs [n, Di] (and id-embedding indices, 0 = unknown) -> e_i [n, dim]; batched,
    for publishing a whole catalogue."""
    nets.item.eval()
    parts = []
    for i in range(0, len(item_x), batch):
        ids_t = None if ids is None else torch.from_numpy(ids[i : i + batch].astype(np.int64))
        parts.append(nets.item(torch.from_numpy(item_x[i : i + batch]), ids_t).numpy())
    return np.concatenate(parts) if parts else np.zeros((0, nets.config.dim), np.float32)


def _tensor(x: np.ndarray | None) -> torch.Tensor | None:
    return None if x is None else torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


@torch.no_grad()
def rank(
    nets: Nets, e_u: np.ndarray, candidates: np.ndarray, trend: np.ndarray | None = None
) -> np.ndarray:
    """One user's e_u [dim] against candidate embeddings [T, dim] (and their trend features
    [T, P], models/trend.py, where the model uses them) -> probabilities [T]."""
    nets.rank.eval()
    u, c = _tensor(e_u), _tensor(candidates)
    assert u is not None and c is not None
    return torch.sigmoid(nets.rank(u.expand(len(c), -1), c, _tensor(trend))).numpy()


@torch.no_grad()
def rank_many(
    nets: Nets, e_u: np.ndarray, candidates: np.ndarray, trend: np.ndarray | None = None
) -> np.ndarray:
    """Users [U, dim] each against their own candidates [U, T, dim] (trend [U, T, P])
    -> logits [U, T]."""
    nets.rank.eval()
    u = torch.from_numpy(e_u).unsqueeze(1).expand(-1, candidates.shape[1], -1)
    return nets.rank(u, torch.from_numpy(candidates), _tensor(trend)).numpy()


@dataclass
class Retrieved:
    """The candidate stage's result for a chunk of users: what the ranking then orders."""

    start: int  # first user of the chunk
    cand: np.ndarray  # [u, T] item indices
    valid: np.ndarray  # [u, T] False where fewer than T items could be retrieved


def retrieve(
    e_u: np.ndarray,
    e_items: np.ndarray,
    exclude: list[np.ndarray],
    *,
    candidates: int,
    allowed: np.ndarray | None = None,
    always: np.ndarray | None = None,
    chunk_cells: int = 20_000_000,
) -> list[Retrieved]:
    """Inner-product top ``candidates`` per user (what Milvus approximates), in chunks of
    users. ``exclude[u]`` are item indices the user must not get; ``allowed`` masks items off
    sale; ``always`` are candidates from a second source (what is trending) that join every
    user's retrieved ones. It does not depend on RankNet: compute it once to rank many ways."""
    n_items = len(e_items)
    step = max(1, chunk_cells // max(n_items, 1))
    out = []
    for s in range(0, len(e_u), step):
        scores = e_u[s : s + step] @ e_items.T
        t = candidates
        if always is not None and len(always):
            scores[:, always] = np.inf  # kept whatever their inner product
            t += len(always)
        for r, items in enumerate(exclude[s : s + step]):
            scores[r, items] = -np.inf
        if allowed is not None:
            scores[:, ~allowed] = -np.inf
        t = min(t, n_items)
        # A copy: a slice would keep the whole [users, items] argpartition alive, and the
        # result is cached across calibrations (4 GB at 10% of the marketplace's scale).
        cand = np.argpartition(-scores, t - 1, axis=1)[:, :t].copy()
        out.append(Retrieved(s, cand, np.take_along_axis(scores, cand, axis=1) > -np.inf))
    return out


def rank_retrieved(
    nets: Nets, e_u: np.ndarray, e_items: np.ndarray, chunks: list[Retrieved], *, k: int,
    trend: np.ndarray | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray]]:  # fmt: skip
    """RankNet over each user's retrieved candidates (``trend`` [J, P]: every item's trend
    now) -> (top k per user, retrieved per user)."""
    ranked, retrieved = [], []
    for c in chunks:
        users = e_u[c.start : c.start + len(c.cand)]
        logits = rank_many(nets, users, e_items[c.cand],
                           None if trend is None else trend[c.cand])  # fmt: skip
        logits[~c.valid] = -np.inf
        order = np.argsort(-logits, axis=1)[:, :k]
        for r in range(len(c.cand)):
            keep = order[r][np.isfinite(logits[r, order[r]])]
            ranked.append(c.cand[r, keep])
            retrieved.append(c.cand[r, c.valid[r]])
    return ranked, retrieved


def top_k(
    nets: Nets,
    e_u: np.ndarray,
    e_items: np.ndarray,
    exclude: list[np.ndarray],
    *,
    k: int,
    candidates: int,
    allowed: np.ndarray | None = None,
    trend: np.ndarray | None = None,
    always: np.ndarray | None = None,
    chunk_cells: int = 20_000_000,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Exact version of the served path for many users: ``retrieve`` -> RankNet -> top k.
    Returns (ranked items, retrieved items)."""
    chunks = retrieve(e_u, e_items, exclude, candidates=candidates, allowed=allowed,
                      always=always, chunk_cells=chunk_cells)  # fmt: skip
    return rank_retrieved(nets, e_u, e_items, chunks, k=k, trend=trend)


@torch.no_grad()
def exhaustive_top_k(
    nets: Nets,
    e_u: np.ndarray,
    e_items: np.ndarray,
    exclude: list[np.ndarray],
    *,
    k: int,
    trend: np.ndarray | None = None,
    chunk_pairs: int = 2_000_000,
) -> list[np.ndarray]:
    """RankNet over every item for every user (no retrieval stage): the ceiling the served
    path is measured against. ``exclude[u]`` never appear."""
    nets.rank.eval()
    items = torch.from_numpy(e_items)
    extra = _tensor(trend)
    out = []
    step = max(1, chunk_pairs // max(len(e_items), 1))
    for s in range(0, len(e_u), step):
        u = torch.from_numpy(e_u[s : s + step])
        logits = nets.rank(
            u[:, None, :].expand(-1, len(items), -1), items[None, :, :].expand(len(u), -1, -1),
            None if extra is None else extra[None, :, :].expand(len(u), -1, -1),
        ).numpy()  # fmt: skip
        for r, gone in enumerate(exclude[s : s + step]):
            logits[r, gone] = -np.inf
        top = np.argpartition(-logits, min(k, logits.shape[1] - 1), axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(logits, top, axis=1), axis=1)
        out.extend(np.take_along_axis(top, order, axis=1))
    return out
