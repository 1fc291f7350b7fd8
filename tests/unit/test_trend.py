"""Recent popularity and novelty: known counts, no look-ahead, and RankNet's use of them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.nets import NetConfig, Nets
from models.trend import DAY, Trend

# Item 0 seen on days 1, 2, 2 and 9; item 1 on day 8; item 2 never.
ITEM = np.array([0, 0, 0, 0, 1])
T = np.array([1, 2, 2, 9, 8]) * DAY


def test_counts_in_the_window_before_t_relative_to_the_mean_item() -> None:
    trend = Trend(ITEM, T, n_items=3, windows_days=(3.0, 100.0))
    got = trend.features(np.array([0, 1, 2]), 9.5 * DAY)
    # Last 3 days (6.5, 9.5]: item 0 once, item 1 once -> 2 events, mean 2/3 per item.
    np.testing.assert_allclose(got[:, 0], np.log1p(np.array([1, 1, 0]) / (2 / 3)), rtol=1e-6)
    # Whole history: 4, 1, 0 of 5 events.
    np.testing.assert_allclose(got[:, 1], np.log1p(np.array([4, 1, 0]) / (5 / 3)), rtol=1e-6)


def test_an_interaction_never_counts_itself_or_later_ones() -> None:
    trend = Trend(ITEM, T, n_items=3, windows_days=(30.0,))
    at_own_time = trend.features(ITEM, T)[:, 0]
    # Item 0 at day 2: only the day-1 event is before it (not the two at day 2 itself).
    assert at_own_time[1] == pytest.approx(np.log1p(1 / (1 / 3)))
    assert at_own_time[0] == 0.0  # nothing before the first event
    assert trend.features(np.array([0]), 0.0)[0, 0] == 0.0  # before the timeline
    far = trend.features(np.array([0]), 1000 * DAY)[0, 0]  # long after: the window is empty
    assert far == 0.0


def test_novelty_marks_items_without_any_interaction_before_t() -> None:
    trend = Trend(ITEM, T, n_items=3, windows_days=(3.0,), novelty=True)
    assert trend.width == 2
    # Day 5: item 0 has been opened (days 1, 2), item 1 not yet (day 8), item 2 never.
    assert trend.features(np.array([0, 1, 2]), 5 * DAY)[:, 1].tolist() == [0.0, 1.0, 1.0]
    # Day 8.5: item 1 no longer new; at its own interaction (day 8) it still was.
    assert trend.features(np.array([0, 1, 2]), 8.5 * DAY)[:, 1].tolist() == [0.0, 0.0, 1.0]
    assert trend.features(np.array([1]), 8 * DAY)[0, 1] == 1.0
    only = Trend(ITEM, T, n_items=3, windows_days=(), novelty=True)  # novelty without windows
    assert only.features(np.array([0, 2]), 30 * DAY).tolist() == [[0.0], [1.0]]


def test_ranknet_adds_the_novelty_weight_and_old_artefacts_load() -> None:
    cfg = NetConfig(user_width=3, item_width=3, dim=4, hidden=(8,), trend_days=(7.0,),
                    novelty=True)  # fmt: skip
    nets = Nets(cfg)
    nets.train(False)
    e = torch.nn.functional.normalize(torch.randn(2, 4), dim=-1)
    old, new = torch.tensor([[0.5, 0.0]] * 2), torch.tensor([[0.5, 1.0]] * 2)
    before = nets.rank(e, e, new) - nets.rank(e, e, old)
    nets.rank.novelty_weight.fill_(3.0)
    nets.rank.trend_weight.fill_(5.0)  # the trend feature is equal: no effect on the gap
    after = nets.rank(e, e, new) - nets.rank(e, e, old)
    torch.testing.assert_close(after - before, torch.full((2,), 3.0))
    # A state saved before novelty existed (no novelty_weight) loads, with weight 0.
    plain = Nets(NetConfig(user_width=3, item_width=3, dim=4, hidden=(8,), trend_days=(7.0,)))
    state = plain.state_dict()
    del state["rank"]["novelty_weight"]
    plain.load_state_dict(state)
    assert float(plain.rank.novelty_weight) == 0.0


def test_ranknet_with_trend_needs_it_and_adds_its_weight() -> None:
    nets = Nets(NetConfig(user_width=3, item_width=3, dim=4, hidden=(8,), trend_days=(7.0,)))
    nets.train(False)
    e = torch.nn.functional.normalize(torch.randn(2, 4), dim=-1)
    with pytest.raises(ValueError, match="trend"):
        nets.rank(e, e)
    low, high = torch.zeros(2, 1), torch.ones(2, 1)
    before = nets.rank(e, e, high) - nets.rank(e, e, low)
    nets.rank.trend_weight.fill_(2.0)
    after = nets.rank(e, e, high) - nets.rank(e, e, low)
    torch.testing.assert_close(after - before, torch.full((2,), 2.0))
    # The weight is part of the state, so artefacts carry it.
    assert float(nets.state_dict()["rank"]["trend_weight"]) == 2.0


def test_trending_candidates_join_the_retrieved_ones() -> None:
    from models.scoring import top_k
    from models.trend import trending

    now = np.array([[0.0], [3.0], [1.0], [2.0]], dtype=np.float32)
    assert trending(now, 2).tolist() == [1, 3]
    assert trending(now, 9, allowed=np.array([True, False, True, True])).tolist() == [3, 2]
    nets = Nets(NetConfig(user_width=3, item_width=3, dim=2, hidden=(4,), trend_days=(7.0,)))
    e_items = np.array([[1, 0], [0, 1], [0, 1], [0, 1]], dtype=np.float32)
    e_u = np.array([[1, 0]], dtype=np.float32)  # nearest: item 0 only
    _, retrieved = top_k(nets, e_u, e_items, [np.array([], np.int64)], k=1, candidates=1,
                         trend=now, always=np.array([1, 3]))  # fmt: skip
    assert sorted(retrieved[0].tolist()) == [0, 1, 3]
    _, retrieved = top_k(nets, e_u, e_items, [np.array([1])], k=1, candidates=1, trend=now,
                         always=np.array([1, 3]))  # fmt: skip
    assert 1 not in retrieved[0] and {0, 3} <= set(retrieved[0].tolist())  # seen stays out


def test_retrieved_candidates_do_not_hold_the_score_matrix() -> None:
    """The candidate stage is cached across calibrations: each chunk must own only its
    [users, T] candidates, not a view into the [users, items] partition (4 GB at scale)."""
    from models.scoring import retrieve

    rng = np.random.default_rng(0)
    e_items = rng.normal(size=(1_000, 4)).astype(np.float32)
    e_u = rng.normal(size=(30, 4)).astype(np.float32)
    chunks = retrieve(e_u, e_items, [np.array([], np.int64)] * 30, candidates=5, chunk_cells=10_000)
    assert len(chunks) == 3
    for c in chunks:
        assert c.cand.shape == (10, 5) and c.cand.base is None
        exact = np.argsort(-(e_u[c.start : c.start + 10] @ e_items.T), axis=1)[:, :5]
        assert (np.sort(c.cand, axis=1) == np.sort(exact, axis=1)).all()
