"""Recent attention per vehicle at serving time: the trend and novelty features RankNet was
trained with (models/trend.py), from the events table, refreshed every few seconds.

"Now" is the latest event's time: on a live marketplace that is seconds ago; on a
historical dataset it is the data's own present, where its windows are not empty."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine

from backend.db import catalogue_queries as cq
from backend.services.active_model import ActiveModel
from models.profiles import DAY


class Attention:
    def __init__(self, engine: Engine, *, ttl_s: float = 10.0) -> None:
        self.engine, self.ttl_s = engine, ttl_s
        self._lock = threading.Lock()
        self._at = -np.inf
        self._last_event_id = 0
        # Counts indexed by vehicle id, replaced (never changed in place) by each refresh, so
        # a request reads one consistent array without a lock.
        self._ever = NONE  # interactions so far
        self._interacted = 0  # vehicles with any
        self._windows: dict[float, np.ndarray] = {}  # window days -> interactions in it
        self._totals: dict[float, int] = {}
        self._ranked: dict[float | None, list[int]] = {}  # per refresh: most-interacted first
        self._refreshing = False
        self.now: datetime | None = None

    def refresh(self, days: tuple[float, ...], *, force: bool = False) -> None:
        """Re-read the counts when older than ``ttl_s``. A request never waits for that
        once there are counts: a stale read starts a background refresh and uses the old
        ones (stale by seconds), so the query's time stays off the request path."""
        have = set(days) <= set(self._windows) and np.isfinite(self._at)
        if have and not force:
            if time.monotonic() - self._at >= self.ttl_s and not self._refreshing:
                self._refreshing = True
                threading.Thread(target=self._read, args=(days,), daemon=True).start()
            return
        self._read(days)

    @property
    def stamp(self) -> float:
        """Changes with every refresh (what caches of derived values key on)."""
        return self._at

    def _read(self, days: tuple[float, ...]) -> None:
        try:
            with self._lock, self.engine.connect() as conn:
                self._advance(conn, days)
        finally:
            self._refreshing = False

    def _advance(self, conn: Connection, days: tuple[float, ...]) -> None:
        """Bring the counts up to the newest event, reading only what changed: the events
        added since the last refresh (a primary-key range) and, when "now" moved, those that
        left a window. Re-counting whole windows took seconds of PostgreSQL time per refresh
        at 8M events, every 10 s in every API process. A window holds the events in
        [now - days, now], now being the latest event's time."""
        last, before = self._last_event_id, self.now
        top, newest = cq.newest_events(conn, last)
        now = max((t for t in (before, newest) if t is not None), default=None)
        wanted = set(days) | set(self._windows)
        if now is None:  # no events yet
            self._publish(top, now, NONE, {d: NONE for d in wanted})
            return
        held = sorted(d for d in wanted if d in self._windows)
        # The first read counts every window in its one pass over all events.
        in_pass = held if last else sorted(wanted)
        ever, windows = self._ever, {d: self._windows.get(d, NONE) for d in wanted}
        if top > last:
            since = [now - timedelta(days=d) for d in in_pass]
            rows = cq.counts_in_ids(conn, last, top, since)
            ids, total = _columns(rows)
            ever = _plus(ever, ids, total)
            for n, d in enumerate(in_pass):
                windows[d] = _plus(windows[d], ids, np.array([r[2 + n] for r in rows], np.int64))
        if before is not None and now > before:
            for d in held:
                gone = cq.counts_in_time(conn, last, before - timedelta(days=d),
                                         now - timedelta(days=d))  # fmt: skip
                windows[d] = _plus(windows[d], *_columns(gone), sign=-1)
        for d in wanted.difference(held, in_pass):  # a window a new model asks for
            counted = cq.counts_in_time(conn, top, now - timedelta(days=d))
            windows[d] = _plus(NONE, *_columns(counted))
        self._publish(top, now, ever, windows)

    def _publish(self, top: int, now: datetime | None, ever: np.ndarray,
                 windows: dict[float, np.ndarray]) -> None:  # fmt: skip
        self._ever, self._last_event_id, self.now = ever, top, now
        self._interacted = int(np.count_nonzero(ever))
        self._windows, self._totals = windows, {d: int(c.sum()) for d, c in windows.items()}
        self._ranked = {}
        self._at = time.monotonic()

    def features(self, model: ActiveModel, vehicle_ids: np.ndarray) -> np.ndarray | None:
        """[n, windows (+ novelty)] as models.trend.Trend computes them, or None when the
        model's RankNet takes none."""
        cfg = model.nets.config
        if not cfg.trend_days and not cfg.novelty:
            return None
        self.refresh(cfg.trend_days)
        n_items = max(len(model.artefact.vehicle_ids), 1)
        cols = []
        for d in cfg.trend_days:
            mean = max(self._totals.get(d, 0), 1) / n_items
            cols.append(np.log1p(self.counts(vehicle_ids, d) / mean))
        if cfg.novelty:
            cols.append(self.counts(vehicle_ids) == 0)
        return np.stack(cols, axis=1).astype(np.float32) if cols else None

    def counts(self, vehicle_ids: np.ndarray | Sequence[int], days: float | None = None,
               ) -> np.ndarray:  # fmt: skip
        """The vehicles' interactions in the window of ``days`` (as last refreshed), or all
        of them when None."""
        held = self._ever if days is None else self._windows.get(days, NONE)
        return counts_at(held, vehicle_ids)

    def popular(self, days: tuple[float, ...], n: int) -> list[int]:
        """The ``n`` vehicles with most interactions in the first window (ties, and without
        a window: all-time counts)."""
        self.refresh(days)
        window = days[0] if days else None
        ranked = self._ranked.get(window)
        if ranked is None or len(ranked) < min(n, self._interacted):
            # Sorted once per refresh, not per request: the catalogue can be millions.
            recent = self._windows.get(window, NONE) if window else NONE
            ranked = most_interacted(self._ever, recent, max(n, 2048))
            self._ranked = {**self._ranked, window: ranked}
        return ranked[:n]

    @property
    def now_ts(self) -> float:
        return self.now.timestamp() if self.now is not None else time.time()


