"""Recommendations: profile -> UserNet -> Milvus top T (filtered) -> availability in
PostgreSQL -> RankNet -> top k with reasons; a popularity fallback for users without
history. Every stage is timed (the benchmark and /metrics report the shares)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine

from backend.db import catalogue_queries as cq
from backend.db import serving_queries as sq
from backend.services.active_model import ActiveModel, ModelCache
from backend.services.attention import Attention
from backend.services.explain import reasons
from backend.services.indexing import Filters
from backend.vectors.milvus import MilvusStore
from models.inputs import stored_user_matrix, user_matrix, user_width
from models.profiles import DAY, Events, Prior, posterior, rebuild
from models.scoring import rank, user_embedding
from models.trend import TRENDING_CANDIDATES

VIEW, BOOKMARK, CONTACT = 0, 1, 2


class UnknownUser(LookupError):
    pass


class UnknownVehicle(LookupError):
    pass


@dataclass
class Item:
    vehicle_id: str
    title: str | None
    score: float
    features: dict[str, Any]
    reasons: list[str]


@dataclass
class Result:
    items: list[Item]
    model_version: int
    fallback: str | None = None  # why the model was not used ("no-history", ...)
    timings_ms: dict[str, float] = field(default_factory=dict)


class _Clock:
    def __init__(self) -> None:
        self.t, self.laps = time.perf_counter(), {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = self.laps.get(name, 0.0) + (now - self.t) * 1e3
        self.t = now


class Recommender:
    def __init__(self, engine: Engine, store: MilvusStore, models: ModelCache,
                 attention: Attention, *, exclude_viewed: bool = False,
                 overfetch: float = 0.25) -> None:  # fmt: skip
        self.engine, self.store, self.models, self.attention = engine, store, models, attention
        self.exclude_viewed, self.overfetch = exclude_viewed, overfetch
        self._trend_cache: tuple[Any, Any] = (None, None)

    # -- entry points -------------------------------------------------------------------
    def for_user(self, external_id: str, *, k: int, candidates: int, filters: Filters,
                 exclude_viewed: bool | None = None) -> Result:  # fmt: skip
        clock, model = _Clock(), self.models.current()
        with self._reading() as conn:
            return self._for_user(conn, model, clock, external_id, k, candidates, filters,
                                  exclude_viewed)  # fmt: skip

    def _for_user(self, conn: Connection, model: ActiveModel, clock: _Clock, external_id: str,
                  k: int, candidates: int, filters: Filters,
                  exclude_viewed: bool | None) -> Result:  # fmt: skip
        row = sq.user_with_events(conn, external_id)
        if row is None:
            raise UnknownUser(f"no user {external_id!r}")
        events = [(int(v), int(kind), float(t)) for v, kind, t in row.events]
        clock.lap("profile")
        viewed = self.exclude_viewed if exclude_viewed is None else exclude_viewed
        exclude = {v for v, kind, _ in events if kind == CONTACT or viewed}
        space = model.artefact.space
        width = user_width(space.categorical_width, len(space.scalers), space.attribute_width)
        vector = None if row.vector is None else np.frombuffer(row.vector, dtype="<f4")
        if vector is None or not row.event_count or len(vector) != width:
            reason = "no-history" if vector is None or not row.event_count else "stale-profile"
            return self._popular(conn, model, k, filters, exclude, reason, clock)
        user_x = stored_user_matrix(vector[None, :], space)
        history = self._history(model, events)
        return self._ranked(conn, model, user_x, vector, history, exclude, k, candidates,
                            filters, clock)  # fmt: skip

    def for_visitor(self, viewed: Sequence[str], *, k: int, candidates: int,
                    filters: Filters) -> Result:  # fmt: skip
        """An anonymous visitor: a profile built on the fly from the vehicles just viewed."""
        clock, model = _Clock(), self.models.current()
        with self._reading() as conn:
            return self._for_visitor(conn, model, clock, viewed, k, candidates, filters)

    def _for_visitor(self, conn: Connection, model: ActiveModel, clock: _Clock,
                     viewed: Sequence[str], k: int, candidates: int,
                     filters: Filters) -> Result:  # fmt: skip
        found = cq.current_features(conn, list(viewed))  # one round trip for all of them
        missing = [v for v in viewed if v not in found]
        if missing:
            raise UnknownVehicle(f"unknown vehicles: {', '.join(missing[:10])}")
        clock.lap("profile")
        if not viewed:
            return self._popular(conn, model, k, filters, set(), "no-history", clock)
        art, now = model.artefact, self.attention.now_ts
        space = art.space
        prior = Prior.from_dict(art.meta["prior"])
        order = [found[v][0] for v in viewed]
        feats = [found[v][1] for v in viewed]
        events = Events.from_items(space, [0] * len(order), [now] * len(order),
                                   [VIEW] * len(order), feats)  # fmt: skip
        types = np.asarray(model.cfg.type_weights or (1.0, 1.0, 1.0))
        vector = posterior(rebuild(events, 1, now, model.cfg, types), space, prior, model.cfg)
        attrs = np.zeros((1, space.attribute_width), np.float32)
        user_x = user_matrix(vector, attrs)
        history = self._history(model, [(i, VIEW, now) for i in reversed(order)])
        return self._ranked(conn, model, user_x, vector[0], history, set(order), k,
                            candidates, filters, clock)  # fmt: skip

    def similar(self, external_id: str, *, k: int, filters: Filters) -> Result:
        """ItemNet neighbours of a vehicle (available ones only, never itself)."""
        clock, model = _Clock(), self.models.current()
        with self._reading() as conn:
            return self._similar(conn, model, clock, external_id, k, filters)

    def _similar(self, conn: Connection, model: ActiveModel, clock: _Clock, external_id: str,
                 k: int, filters: Filters) -> Result:  # fmt: skip
        row = cq.vehicle_by_external(conn, external_id)
        if row is None or row.features is None:
            raise UnknownVehicle(f"no vehicle {external_id!r}")
        e = model.embed(np.array([row.id]), [row.features])
        clock.lap("profile")
        limit = min(16_384, int((k + 1) * (1 + self.overfetch)) + 10)
        ids, scores = self.store.search(model.collection, e, limit, filter=filters.expression())
        clock.lap("ann")
        keep = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True)
                if i >= 0 and i != row.id]  # fmt: skip
        live = {r.id: r for r in cq.available(conn, [i for i, _ in keep])}
        clock.lap("filter")
        ok = [(live[i], s) for i, s in keep if i in live and filters.matches(live[i].features)]
        items = [Item(r.external_id, r.title, s, r.features, []) for r, s in ok[:k]]
        return Result(items, model.version, None, clock.laps)

    # -- stages -------------------------------------------------------------------------
    def _reading(self) -> Connection:
        """One pooled connection for a whole request, in autocommit: every read is a single
        statement, so no BEGIN / ROLLBACK round trips around them (a request made three
        checkouts, each with a ping and a rollback: half its database time)."""
        return self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def _history(self, model: ActiveModel,
                 events: Sequence[Any]) -> tuple[np.ndarray, np.ndarray] | None:  # fmt: skip
        """The user's recent vehicles as UserNet pools them (latest last, profile weights)."""
        length = model.nets.config.history
        if not length:
            return None
        now = self.attention.now_ts
        recent = [e for e in events if e[2] > now - model.cfg.window_days * DAY][:length]
        recent.reverse()
        items = np.zeros((1, length), np.int64)
        weights = np.zeros((1, length), np.float32)
        if recent:
            idx = model.id_index(np.array([e[0] for e in recent]))
            types = np.asarray(model.cfg.type_weights or (1.0, 1.0, 1.0))
            # Never weigh an event as newer than now (a clock ahead of the attention cache).
            age = np.maximum(now - np.array([e[2] for e in recent]), 0.0) / DAY
            w = types[[e[1] for e in recent]] * np.exp2(-age / model.cfg.half_life_days)
            items[0, -len(recent) :], weights[0, -len(recent) :] = idx, w
        return items, weights

    def _trending(self, conn: Connection, model: ActiveModel) -> tuple[np.ndarray, list[Any]]:
        """The second candidate source, read once per attention refresh: ids, features."""
        days = model.nets.config.trend_days
        if not days:
            return np.zeros(0, np.int64), []
        key = self.attention.stamp
        if self._trend_cache[0] != key:
            picked = self.attention.popular(days, TRENDING_CANDIDATES)
            rows = cq.available(conn, picked)
            ids = np.array([r.id for r in rows], dtype=np.int64)
            self._trend_cache = (key, (ids, [r.features for r in rows]))
        return self._trend_cache[1]

    def _ranked(self, conn: Connection, model: ActiveModel, user_x: np.ndarray, vector: np.ndarray,
                history: tuple[np.ndarray, np.ndarray] | None, exclude: set[int], k: int,
                candidates: int, filters: Filters, clock: _Clock) -> Result:  # fmt: skip
        nets = model.nets
        e_u = user_embedding(nets, user_x, history)
        clock.lap("usernet")
        limit = min(16_384, int(candidates * (1 + self.overfetch)) + len(exclude))
        found, _ = self.store.search(model.collection, e_u, limit, filter=filters.expression())
        clock.lap("ann")
        ids = found[0][(found[0] >= 0) & ~np.isin(found[0], list(exclude))][:candidates]
        t_ids, t_features = self._trending(conn, model)
        extra = [n for n, (v, f) in enumerate(zip(t_ids, t_features, strict=True))
                 if v not in exclude and v not in ids and filters.matches(f)]  # fmt: skip
        ids = np.concatenate([ids, t_ids[extra]])
        # Milvus may not have applied a sale yet: PostgreSQL says what is on sale now.
        live = cq.available_versions(conn, ids.tolist())
        ids = np.array([v for v in ids.tolist() if v in live], dtype=np.int64)
        clock.lap("filter")
        if not len(ids):
            return Result([], model.version, None, clock.laps)
        versions = np.array([live[v] for v in ids.tolist()], dtype=np.int64)
        vectors = model.embed_versions(ids, versions, partial(cq.version_features, conn))
        scores = rank(nets, e_u[0], vectors, self.attention.features(model, ids))
        top = np.argsort(-scores, kind="stable")[:k]
        clock.lap("ranknet")
        rows = {r.id: r for r in cq.available(conn, ids[top].tolist())}
        space = model.artefact.space
        items = [Item(rows[v].external_id, rows[v].title, float(scores[i]), rows[v].features,
                      reasons(space, vector, rows[v].features))
                 for i, v in zip(top, ids[top].tolist(), strict=True) if v in rows]  # fmt: skip
        clock.lap("details")
        return Result(items, model.version, None, clock.laps)

    def _popular(self, conn: Connection, model: ActiveModel, k: int, filters: Filters,
                 exclude: set[int], reason: str, clock: _Clock) -> Result:  # fmt: skip
        """The fallback: the most-interacted available vehicles (recent window first)."""
        days = model.nets.config.trend_days or (7.0,)
        ranked = [v for v in self.attention.popular(days, 20 * k + len(exclude) + 100)
                  if v not in exclude]  # fmt: skip
        live = {r.id: r for r in cq.available(conn, ranked)}
        clock.lap("filter")
        picked = [live[v] for v in ranked if v in live and filters.matches(live[v].features)][:k]
        n = max(len(picked), 1)
        items = [Item(r.external_id, r.title, 1.0 - i / n, r.features, ["popular right now"])
                 for i, r in enumerate(picked)]  # fmt: skip
        return Result(items, model.version, reason, clock.laps)
