"""Serving's attention counts, kept incrementally, equal a count from scratch after every
refresh: new events, late ones, time moving on (events leave a window), a new window."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import Engine, text

from backend.services.attention import Attention

T0 = datetime(2024, 3, 1, tzinfo=UTC)
VEHICLES = np.arange(1, 61)


def _insert(engine: Engine, events: list[tuple[int, datetime]], log: list) -> None:
    rows = [{"u": 1, "v": v, "t": t, "k": f"e{len(log) + n}"} for n, (v, t) in enumerate(events)]
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO events (user_id, vehicle_id, type, occurred_at,"
                          " idempotency_key) VALUES (:u, :v, 'view', :t, :k)"), rows)  # fmt: skip
    log.extend(events)


def _expected(log: list[tuple[int, datetime]], days: float | None) -> np.ndarray:
    now = max(t for _, t in log)
    since = now - timedelta(days=days) if days is not None else datetime.min.replace(tzinfo=UTC)
    counts = np.zeros(VEHICLES.max() + 1, np.int64)
    for v, t in log:
        counts[v] += since <= t <= now
    return counts[VEHICLES]


def _burst(rng: random.Random, n: int, start: datetime, days: float) -> list:
    """Events spread over ``days`` from ``start``, in no particular order."""
    return [(rng.choice(VEHICLES.tolist()), start + timedelta(days=rng.uniform(0, days)))
            for _ in range(n)]  # fmt: skip


def _assert_counts(attention: Attention, log: list, windows: tuple[float, ...]) -> None:
    attention.refresh(windows, force=True)
    assert attention.now == max(t for _, t in log)
    for days in (*windows, None):
        assert attention.counts(VEHICLES, days).tolist() == _expected(log, days).tolist(), days
    fresh = Attention(attention.engine)  # the same counts from scratch
    fresh.refresh(windows, force=True)
    for days in (*windows, None):
        assert fresh.counts(VEHICLES, days).tolist() == attention.counts(VEHICLES, days).tolist()


def test_incremental_counts_equal_a_count_from_scratch(engine: Engine) -> None:
    rng, log = random.Random(7), []
    attention = Attention(engine, ttl_s=3600)
    attention.refresh((1.0, 7.0), force=True)  # no events yet
    assert attention.now is None and attention.counts(VEHICLES, 7.0).sum() == 0
    _insert(engine, _burst(rng, 400, T0, 20), log)
    _assert_counts(attention, log, (1.0, 7.0))
    # Three days later: new events, a late one inside the week and one before it.
    later = _burst(rng, 150, T0 + timedelta(days=20), 3)
    late = [(5, T0 + timedelta(days=19)), (6, T0 + timedelta(days=2))]
    _insert(engine, later + late, log)
    _assert_counts(attention, log, (1.0, 7.0))
    assert attention.counts([6], None)[0] == _expected(log, None)[5]
    # Nothing new: nothing moves.
    before = attention.counts(VEHICLES, 7.0).tolist()
    _assert_counts(attention, log, (1.0, 7.0))
    assert attention.counts(VEHICLES, 7.0).tolist() == before
    # Only time moves (one event far ahead): the whole week empties but for it.
    _insert(engine, [(9, T0 + timedelta(days=60))], log)
    _assert_counts(attention, log, (1.0, 7.0))
    assert attention.counts(VEHICLES, 7.0).sum() == 1
    # A model with another window: counted once, then kept like the others.
    _insert(engine, _burst(rng, 100, T0 + timedelta(days=50), 10), log)
    _assert_counts(attention, log, (1.0, 7.0, 30.0))
    assert attention.popular((7.0,), 3) == sorted(
        VEHICLES.tolist(), key=lambda v: (-_expected(log, 7.0)[v - 1],
                                          -_expected(log, None)[v - 1], v))[:3]  # fmt: skip
