"""Joint training of UserNet, ItemNet and RankNet as binary classification with sampled
negatives, plus a retrieval loss that shapes the embedding geometry Milvus searches.

Every example is an observed interaction (label 1) with the user's profile computed from the
events strictly before it (models.profiles.posteriors_before), so a profile never contains
its own target. Negatives (label 0) are drawn fresh each epoch (models/sampling.py).
Early stopping watches validation precision@k of the served path (retrieve -> rank) on a
period after the training examples.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F
from tqdm import tqdm

from models.metrics import precision_at_k, recall_at_k
from models.nets import NetConfig, Nets
from models.sampling import Availability, NegativeSampler
from models.scoring import Retrieved, item_embeddings, rank_retrieved, retrieve, user_embedding
from models.trend import TRENDING_CANDIDATES, Trend, trending


@dataclass
class TrainingSet:
    user_x: np.ndarray  # [Q, Du] profile just before each interaction
    item: np.ndarray  # [Q] vehicle index of the interaction
    item_row: np.ndarray  # [Q] row of item_x: the version the user saw
    t: np.ndarray  # [Q] unix seconds
    item_x: np.ndarray  # [R, Di] vehicle (version) inputs
    current_row: np.ndarray  # [J] row of each vehicle's latest version
    availability: Availability
    segment: np.ndarray  # [J] segment id for hard negatives (e.g. make), -1 = none
    # Recent items before each interaction (vehicle index, -1 = none) and their weights.
    history: np.ndarray | None = None  # [Q, L]
    history_w: np.ndarray | None = None  # [Q, L]

    @property
    def n_items(self) -> int:
        return len(self.current_row)


@dataclass
class Holdout:
    """Users to rank for, in a later period: profile at its start, what they then interacted
    with, and what they had already seen (never recommended again)."""

    user_x: np.ndarray  # [U, Du]
    relevant: list[np.ndarray]
    seen: list[np.ndarray]
    at: float  # availability is checked at this time
    history: np.ndarray | None = None  # [U, L] recent vehicle indices, -1 = none
    history_w: np.ndarray | None = None  # [U, L]

    def sample(self, most: int, seed: int = 0) -> Holdout:
        """At most ``most`` of the users, drawn at random: each validation pass ranks every
        vehicle for every user, so at marketplace scale all of them cost more than the
        training epoch itself, for a mean that a few thousand users pin down."""
        n = len(self.relevant)
        if n <= most:
            return self
        keep = np.sort(np.random.default_rng(seed).choice(n, most, replace=False))
        pick = lambda a: None if a is None else a[keep]  # noqa: E731
        return Holdout(self.user_x[keep], [self.relevant[i] for i in keep],
                       [self.seen[i] for i in keep], self.at, pick(self.history),
                       pick(self.history_w))  # fmt: skip


@dataclass
class TrainResult:
    nets: Nets
    item_ids: np.ndarray  # [J] id-embedding index per vehicle, 0 = unknown
    params: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    metrics: dict[str, float] = field(default_factory=dict)


def id_index(item: np.ndarray, n_items: int, min_count: int) -> np.ndarray:
    """Vehicles with at least ``min_count`` training interactions get their own id embedding
    (j + 1); the rest, and every later listing, rely on content alone (0)."""
    counts = np.bincount(item, minlength=n_items)
    return np.where(counts >= min_count, np.arange(1, n_items + 1), 0).astype(np.int64)


def history_ids(
    source: TrainingSet | Holdout, item_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """Recent vehicles as id-embedding indices (unknown and padding -> 0, with weight 0 for
    padding), or None without history."""
    if source.history is None or source.history_w is None:
        return None
    ids = np.where(source.history >= 0, item_ids[np.maximum(source.history, 0)], 0)
    return ids, source.history_w


def training_trend(data: TrainingSet, config: NetConfig) -> Trend | None:
    """Recent popularity (and novelty) from the training interactions, as ``config``'s
    RankNet sees them (None when it sees neither)."""
    if not config.trend_days and not config.novelty:
        return None
    return Trend(data.item, data.t, data.n_items, config.trend_days, novelty=config.novelty)


def trending_now(trend: Trend | None, now: np.ndarray | None, n: int = TRENDING_CANDIDATES,
                 allowed: np.ndarray | None = None) -> np.ndarray | None:  # fmt: skip
    """The trending candidate source for ``now`` = trend features [J, P], if any window."""
    if trend is None or now is None or not len(trend.windows):
        return None
    return trending(now, n, allowed)


@dataclass
class ServedInputs:
    """What the served path needs for one holdout, computed once per set of weights."""

    e_u: np.ndarray
    e_items: np.ndarray
    allowed: np.ndarray
    now: np.ndarray | None
    always: np.ndarray | None
    # The candidate stage: it does not move with RankNet's weights, so it is kept.
    retrieved: list[Retrieved] | None = None
    candidates: int = 0


def served_inputs(nets: Nets, data: TrainingSet, item_ids: np.ndarray, holdout: Holdout,
                  trend: Trend | None) -> ServedInputs:  # fmt: skip
    e_items = item_embeddings(nets, data.item_x[data.current_row], item_ids)
    e_u = user_embedding(nets, holdout.user_x, history_ids(holdout, item_ids))
    allowed = data.availability.at(np.arange(data.n_items), np.full(data.n_items, holdout.at))
    now = None if trend is None else trend.features(np.arange(data.n_items), holdout.at)
    return ServedInputs(e_u, e_items, allowed, now, trending_now(trend, now, allowed=allowed))


def evaluate_served(
    nets: Nets,
    data: TrainingSet,
    item_ids: np.ndarray,
    holdout: Holdout,
    *,
    k: int,
    candidates: int,
    trend: Trend | None = None,
    inputs: ServedInputs | None = None,
) -> dict[str, float]:
    """Precision@k of retrieve (inner product, top ``candidates``) -> RankNet -> top k, and
    the share of the relevant items that survive retrieval."""
    x = inputs or served_inputs(nets, data, item_ids, holdout, trend)
    if x.retrieved is None or x.candidates != candidates:
        x.retrieved = retrieve(x.e_u, x.e_items, holdout.seen, candidates=candidates,
                               allowed=x.allowed, always=x.always)  # fmt: skip
        x.candidates = candidates
    ranked, retrieved = rank_retrieved(nets, x.e_u, x.e_items, x.retrieved, k=k, trend=x.now)
    return {
        f"precision@{k}": precision_at_k(ranked, holdout.relevant, k),
        f"recall@{k}": recall_at_k(ranked, holdout.relevant, k),
        f"candidate_recall@{candidates}": recall_at_k(retrieved, holdout.relevant, candidates),
    }


def train(
    data: TrainingSet,
    validation: Holdout,
    *,
    dim: int = 64,
    hidden: tuple[int, ...] = (256,),
    rank_hidden: tuple[int, ...] = (128, 64),
    dropout: float = 0.1,
    epochs: int = 20,
    batch_size: int = 512,
    lr: float = 2e-3,
    weight_decay: float = 1e-5,
    neg_ratio: int = 1,
    sampler: str = "uniform",
    retrieval_loss: str = "softmax",
    retrieval_weight: float = 1.0,
    temperature: float = 0.05,
    logq: bool = False,
    id_embeddings: bool = True,
    min_id_count: int = 2,
    id_dropout: float = 0.3,
    trend_days: tuple[float, ...] = (7.0,),
    trend_weights: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0),
    novelty: bool = True,
    novelty_weights: tuple[float, ...] = (0.0, 1.0, 2.0, 4.0, 8.0),
    patience: int = 5,
    k: int = 5,
    candidates: int = 200,
    seed: int = 0,
    threads: int | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train the three nets jointly; return those of the best validation epoch."""
    if retrieval_loss not in ("softmax", "none"):
        raise ValueError("retrieval_loss is 'softmax' or 'none'")
    params = {k_: v for k_, v in locals().items() if k_ not in ("data", "validation")}
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    item_ids = (
        id_index(data.item, data.n_items, min_id_count)
        if id_embeddings
        else np.zeros(data.n_items, np.int64)
    )
    history = data.history.shape[1] if data.history is not None and id_embeddings else 0
    config = NetConfig(
        user_width=data.user_x.shape[1], item_width=data.item_x.shape[1],
        n_items=data.n_items if id_embeddings else 0, history=history, dim=dim,
        hidden=tuple(hidden), rank_hidden=tuple(rank_hidden), dropout=dropout,
        trend_days=tuple(float(d) for d in trend_days), novelty=novelty,
    )  # fmt: skip
    trend = training_trend(data, config)
    nets = Nets(config)
    sparse = [m.weight for m in (nets.item.ids, nets.user.history) if m is not None]
    dense = [p for p in nets.parameters() if all(p is not q for q in sparse)]
    optimisers: list[torch.optim.Optimizer] = [
        torch.optim.AdamW(dense, lr=lr, weight_decay=weight_decay)
    ]
    if sparse:
        optimisers.append(torch.optim.SparseAdam(sparse, lr=lr))
    sampler_ = NegativeSampler(sampler, data.availability, data.item, data.t, data.segment)
    # log Q correction (off by default): in-batch negatives come in proportion to popularity;
    # correcting for it ranks by lift, which measured worse for precision@k on validation.
    log_q = np.log(np.bincount(data.item, minlength=data.n_items) / len(data.item) + 1e-12)
    user_x, item_x = torch.from_numpy(data.user_x), torch.from_numpy(data.item_x)
    hist = history_ids(data, item_ids) if history else None
    hist_ids = torch.from_numpy(hist[0]) if hist else None
    hist_w = torch.from_numpy(hist[1]) if hist else None
    ids_all = torch.from_numpy(item_ids)
    result = TrainResult(nets, item_ids, params)
    best, best_state, stale = -1.0, copy.deepcopy(nets.state_dict()), 0
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        nets.train()
        order = rng.permutation(len(data.item))
        losses = []
        bar = tqdm(range(0, len(order), batch_size), desc=f"epoch {epoch}", disable=not progress,
                   leave=False, unit="batch")  # fmt: skip
        for start in bar:
            b = order[start : start + batch_size]
            neg = sampler_.sample(b, neg_ratio, rng)  # [B, r]
            pos_ids, neg_ids = ids_all[data.item[b]], ids_all[neg.reshape(-1)]
            if id_dropout:
                pos_ids = pos_ids * (torch.rand(len(b)) >= id_dropout)
                neg_ids = neg_ids * (torch.rand(neg.size) >= id_dropout)
            e_u = nets.user(user_x[b], hist_ids[b] if hist_ids is not None else None,
                            hist_w[b] if hist_w is not None else None)  # [B, dim]  # fmt: skip
            e_pos = nets.item(item_x[data.item_row[b]], pos_ids)  # [B, dim]
            e_neg = nets.item(item_x[data.current_row[neg.reshape(-1)]], neg_ids)  # [B*r, dim]
            pos_tr = neg_tr = None
            if trend is not None:
                pos_tr = torch.from_numpy(trend.features(data.item[b], data.t[b]))
                neg_tr = torch.from_numpy(
                    trend.features(neg, data.t[b][:, None]).reshape(neg.size, -1)
                )
            pos_logit = nets.rank(e_u, e_pos, pos_tr)
            neg_logit = nets.rank(e_u.repeat_interleave(neg_ratio, 0), e_neg, neg_tr)
            loss = F.binary_cross_entropy_with_logits(
                torch.cat([pos_logit, neg_logit]),
                torch.cat([torch.ones_like(pos_logit), torch.zeros_like(neg_logit)]),
            )
            if retrieval_loss == "softmax":
                # Each user's own positive against every vehicle in the batch.
                items = np.concatenate([data.item[b], neg.reshape(-1)])
                logits = e_u @ torch.cat([e_pos, e_neg]).T / temperature
                if logq:
                    logits = logits - torch.from_numpy(log_q[items]).float()
                same = torch.from_numpy(data.item[b][:, None] == items[None, :])
                same[torch.arange(len(b)), torch.arange(len(b))] = False
                logits = logits.masked_fill(same, float("-inf"))
                loss = loss + retrieval_weight * F.cross_entropy(logits, torch.arange(len(b)))
            for opt in optimisers:
                opt.zero_grad()
            loss.backward()
            for opt in optimisers:
                opt.step()
            losses.append(float(loss.detach()))
            if len(losses) % 20 == 0:
                bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
        nets.train(False)
        val = evaluate_served(nets, data, item_ids, validation, k=k, candidates=candidates,
                              trend=trend)  # fmt: skip
        row = {"epoch": epoch, "loss": float(np.mean(losses)) if losses else 0.0,
               "seconds": time.perf_counter() - started, **val}  # fmt: skip
        result.history.append(row)
        if progress:
            tqdm.write(f"epoch {epoch}: loss {row['loss']:.4f}, validation precision@{k} "
                       f"{val[f'precision@{k}']:.4f} ({row['seconds']:.1f}s)")  # fmt: skip
        if val[f"precision@{k}"] > best:
            best, best_state, stale = val[f"precision@{k}"], copy.deepcopy(nets.state_dict()), 0
            result.best_epoch, result.metrics = epoch, {f"val_{n}": v for n, v in val.items()}
        else:
            stale += 1
            if stale >= patience:
                break
    nets.load_state_dict(best_state)
    nets.train(False)
    if trend is not None:
        calibrate_trend(nets, data, item_ids, validation, trend,
                        trend_weights if config.trend_days else (0.0,),
                        novelty_weights if novelty else (0.0,), result,
                        k=k, candidates=candidates)  # fmt: skip
    return result


