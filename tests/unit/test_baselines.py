"""Baselines on tiny synthetic problems whose answer is known in advance.

Two user groups, each interacting only with its own half of the items: a collaborative model
must recommend a user's unseen items from their own half. Cold items (and cold users) carry a
content feature naming their group, which only the hybrid LightFM model can use.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from models.baseline_tuning import GRIDS, tune
from models.baselines import (
    ALSRecommender,
    Interactions,
    LightFMRecommender,
    Popularity,
    Recommender,
    make,
    top_k,
)
from models.metrics import precision_at_k

N_USERS = 80  # even users are group 0, odd users group 1
HALF = 30  # warm items per group: items [0, 30) are group 0, [30, 60) group 1
PER_USER = 8  # training items per user, drawn from the user's own half
COLD_PER_GROUP = 2  # items with no interactions, only a group feature

# Small, single-threaded (so repeatable) settings that are enough for the toy problem.
FAST: dict[str, dict[str, Any]] = {
    "popularity": {},
    "lightfm-cf": {"no_components": 8, "threads": 1},
    "lightfm-hybrid": {"no_components": 8, "threads": 1},
    "als": {"factors": 4, "regularization": 0.1, "threads": 1},
}


def two_groups(
    *, seed: int = 0, cold_items: bool = False, cold_users: int = 0
) -> tuple[Interactions, np.ndarray, np.ndarray]:
    """The toy problem: (data, group of each user, group of each item).

    Item features are one-hot groups; with ``cold_users`` extra users per group (no
    interactions), user features are one-hot groups as well.
    """
    rng = np.random.default_rng(seed)
    warm_users = np.arange(N_USERS)
    user = np.repeat(warm_users, PER_USER)
    item = np.concatenate(
        [rng.choice(HALF, size=PER_USER, replace=False) + (u % 2) * HALF for u in warm_users]
    )
    item_group = np.arange(2 * HALF) // HALF
    if cold_items:
        item_group = np.concatenate([item_group, np.repeat([0, 1], COLD_PER_GROUP)])
    user_group = np.concatenate([warm_users % 2, np.repeat([0, 1], cold_users)])
    n_items, n_users = len(item_group), len(user_group)

    def one_hot(groups: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix((np.ones(len(groups)), (np.arange(len(groups)), groups)))

    data = Interactions(
        n_users,
        n_items,
        user,
        item,
        item_features=one_hot(item_group),
        user_features=one_hot(user_group) if cold_users else None,
    )
    return data, user_group, item_group


def seen(data: Interactions) -> list[np.ndarray]:
    m = data.matrix()
    return np.split(m.indices, m.indptr[1:-1])


# --- Interactions --------------------------------------------------------------------------


def test_matrix_sums_duplicates_and_weights() -> None:
    data = Interactions(2, 3, np.array([0, 0, 1, 1]), np.array([2, 2, 0, 1]))
    assert data.matrix().toarray().tolist() == [[0, 0, 2], [1, 1, 0]]
    weighted = Interactions(
        2, 3, np.array([0, 0, 1]), np.array([2, 2, 0]), weight=np.array([0.5, 1.0, 0.0])
    )
    m = weighted.matrix()
    assert m.dtype == np.float32
    assert m.toarray().tolist() == [[0, 0, 1.5], [0, 0, 0]]
    assert m.nnz == 1  # a zero total is not stored


@pytest.mark.parametrize(
    "kwargs",
    [
        {"user": np.array([2]), "item": np.array([0])},  # user out of range
        {"user": np.array([0]), "item": np.array([-1])},  # item out of range
        {"user": np.array([0, 1]), "item": np.array([0])},  # lengths differ
        {"user": np.array([0]), "item": np.array([0]), "weight": np.array([-1.0])},
        {"user": np.array([0]), "item": np.array([0]), "item_features": sp.eye(2, format="csr")},
    ],
)
def test_interactions_validates(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Interactions(2, 3, **kwargs)


# --- top_k ---------------------------------------------------------------------------------


def test_top_k_hand_computed() -> None:
    scores = np.array(
        [
            [0.1, 0.9, 0.5, 0.9, 0.3],  # exclude the 0.9 at item 3
            [2.0, 1.0, 1.0, 1.0, 0.0],  # tie across the cut-off: lower index wins
            [0.2, 0.1, 0.3, np.nan, 0.0],  # k larger than what is left; NaN ranks last
            [1.0, 2.0, 3.0, 4.0, 5.0],  # everything excluded
        ],
        dtype=np.float32,
    )
    exclude = [np.array([3]), np.array([2]), np.array([2]), np.arange(5)]
    got = top_k(scores, exclude, 2)
    assert [r.tolist() for r in got] == [[1, 2], [0, 1], [0, 1], []]
    got = top_k(scores, exclude, 10)
    assert [r.tolist() for r in got] == [[1, 2, 4, 0], [0, 1, 3, 4], [0, 1, 4, 3], []]
    assert all(r.dtype == np.int64 for r in got)


def test_top_k_ties_and_empty_exclusions() -> None:
    scores = np.array([[1.0, 1.0, 1.0, 0.0], [0.0, 5.0, 5.0, 5.0]])
    got = top_k(scores, [np.array([], dtype=np.int64)] * 2, 2)
    assert [r.tolist() for r in got] == [[0, 1], [1, 2]]
    assert [r.tolist() for r in top_k(scores, [np.array([])] * 2, 0)] == [[], []]


def test_top_k_matches_a_full_sort() -> None:
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 4, size=(50, 40)).astype(np.float32)  # many ties
    exclude = [rng.choice(40, size=rng.integers(0, 40), replace=False) for _ in range(50)]
    for row, skip, got in zip(scores, exclude, top_k(scores, exclude, 7), strict=True):
        order = np.lexsort((np.arange(40), -row))  # score descending, then index
        expected = order[~np.isin(order, skip)][:7]
        assert got.tolist() == expected.tolist()


def test_top_k_rejects_mismatched_exclusions() -> None:
    with pytest.raises(ValueError):
        top_k(np.zeros((2, 3)), [np.array([0])], 1)


# --- the models ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(FAST))
def test_model_learns_two_groups(name: str) -> None:
    data, user_group, item_group = two_groups(seed=0)
    model = make(name, **FAST[name])
    assert isinstance(model, Recommender)
    assert model.name == name
    model.fit(data, seed=0)
    users = np.arange(data.n_users)
    scores = model.scores(users)
    assert scores.shape == (data.n_users, data.n_items)
    assert scores.dtype == np.float32
    assert np.all(np.isfinite(scores))
    exclude = seen(data)
    ranked = top_k(scores, exclude, 3)
    if name == "popularity":
        counts = np.bincount(data.item, minlength=data.n_items)
        assert np.array_equal(scores, np.tile(counts, (data.n_users, 1)))
        order = np.lexsort((np.arange(data.n_items), -counts))  # most interacted first
        for got, skip in zip(ranked, exclude, strict=True):
            assert got.tolist() == order[~np.isin(order, skip)][:3].tolist()
    else:
        for u, got in zip(users, ranked, strict=True):
            assert np.all(item_group[got] == user_group[u]), (u, got)
    subset = np.array([5, 0, 5])
    assert np.array_equal(model.scores(subset), scores[subset])


@pytest.mark.parametrize("name", ["lightfm-cf", "lightfm-hybrid", "als"])
def test_fit_is_repeatable_with_a_seed(name: str) -> None:
    data, _, _ = two_groups(seed=1)
    runs = []
    for _ in range(2):
        model = make(name, **FAST[name])
        model.fit(data, seed=7)
        runs.append(model.scores(np.arange(data.n_users)))
    np.testing.assert_array_equal(runs[0], runs[1])
    other = make(name, **FAST[name])
    other.fit(data, seed=8)
    assert not np.array_equal(runs[0], other.scores(np.arange(data.n_users)))


def test_hybrid_ranks_cold_items_by_their_features() -> None:
    data, user_group, item_group = two_groups(seed=0, cold_items=True)
    model = make("lightfm-hybrid", **FAST["lightfm-hybrid"])
    model.fit(data, seed=0)
    cold = np.arange(2 * HALF, data.n_items)
    scores = model.scores(np.arange(data.n_users))[:, cold]
    own = item_group[cold][None, :] == user_group[:, None]
    own_scores = np.where(own, scores, np.inf).min(axis=1)
    other_scores = np.where(own, -np.inf, scores).max(axis=1)
    # Every cold item of the user's group above every cold item of the other group, for
    # (nearly) every user; and on average by a clear margin.
    assert np.mean(own_scores > other_scores) >= 0.9
    for g in (0, 1):
        in_group = user_group == g
        assert scores[in_group][:, own[in_group][0]].mean() > (
            scores[in_group][:, ~own[in_group][0]].mean() + 0.1
        )


def test_hybrid_uses_user_features_for_cold_users() -> None:
    data, user_group, item_group = two_groups(seed=0, cold_users=5)
    model = make("lightfm-hybrid", **FAST["lightfm-hybrid"])
    model.fit(data, seed=0)
    cold_users = np.arange(N_USERS, data.n_users)
    ranked = top_k(model.scores(cold_users), [np.array([], dtype=np.int64)] * len(cold_users), 5)
    hits = [
        np.mean(item_group[r] == user_group[u]) for u, r in zip(cold_users, ranked, strict=True)
    ]
    assert np.mean(hits) >= 0.9


def test_names_and_params() -> None:
    assert make("popularity").name == "popularity"
    cf, hybrid = make("lightfm-cf", epochs=5), make("lightfm-hybrid")
    assert isinstance(cf, LightFMRecommender) and isinstance(hybrid, LightFMRecommender)
    assert (cf.name, hybrid.name) == ("lightfm-cf", "lightfm-hybrid")
    assert cf.params["epochs"] == 5 and hybrid.params["no_components"] == 64
    als = make("als", factors=32)
    assert isinstance(als, ALSRecommender)
    assert als.params == {
        "factors": 32,
        "regularization": 0.01,
        "iterations": 15,
        "alpha": 10.0,
        "threads": 2,
    }
    assert isinstance(make("popularity"), Popularity)


def test_make_rejects_unknown_names_and_params() -> None:
    with pytest.raises(ValueError, match="unknown baseline"):
        make("svd")
    with pytest.raises(TypeError):
        make("als", no_components=3)
    with pytest.raises(ValueError):
        make("lightfm-cf", loss="hinge")


@pytest.mark.parametrize("name", ["popularity", "lightfm-cf", "als"])
def test_scores_before_fit_fail(name: str) -> None:
    with pytest.raises(RuntimeError, match="fit"):
        make(name).scores(np.array([0]))


def test_grids_are_small_and_valid() -> None:
    assert set(GRIDS) == {"popularity", "lightfm-cf", "lightfm-hybrid", "als"}
    assert GRIDS["popularity"][0] == {}  # all-time counts, then recency windows
    for name, grid in GRIDS.items():
        assert 4 <= len(grid) <= 8, name
        assert len({tuple(sorted(p.items())) for p in grid}) == len(grid), name
        for params in grid:
            make(name, **params)  # every point is accepted


# --- tune ----------------------------------------------------------------------------------


def held_out(seed: int = 0) -> tuple[Interactions, np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Train on all but two interactions per user; those two are what each user should get."""
    data, _, _ = two_groups(seed=seed)
    order = np.lexsort((np.arange(len(data)), data.user))  # each user's events, in order
    test = np.zeros(len(data), dtype=bool)
    test[order.reshape(N_USERS, PER_USER)[:, :2]] = True
    train = Interactions(data.n_users, data.n_items, data.user[~test], data.item[~test])
    users = np.arange(N_USERS)
    relevant = [data.item[test & (data.user == u)] for u in users]
    return train, users, relevant, seen(train)


