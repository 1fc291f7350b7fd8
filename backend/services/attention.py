"""Recent attention per vehicle at serving time: the trend and novelty features RankNet was
trained with (models/trend.py), from the events table, refreshed every few seconds.

"Now" is the latest event's time: on a live marketplace that is seconds ago; on a
historical dataset it is the data's own present, where its windows are not empty."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import Engine

from backend.db import catalogue_queries as cq
from backend.services.active_model import ActiveModel
from models.profiles import DAY


class Attention:
    def __init__(self, engine: Engine, *, ttl_s: float = 10.0) -> None:
        self.engine, self.ttl_s = engine, ttl_s
        self._lock = threading.Lock()
        self._at = -np.inf
        self._last_event_id = 0
        self._ever: dict[int, int] = {}  # vehicle -> interactions so far (incremental)
        self._windows: dict[float, dict[int, int]] = {}  # window days -> vehicle -> count
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
                now = cq.latest_event(conn)
                counted, top = cq.interacted_since(conn, self._last_event_id)
                ever = dict(self._ever)
                for vehicle, n in counted:
                    ever[vehicle] = ever.get(vehicle, 0) + n
                windows, totals = {}, {}
                for d in set(days) | set(self._windows):
                    rows = (
                        [] if now is None else cq.recent_counts(conn, now - timedelta(days=d), now)
                    )
                    windows[d] = dict(rows)
                    totals[d] = sum(n for _, n in rows)
                self._ever, self._last_event_id = ever, top
                self._windows, self._totals, self.now = windows, totals, now
                self._ranked = {}
                self._at = time.monotonic()
        finally:
            self._refreshing = False

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
            counts = self._windows.get(d, {})
            mean = max(self._totals.get(d, 0), 1) / n_items
            cols.append(np.log1p(np.array([counts.get(int(v), 0) for v in vehicle_ids]) / mean))
        if cfg.novelty:
            cols.append(np.array([self._ever.get(int(v), 0) == 0 for v in vehicle_ids]))
        return np.stack(cols, axis=1).astype(np.float32) if cols else None

    def popular(self, days: tuple[float, ...], n: int) -> list[int]:
        """The ``n`` vehicles with most interactions in the first window (ties, and without
        a window: all-time counts)."""
        self.refresh(days)
        window = days[0] if days else None
        ranked = self._ranked.get(window)
        if ranked is None or len(ranked) < min(n, len(self._ever)):
            # Sorted once per refresh, not per request: the catalogue can be millions.
            recent = self._windows.get(window, {}) if window else {}
            ranked = most_interacted(self._ever, recent, max(n, 2048))
            self._ranked = {**self._ranked, window: ranked}
        return ranked[:n]

    @property
    def now_ts(self) -> float:
        return self.now.timestamp() if self.now is not None else time.time()


def most_interacted(ever: dict[int, int], recent: dict[int, int], keep: int) -> list[int]:
    """The ``keep`` vehicles first by ``recent`` interactions, then all-time ones (``ever``),
    then id: a partition, then a sort of the kept few (the catalogue can be millions)."""
    ids = np.fromiter(ever, np.int64, len(ever))
    total = np.fromiter(ever.values(), np.int64, len(ever))
    now = np.array([recent.get(v, 0) for v in ids.tolist()], np.int64)
    if len(ids) > keep:
        score = now * (int(total.max()) + 1) + total
        cut = np.partition(score, len(score) - keep)[len(score) - keep]
        part = score >= cut  # ties at the cut all stay, so ids break them below
        ids, total, now = ids[part], total[part], now[part]
    return ids[np.lexsort((ids, -total, -now))][:keep].tolist()


__all__ = ["DAY", "Attention", "most_interacted"]
