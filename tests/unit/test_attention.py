"""The popularity order serving falls back on: partitioned, equal to a full sort."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.services.attention import counts_at, most_interacted

counts = st.dictionaries(st.integers(0, 10_000), st.integers(1, 6), max_size=300)


@settings(max_examples=200, deadline=None)
@given(ever=counts, recent=st.dictionaries(st.integers(0, 10_000), st.integers(0, 4)),
       keep=st.integers(1, 50))  # fmt: skip
def test_most_interacted_is_the_sorted_head(ever: dict, recent: dict, keep: int) -> None:
    recent = {v: n for v, n in recent.items() if v in ever}
    want = sorted(ever, key=lambda v: (-recent.get(v, 0), -ever[v], v))[:keep]
    assert most_interacted(_array(ever), _array(recent), keep) == want


def _array(counts: dict[int, int]) -> np.ndarray:
    """Counts indexed by vehicle id, as Attention holds them."""
    out = np.zeros(max(counts, default=-1) + 1, np.int64)
    out[list(counts)] = list(counts.values())
    return out


def test_most_interacted_prefers_recent_attention() -> None:
    ever = {1: 50, 2: 3, 3: 3, 4: 1}
    assert most_interacted(_array(ever), _array({4: 2}), 3) == [4, 1, 2]  # 2, 3 tie: smaller id


def test_counts_beyond_the_array_are_zero() -> None:
    assert counts_at(_array({2: 5, 4: 1}), [4, 2, 0, 9, 100]).tolist() == [1, 5, 0, 0, 0]