def test_tune_returns_a_grid_point_and_a_precision() -> None:
    train, users, relevant, exclude = held_out()
    grid = [
        {"factors": 4, "regularization": 0.1, "threads": 1},
        {"factors": 2, "regularization": 1.0, "iterations": 3, "threads": 1},
    ]
    params, precision = tune("als", train, users, relevant, exclude, k=5, grid=grid)
    assert params in grid
    assert isinstance(precision, float)
    assert 0.0 <= precision <= 1.0
    each = []
    for point in grid:
        model = make("als", **point)
        model.fit(train, seed=0)
        each.append(precision_at_k(top_k(model.scores(users), exclude, 5), relevant, 5))
    assert precision == pytest.approx(max(each))
    assert params == grid[int(np.argmax(each))]


def test_tune_popularity_matches_the_metric() -> None:
    train, users, relevant, exclude = held_out()
    params, precision = tune("popularity", train, users, relevant, exclude, k=3)
    model = Popularity()
    model.fit(train)
    expected = precision_at_k(top_k(model.scores(users), exclude, 3), relevant, 3)
    assert params == {}
    assert precision == pytest.approx(expected)


def test_tune_rejects_unknown_names() -> None:
    train, users, relevant, exclude = held_out()
    with pytest.raises(ValueError):
        tune("svd", train, users, relevant, exclude)


