"""The deep model: shapes, a known answer learned, checkpoints and seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from models import checkpoint
from models.features import FeatureSpace
from models.inputs import item_matrix, user_matrix
from models.nets import NetConfig, Nets
from models.profiles import (
    DAY,
    Events,
    ProfileConfig,
    global_prior,
    posterior,
    posteriors_before,
    rebuild,
)
from models.sampling import Availability, NegativeSampler
from models.schema import parse_schema
from models.scoring import item_embeddings, rank, user_embedding
from models.train import Holdout, TrainingSet, train

SCHEMA = parse_schema(
    {
        "name": "fuel-test",
        "item_features": [
            {"name": "fuel", "kind": "categorical"},
            {"name": "price", "kind": "continuous", "log": True},
        ],
    }
)
T0 = 1_700_000_000.0
N_ITEMS, N_USERS = 40, 30
ITEMS = [{"fuel": "diesel" if j % 2 == 0 else "petrol", "price": 5000.0 + 300 * j}
         for j in range(N_ITEMS)]  # fmt: skip
SPACE = FeatureSpace.fit(SCHEMA, ITEMS, min_count=1)


def _fuel_problem(seed: int = 0) -> tuple[TrainingSet, Holdout]:
    """Even users only view diesels, odd users only petrols; validation asks for the rest."""
    rng = np.random.default_rng(seed)
    users, items, times = [], [], []
    seen: list[list[int]] = [[] for _ in range(N_USERS)]
    for u in range(N_USERS):
        mine = rng.permutation(np.arange(u % 2, N_ITEMS, 2))[:12]
        for n, j in enumerate(mine):
            users.append(u), items.append(int(j)), times.append(T0 + (n + rng.random()) * DAY)
            seen[u].append(int(j))
    table = SPACE.encode(ITEMS)
    events = Events(np.array(users), np.array(times), np.zeros(len(users), np.int64),
                    np.array(items), table)  # fmt: skip
    cfg, types = ProfileConfig(window_days=60), np.ones(3)
    prior = global_prior(events, SPACE)
    before = posteriors_before(events, N_USERS, events.user, events.t, SPACE, prior, cfg, types)
    end = T0 + 20 * DAY
    now = posterior(rebuild(events, N_USERS, end, cfg, types), SPACE, prior, cfg)
    data = TrainingSet(
        user_x=user_matrix(before), item=events.version.copy(), item_row=events.version.copy(),
        t=events.t, item_x=item_matrix(table), current_row=np.arange(N_ITEMS),
        availability=Availability(np.full(N_ITEMS, -np.inf), np.full(N_ITEMS, np.inf)),
        segment=np.zeros(N_ITEMS, np.int64),
    )  # fmt: skip
    relevant = [np.setdiff1d(np.arange(u % 2, N_ITEMS, 2), seen[u]) for u in range(N_USERS)]
    holdout = Holdout(user_matrix(now), relevant, [np.array(s) for s in seen], end)
    return data, holdout


def _train(data: TrainingSet, holdout: Holdout, **kw: object) -> object:
    kw = {"dim": 16, "hidden": (32,), "rank_hidden": (16,), "epochs": 15, "batch_size": 32,
          "lr": 5e-3, "progress": False, "patience": 15, "candidates": 20, "trend_days": (),
          "novelty": False,
          **kw}  # fmt: skip
    return train(data, holdout, **kw)  # type: ignore[arg-type]


def test_shapes_and_dtypes() -> None:
    nets = Nets(NetConfig(user_width=7, item_width=5, n_items=10, dim=8, hidden=(16,)))
    e_u = nets.user(torch.zeros(3, 7))
    e_i = nets.item(torch.zeros(4, 5), torch.tensor([0, 1, 2, 10]))
    assert e_u.shape == (3, 8) and e_i.shape == (4, 8) and e_u.dtype == torch.float32
    torch.testing.assert_close(e_u.norm(dim=-1), torch.ones(3))  # unit length for cosine
    assert nets.rank(e_u[:1].expand(4, -1), e_i).shape == (4,)
    assert user_matrix(np.ones((2, 7))).dtype == np.float32


def test_users_who_only_view_diesels_get_diesels_first() -> None:
    data, holdout = _fuel_problem()
    result = _train(data, holdout)
    assert result.metrics["val_precision@5"] >= 0.9  # chance is 0.5
    nets = result.nets
    e_items = item_embeddings(nets, data.item_x, result.item_ids)
    e_u = user_embedding(nets, holdout.user_x)
    diesels, petrols = np.arange(0, N_ITEMS, 2), np.arange(1, N_ITEMS, 2)
    p0 = rank(nets, e_u[0], e_items)  # user 0 views diesels
    p1 = rank(nets, e_u[1], e_items)  # user 1 views petrols
    assert set(np.argsort(-p0)[:10]) <= set(diesels) and p0[diesels].min() > p0[petrols].mean()
    assert set(np.argsort(-p1)[:10]) <= set(petrols) and p1[petrols].min() > p1[diesels].mean()


def test_checkpoint_round_trip_gives_identical_scores(tmp_path: Path) -> None:
    data, holdout = _fuel_problem()
    result = _train(data, holdout, epochs=2)
    art = checkpoint.Artefact(result.nets, SPACE, np.arange(100, 100 + N_ITEMS), result.item_ids,
                              {"metrics": result.metrics})  # fmt: skip
    loaded = checkpoint.load(checkpoint.save(tmp_path / "m.pt", art))
    for nets in (result.nets, loaded.nets):
        e_items = item_embeddings(nets, data.item_x, loaded.item_ids)
        e_u = user_embedding(nets, holdout.user_x)
        scores = rank(nets, e_u[0], e_items)
        if nets is result.nets:
            first = scores
    np.testing.assert_array_equal(first, scores)
    assert loaded.space == SPACE and loaded.meta["metrics"] == result.metrics
    assert loaded.vehicle_ids.tolist() == list(range(100, 100 + N_ITEMS))


def test_seeds_make_runs_repeatable() -> None:
    data, holdout = _fuel_problem()
    a, b = (_train(data, holdout, epochs=2, seed=3) for _ in range(2))
    c = _train(data, holdout, epochs=2, seed=4)
    assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]
    assert [h["loss"] for h in a.history] != [h["loss"] for h in c.history]


@pytest.mark.parametrize("strategy", ["uniform", "popularity", "hard"])
def test_negatives_are_on_sale_and_not_the_positive(strategy: str) -> None:
    rng = np.random.default_rng(0)
    start = np.where(np.arange(N_ITEMS) < 10, T0 + 5 * DAY, -np.inf)  # listed on day 5
    end = np.where(np.arange(N_ITEMS) >= 30, T0 + 2 * DAY, np.inf)  # sold on day 2
    pos_item = rng.integers(10, 30, 500)
    pos_t = T0 + rng.random(500) * 10 * DAY
    segment = np.arange(N_ITEMS) % 4
    sampler = NegativeSampler(strategy, Availability(start, end), pos_item, pos_t, segment)
    neg = sampler.sample(np.arange(500), 3, rng)
    t = np.repeat(pos_t, 3)
    flat = neg.reshape(-1)
    assert ((start[flat] <= t) & (t < end[flat])).all()
    assert (flat != np.repeat(pos_item, 3)).all()
    if strategy == "hard":  # mostly the positive's own segment
        assert (segment[flat] == np.repeat(segment[pos_item], 3)).mean() > 0.8
