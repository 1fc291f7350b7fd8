"""The popularity order serving falls back on: partitioned, equal to a full sort."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.services.attention import most_interacted

counts = st.dictionaries(st.integers(0, 10_000), st.integers(1, 6), max_size=300)


@settings(max_examples=200, deadline=None)
@given(ever=counts, recent=st.dictionaries(st.integers(0, 10_000), st.integers(0, 4)),
       keep=st.integers(1, 50))  # fmt: skip
def test_most_interacted_is_the_sorted_head(ever: dict, recent: dict, keep: int) -> None:
    recent = {v: n for v, n in recent.items() if v in ever}
    want = sorted(ever, key=lambda v: (-recent.get(v, 0), -ever[v], v))[:keep]
    assert most_interacted(ever, recent, keep) == want


def test_most_interacted_prefers_recent_attention() -> None:
    ever = {1: 50, 2: 3, 3: 3, 4: 1}
    assert most_interacted(ever, {4: 2}, 3) == [4, 1, 2]  # 2 and 3 tie: the smaller id