def test_module_stays_free_of_service_dependencies() -> None:
    code = (
        "import sys, numpy as np\n"
        "from models.baselines import make, Interactions\n"
        "d = Interactions(3, 4, np.array([0, 1, 2]), np.array([0, 1, 3]))\n"
        "for n in ('popularity', 'lightfm-hybrid', 'als'):\n"
        "    m = make(n) if n == 'popularity' else make(n, threads=1)\n"
        "    m.fit(d)\n"
        "bad = {'flask', 'sqlalchemy', 'pymilvus', 'celery'} & set(sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_popularity_window_counts_only_the_last_days() -> None:
    day = 86_400.0
    # Item 0: three interactions long ago; item 1: two in the last day; item 2: one, recent.
    data = Interactions(
        n_users=3, n_items=3, user=np.array([0, 1, 2, 0, 1, 2]), item=np.array([0, 0, 0, 1, 1, 2]),
        t=np.array([0, 0, 0, 9.5, 9.6, 9.9]) * day,
    )  # fmt: skip
    all_time, recent = make("popularity"), make("popularity", window_days=1.0)
    all_time.fit(data)
    recent.fit(data)
    assert np.argsort(-all_time.scores(np.array([0]))[0]).tolist() == [0, 1, 2]
    assert np.argsort(-recent.scores(np.array([0]))[0]).tolist() == [1, 2, 0]
    with pytest.raises(ValueError, match="interaction times"):
        make("popularity", window_days=1.0).fit(Interactions(1, 1, [0], [0]))