NONE = np.zeros(0, np.int64)


def _columns(rows: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    return (np.array([r[0] for r in rows], np.int64), np.array([r[1] for r in rows], np.int64))


def _plus(counts: np.ndarray, ids: np.ndarray, n: np.ndarray, *, sign: int = 1) -> np.ndarray:
    """A new array: ``counts`` with ``sign * n`` added at the (distinct) ``ids``."""
    if not len(ids):
        return counts
    out = np.zeros(max(len(counts), int(ids.max()) + 1), np.int64)
    out[: len(counts)] = counts
    out[ids] += sign * n
    return out


def counts_at(counts: np.ndarray, ids: np.ndarray | Sequence[int]) -> np.ndarray:
    """``counts`` at ``ids``, 0 for ids beyond it (vehicles nobody interacted with)."""
    ids = np.asarray(ids, np.int64)
    out = np.zeros(len(ids), np.int64)
    inside = ids < len(counts)
    out[inside] = counts[ids[inside]]
    return out


def most_interacted(ever: np.ndarray, recent: np.ndarray, keep: int) -> list[int]:
    """The ``keep`` vehicles first by ``recent`` interactions, then all-time ones (``ever``),
    then id; both indexed by vehicle id, vehicles never interacted with left out. A partition,
    then a sort of the kept few (the catalogue can be millions)."""
    ids = np.flatnonzero(ever)
    total = ever[ids]
    now = counts_at(recent, ids)
    if len(ids) > keep:
        score = now * (int(total.max()) + 1) + total
        cut = np.partition(score, len(score) - keep)[len(score) - keep]
        part = score >= cut  # ties at the cut all stay, so ids break them below
        ids, total, now = ids[part], total[part], now[part]
    return ids[np.lexsort((ids, -total, -now))][:keep].tolist()


__all__ = ["DAY", "Attention", "counts_at", "most_interacted"]