def calibrate_trend(
    nets: Nets, data: TrainingSet, item_ids: np.ndarray, validation: Holdout, trend: Trend,
    weights: tuple[float, ...], novelty_weights: tuple[float, ...], result: TrainResult, *,
    k: int, candidates: int,
) -> None:  # fmt: skip
    """Choose RankNet's trend and novelty weights on validation, jointly over the grid (ties:
    the smallest); records them and the validation metrics with them in ``result``."""
    inputs = served_inputs(nets, data, item_ids, validation, trend)  # weights move no embedding
    best_w, best = (0.0, 0.0), None
    for w in sorted(weights or (0.0,)):
        for nw in sorted(novelty_weights or (0.0,)):
            nets.rank.trend_weight.fill_(float(w))
            nets.rank.novelty_weight.fill_(float(nw))
            val = evaluate_served(nets, data, item_ids, validation, k=k, candidates=candidates,
                                  inputs=inputs)  # fmt: skip
            if best is None or val[f"precision@{k}"] > best[f"precision@{k}"]:
                best_w, best = (float(w), float(nw)), val
    nets.rank.trend_weight.fill_(best_w[0])
    nets.rank.novelty_weight.fill_(best_w[1])
    result.params["trend_weight"], result.params["novelty_weight"] = best_w
    assert best is not None
    result.metrics = {f"val_{n}": v for n, v in best.items()}
