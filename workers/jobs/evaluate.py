"""Offline evaluation job: one temporal split, every model on it, one report.

Protocol (models/evaluate.py): the latest ``test_fraction`` of events is the test period;
the latest ``val_fraction`` of the rest is validation, for early stopping and tuning. Test
users have at least one interaction on each side; their training items are never ranked;
every model ranks over all items (items first seen in the test period included).

Forecourt is scored twice: exhaustively (RankNet over every item) and through the served
path (UserNet -> Milvus top T -> RankNet). Baselines: popularity, LightFM WARP pure CF,
LightFM WARP hybrid (the same item features, plus user attributes where the data has them),
implicit ALS, each tuned on validation with a small grid.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import scipy.sparse as sp
from sqlalchemy import Engine
from tqdm import tqdm

from backend.db import profile_queries as pq
from backend.db import training_queries as tq
from backend.vectors.milvus import MilvusStore
from models import baseline_tuning, baselines
from models.evaluate import KS, aggregate, candidate_recall, ranking_metrics, split_time
from models.features import FeatureSpace
from models.inputs import user_matrix
from models.profiles import posterior, rebuild, recent_items
from models.schema import FeatureSchema
from models.scoring import exhaustive_top_k, item_embeddings, rank_many, user_embedding
from models.train import Holdout, history_ids, train, training_trend, trending_now
from workers.jobs.training import Prepared, prepare

BASELINES = ("popularity", "lightfm-cf", "lightfm-hybrid", "als")


@dataclass
class EvalConfig:
    dataset: str
    test_fraction: float = 0.2
    val_fraction: float = 0.2  # of the training events: enough validation users to choose by
    refit: bool = True  # after early stopping, retrain on train + validation for that many epochs
    seeds: int = 3
    candidates: int = 200
    ks: tuple[int, ...] = KS
    tune: bool = True
    train_params: dict[str, Any] = field(default_factory=dict)


@dataclass
class TestSet:
    users: np.ndarray  # user indices (into prepared.user_ids)
    holdout: Holdout  # profiles as of the test start, relevant = test items, seen = train items


def _items_by_user(user: np.ndarray, item: np.ndarray, wanted: np.ndarray) -> list[np.ndarray]:
    order = np.lexsort((item, user))
    user, item = user[order], item[order]
    lo, hi = np.searchsorted(user, wanted, "left"), np.searchsorted(user, wanted, "right")
    return [np.unique(item[a:b]) for a, b in zip(lo, hi, strict=True)]


def test_set(prepared: Prepared, test_user: np.ndarray, test_item: np.ndarray,
             test_start: float) -> TestSet:  # fmt: skip
    ev = prepared.events
    users = np.intersect1d(np.unique(test_user), np.unique(ev.user))
    stats = rebuild(ev, len(prepared.user_ids), test_start, prepared.cfg,
                    np.asarray(prepared.cfg.type_weights))  # fmt: skip
    profiles = posterior(stats, prepared.space, prepared.prior, prepared.cfg)
    relevant = _items_by_user(test_user, test_item, users)
    seen = _items_by_user(ev.user, prepared.event_item, users)
    length = prepared.data.history.shape[1] if prepared.data.history is not None else 1
    recent = recent_items(ev, prepared.event_item, len(prepared.user_ids), users,
                          np.full(len(users), np.nextafter(test_start, np.inf)), prepared.cfg,
                          np.asarray(prepared.cfg.type_weights), length=length)  # fmt: skip
    user_x = user_matrix(profiles[users], prepared.attributes[users])
    return TestSet(users, Holdout(user_x, relevant, seen, test_start, *recent))


def _binned(space: FeatureSpace, item_x: np.ndarray, bins: int = 10) -> sp.csr_matrix:
    """The item features our model sees, as LightFM wants them: one-hot categories and
    each continuous value in quantile bins (plus "absent")."""
    c, k = space.categorical_width, len(space.scalers)
    blocks = [sp.csr_matrix(item_x[:, :c])]
    for j in range(k):
        x, present = item_x[:, c + j], item_x[:, c + k + j] > 0
        edges = np.quantile(x[present], np.linspace(0, 1, bins + 1)[1:-1]) if present.any() else []
        code = np.where(present, np.searchsorted(edges, x), bins)
        blocks.append(sp.csr_matrix((np.ones(len(x)), (np.arange(len(x)), code)),
                                    shape=(len(x), bins + 1)))  # fmt: skip
    return sp.hstack(blocks).tocsr()


def _served(nets: Any, e_u: np.ndarray, e_items: np.ndarray, seen: list[np.ndarray],
            store: MilvusStore, collection: str, *, k: int, candidates: int,
            trend: np.ndarray | None = None, always: np.ndarray | None = None,
            ) -> tuple[list[np.ndarray], list[np.ndarray]]:  # fmt: skip
    """UserNet embedding -> Milvus top ``candidates`` (over-fetching by the items to skip)
    -> RankNet -> top k."""
    ranked, retrieved = [], []
    for s in range(0, len(e_u), 64):
        block = seen[s : s + 64]
        limit = min(16_384, candidates + max((len(x) for x in block), default=0))
        ids, _ = store.search(collection, e_u[s : s + 64], limit)
        cands = []
        for row, gone in zip(ids, block, strict=True):
            row = row[(row >= 0) & ~np.isin(row, gone)][:candidates]
            if always is not None:  # the trending source joins the ANN candidates
                extra = always[~np.isin(always, gone) & ~np.isin(always, row)]
                row = np.concatenate([row, extra])
            width = candidates + (0 if always is None else len(always))
            cands.append(np.pad(row, (0, width - len(row)), constant_values=-1))
        cand = np.stack(cands)
        logits = rank_many(nets, e_u[s : s + 64], e_items[np.maximum(cand, 0)],
                           None if trend is None else trend[np.maximum(cand, 0)])  # fmt: skip
        logits[cand < 0] = -np.inf
        order = np.argsort(-logits, axis=1)[:, :k]
        for r in range(len(cand)):
            keep = order[r][np.isfinite(logits[r, order[r]])]
            ranked.append(cand[r, keep])
            retrieved.append(cand[r][cand[r] >= 0])
    return ranked, retrieved


def run(
    engine: Engine,
    schema: FeatureSchema,
    profile_cfg: Any,
    config: EvalConfig,
    milvus_uri: str,
    *,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Every model on one split; returns the metrics document (metrics.json's layout)."""
    started = time.perf_counter()
    # prepare, test set, one step per seed, one per baseline, the summary
    steps = tqdm(total=3 + config.seeds + len(BASELINES), desc="evaluate", disable=not progress,
                 unit="step")  # fmt: skip
    with engine.connect() as conn:
        first, last = tq.event_bounds(conn)
        if first is None:
            raise ValueError("no events in the store to evaluate on")
        cols = pq.window_columns(conn, first.replace(year=first.year - 1), last)
    all_t = np.asarray(cols.ats, np.float64)
    test_start = split_time(all_t, config.test_fraction)
    until = datetime.fromtimestamp(test_start, UTC)
    prepared = prepare(engine, schema, profile_cfg, val_fraction=config.val_fraction,
                       max_examples=10**9, until=until)  # fmt: skip
    steps.update()
    # Test interactions: events after the split, on users and vehicles the model knows.
    later = all_t > test_start
    version_ids = np.asarray(cols.version_ids, np.int64)[later]
    with engine.connect() as conn:
        cat = tq.catalogue_versions(conn)
    vorder = np.argsort(cat.version_ids)
    rows = vorder[np.searchsorted(cat.version_ids[vorder], version_ids)]
    test_item = cat.version_vehicle[rows]
    raw_user = np.asarray(cols.user_ids, np.int64)[later]
    pos = np.searchsorted(prepared.user_ids, raw_user)
    known = (pos < len(prepared.user_ids)) & (
        prepared.user_ids[np.minimum(pos, len(prepared.user_ids) - 1)] == raw_user
    )
    tests = test_set(prepared, pos[known], test_item[known], test_start)
    n_items = len(prepared.vehicle_ids)
    k_max = max(config.ks)
    trained_on = np.bincount(prepared.event_item, minlength=n_items)
    new_items = float(np.mean(trained_on[test_item[known]] == 0)) if known.any() else 0.0
    log(f"split at {until:%Y-%m-%d %H:%M}: {len(prepared.event_item):,} training interactions,"
        f" {len(tests.users):,} test users, {int(known.sum()):,} test interactions"
        f" ({new_items:.0%} on items unseen in training)")  # fmt: skip
    steps.update()

    models: dict[str, dict[str, Any]] = {}
    # Forecourt: three seeds; each scored exhaustively and through Milvus.
    full = (
        prepare(engine, schema, profile_cfg, val_fraction=0.01, max_examples=10**9, until=until)
        if config.refit
        else prepared
    )
    store = MilvusStore(milvus_uri)
    served_runs, exhaustive_runs, recalls, epochs, weights, novelty = [], [], [], [], [], []
    for seed in range(config.seeds):
        result = train(prepared.data, prepared.validation, seed=seed, progress=False,
                       candidates=config.candidates, **config.train_params)  # fmt: skip
        epochs.append(result.best_epoch)
        weights.append(result.params.get("trend_weight"))
        novelty.append(result.params.get("novelty_weight"))
        if config.refit:  # the latest interactions matter most in a temporal split
            # The weights chosen on validation carry over: the refit's own validation is too
            # small to choose by.
            params = {**config.train_params, "epochs": result.best_epoch,
                      "patience": result.best_epoch + 1,
                      "trend_weights": (result.params.get("trend_weight", 0.0),),
                      "novelty_weights": (result.params.get("novelty_weight", 0.0),)}  # fmt: skip
            result = train(full.data, full.validation, seed=seed, progress=False,
                           candidates=config.candidates, **params)  # fmt: skip
        nets = result.nets
        e_items = item_embeddings(nets, prepared.data.item_x[prepared.data.current_row],
                                  result.item_ids)  # fmt: skip
        e_u = user_embedding(nets, tests.holdout.user_x,
                             history_ids(tests.holdout, result.item_ids))  # fmt: skip
        # Recent popularity and novelty as of the test start, from every training interaction.
        tr = training_trend(full.data, nets.config)
        now = None if tr is None else tr.features(np.arange(n_items), test_start)
        always = trending_now(tr, now)
        exhaustive = exhaustive_top_k(nets, e_u, e_items, tests.holdout.seen, k=k_max, trend=now)
        collection = f"eval_{config.dataset.replace('-', '_')}_s{seed}"
        store.create(collection, nets.config.dim)
        store.insert(collection, np.arange(n_items), e_items)
        served, retrieved = _served(nets, e_u, e_items, tests.holdout.seen, store, collection,
                                    k=k_max, candidates=config.candidates, trend=now,
                                    always=always)  # fmt: skip
        store.drop(collection)
        exhaustive_runs.append(ranking_metrics(exhaustive, tests.holdout.relevant, n_items,
                                               config.ks))  # fmt: skip
        served_runs.append(ranking_metrics(served, tests.holdout.relevant, n_items, config.ks))
        recalls.append({f"candidate_recall@{k}": candidate_recall(exhaustive, retrieved, k)
                        for k in (5, 10)})  # fmt: skip
        steps.update()
    store.close()
    params = {**result.params, "best_epochs": epochs, "trend_weights": weights,
              "novelty_weights": novelty, "refit_on_validation": config.refit}  # fmt: skip
    params.pop("progress", None)
    models["forecourt-served"] = {**aggregate(served_runs), **aggregate(recalls), "params": params}
    models["forecourt-exhaustive"] = {**aggregate(exhaustive_runs), "params": params}

    # Baselines: tuned on (train before validation -> validation), refit on all training.
    ev = prepared.events
    before_val = ev.t <= prepared.split
    item_features = _binned(prepared.space, prepared.data.item_x[prepared.data.current_row])
    # The same user attributes our model sees (MovieLens age, gender, occupation), if any.
    user_features = (
        _binned(prepared.space.attribute_space(), prepared.attributes)
        if prepared.attributes.shape[1]
        else None
    )

    def data(mask: np.ndarray) -> baselines.Interactions:
        return baselines.Interactions(
            n_users=len(prepared.user_ids), n_items=n_items, user=ev.user[mask],
            item=prepared.event_item[mask], item_features=item_features,
            user_features=user_features, t=ev.t[mask],
        )  # fmt: skip

    val_users = np.intersect1d(np.unique(ev.user[~before_val]), np.unique(ev.user[before_val]))
    val_relevant = _items_by_user(ev.user[~before_val], prepared.event_item[~before_val],
                                  val_users)  # fmt: skip
    val_seen = _items_by_user(ev.user[before_val], prepared.event_item[before_val], val_users)
    everything = np.ones(len(ev.user), dtype=bool)
    for name in BASELINES:
        if config.tune and len(baseline_tuning.GRIDS[name]) > 1:
            chosen, val_score = baseline_tuning.tune(
                name, data(before_val), val_users, val_relevant, val_seen, k=5
            )
        else:
            chosen, val_score = baseline_tuning.GRIDS[name][0], float("nan")
        seeds = 1 if name == "popularity" else config.seeds
        runs = []
        for seed in range(seeds):
            model = baselines.make(name, **chosen)
            model.fit(data(everything), seed=seed)
            ranked = baselines.top_k(model.scores(tests.users), tests.holdout.seen, k_max)
            runs.append(ranking_metrics(ranked, tests.holdout.relevant, n_items, config.ks))
        models[name] = {**aggregate(runs), "params": {**chosen, "val_map@5": val_score}}
        steps.update()
    steps.update()
    steps.close()
    return {
        "dataset": config.dataset,
        "split": {
            "test_start": datetime.fromtimestamp(test_start, UTC).isoformat(),
            "validation_start": prepared.val_start.isoformat(),
            "test_fraction": config.test_fraction,
            "val_fraction": config.val_fraction,
            "training_interactions": len(prepared.event_item),
            "test_users": len(tests.users),
            "test_interactions": int(known.sum()),
            "test_on_new_items": new_items,
            "items": int(n_items),
            "seeds": config.seeds,
            "candidates": config.candidates,
        },
        "models": models,
        "seconds": time.perf_counter() - started,
    }
