"""Profile rebuild: events in the window (with the features each vehicle had then) ->
Bayesian profiles (models/profiles.py) -> ``user_profiles``."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, text

from backend.db import profile_queries as q
from backend.settings import Settings
from models.features import OTHER, FeatureSpace, describe_continuous
from models.inputs import attribute_matrix
from models.profiles import (
    EVENT_TYPES,
    Events,
    Prior,
    ProfileConfig,
    ProfileStats,
    advance,
    expiring,
    global_prior,
    posterior,
    rebuild,
    type_weights_from_counts,
    with_types,
)
from models.schema import FeatureSchema

TOP = 3  # categories per feature in the readable summary


@dataclass
class RebuildResult:
    users: int
    users_with_events: int
    events: int
    as_of: datetime
    type_weights: tuple[float, ...]
    seconds: float


def summaries(
    vectors: np.ndarray, space: FeatureSpace, counts: np.ndarray,
    attributes: Sequence[dict | None] | None = None,
) -> list[dict]:  # fmt: skip
    """Per user: top categories with probabilities (a list: jsonb does not keep key order,
    and the order is the point), continuous mean ± std in their units and, where the space
    has user attributes, the user's own. Vectorised over users; only the final small dicts
    are built per user."""
    tops = []
    for start, vocab in zip(space.offsets(), space.vocabularies, strict=True):
        probs = vectors[:, start : start + vocab.size]
        order = np.argsort(-probs, axis=1)[:, : TOP + 1]  # one spare in case OTHER is there
        names = np.asarray(vocab.values, dtype=object)[order].tolist()
        values = np.round(np.take_along_axis(probs, order, axis=1).astype(np.float64), 3)
        tops.append((vocab.name, names, values.tolist()))
    c, k = space.categorical_width, len(space.scalers)
    ranges = []
    for j, s in enumerate(space.scalers):
        mean, std = describe_continuous(s, vectors[:, c + j], vectors[:, c + k + j])
        ranges.append((s.name, np.round(mean, 2).tolist(), np.round(std, 2).tolist()))
    counts_list = counts.astype(np.int64).tolist()
    named = [v.name for v in space.user_vocabularies] + [s.name for s in space.user_scalers]
    docs = [
        {
            "events": counts_list[n],
            "categories": {
                name: [[v, p] for v, p in zip(names[n], values[n], strict=True) if v != OTHER][:TOP]
                for name, names, values in tops
            },
            "ranges": {name: {"mean": m[n], "std": sd[n]} for name, m, sd in ranges},
        }
        for n in range(len(vectors))
    ]
    if named and attributes is not None:
        for doc, attrs in zip(docs, attributes, strict=True):
            given = attrs or {}
            doc["attributes"] = {k: given[k] for k in named if k in given}
    return docs


def profile_config(settings: Settings) -> ProfileConfig:
    return ProfileConfig(
        alpha=settings.profile_alpha,
        shrink=settings.profile_shrink,
        half_life_days=settings.profile_half_life_days,
        window_days=settings.profile_window_days,
        type_weights=settings.profile_type_weights,
    )


STAT_PARTS = ("cat", "w", "x", "xx")


def pack_stats(stats: ProfileStats, n: int) -> bytes:
    return np.concatenate([getattr(stats, k)[n] for k in STAT_PARTS]).astype("<f8").tobytes()


def unpack_stats(blob: bytes, space: FeatureSpace) -> list[np.ndarray]:
    flat = np.frombuffer(blob, dtype="<f8")
    c, k = space.categorical_width, len(space.scalers)
    return [flat[:c], flat[c : c + k], flat[c + k : c + 2 * k], flat[c + 2 * k : c + 3 * k]]


def rebuild_profiles(
    engine: Engine,
    schema: FeatureSchema,
    *,
    as_of: datetime | None = None,
    cfg: ProfileConfig | None = None,
) -> RebuildResult:
    started = time.perf_counter()
    cfg = cfg or ProfileConfig()
    with engine.connect() as conn:
        as_of = as_of or q.latest_event_time(conn) or datetime.now(UTC)
        users, attributes = q.users(conn)
        cols = q.window_columns(conn, as_of - timedelta(days=cfg.window_days), as_of)
        # One sort gives the distinct versions and each event's position among them.
        version_ids, version_pos = np.unique(
            np.asarray(cols.version_ids, dtype=np.int64), return_inverse=True
        )
        catalogue, versions = q.versions(conn, version_ids.tolist())
    space = FeatureSpace.fit(schema, catalogue, users=attributes)
    index = {uid: n for n, uid in enumerate(users)}
    events = Events(
        np.searchsorted(np.asarray(users), np.asarray(cols.user_ids, dtype=np.int64)),
        np.asarray(cols.ats, dtype=np.float64),
        np.asarray(cols.kinds, dtype=np.int64),
        version_pos.reshape(-1),
        space.encode([versions[int(i)] for i in version_ids]),
    )
    types = (
        np.asarray(cfg.type_weights)
        if cfg.type_weights
        else type_weights_from_counts(np.bincount(events.kind, minlength=len(EVENT_TYPES)))
    )
    cfg = with_types(cfg, types)
    stats = rebuild(events, len(users), as_of.timestamp(), cfg, types)
    prior = global_prior(events, space)
    vectors = posterior(stats, space, prior, cfg)
    texts = [json.dumps(doc) for doc in summaries(vectors, space, stats.count, attributes)]
    # Stored as the profile followed by the user's encoded attributes (stored_user_matrix).
    vectors = np.concatenate([vectors, attribute_matrix(space, attributes)], axis=1)
    with engine.begin() as conn:
        space_id = q.save_space(conn, schema.name, space.to_dict(), prior.to_dict(), asdict(cfg))
        q.replace_profiles(
            conn,
            (
                (uid, space_id, as_of, int(stats.count[n]), float(stats.weight[n]),
                 vectors[n].astype("<f4").tobytes(), pack_stats(stats, n), texts[n])
                for uid, n in index.items()
            ),
        )  # fmt: skip
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # The rebuild replaced every row: reclaim the old ones now rather than leave
        # incremental updates and readers to step over them until autovacuum comes.
        conn.execute(text("VACUUM (ANALYZE) user_profiles"))
    return RebuildResult(
        users=len(users),
        users_with_events=int((stats.count > 0).sum()),
        events=len(events),
        as_of=as_of,
        type_weights=tuple(round(float(t), 3) for t in types),
        seconds=time.perf_counter() - started,
    )


_SPACES: dict[tuple[str, int], tuple[FeatureSpace, Prior, ProfileConfig]] = {}


def _space(conn: Connection, space_id: int) -> tuple[FeatureSpace, Prior, ProfileConfig]:
    """Feature spaces never change once stored, so each process parses one only once (per
    database: ids are only unique within one)."""
    key = (conn.engine.url.render_as_string(), space_id)
    if key not in _SPACES:
        found = q.feature_space(conn, space_id)
        prior = Prior.from_dict(found.prior)
        config = {**found.config, "type_weights": tuple(found.config["type_weights"])}
        _SPACES[key] = (FeatureSpace.from_dict(found.space), prior, ProfileConfig(**config))
    return _SPACES[key]


def update_profile(
    engine: Engine, user: str, *, as_of: datetime | None = None, attempts: int = 5
) -> dict | None:
    """Bring one stored profile up to date with the user's new (and late-arriving) events,
    without a rebuild: decay, add, expire (models.profiles.advance). None if the user has
    no stored profile yet (a rebuild creates it).

    Two statements under autocommit (a read, a guarded write) instead of a transaction: no
    BEGIN/COMMIT round trips and no row lock held while Python computes. A concurrent
    update of the same user makes the write miss, and the whole step runs again."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for _ in range(attempts):
            row = q.profile_with_events(conn, user, as_of)
            if row is None:
                return None
            update, summary = _moved(conn, row)
            if q.update_profile_row(conn, update, seen=row.updated_at):
                return summary
    raise RuntimeError(f"profile of user {user!r} kept changing under {attempts} attempts")


def _moved(conn: Connection, row: Any) -> tuple[dict, dict]:
    """The profile in ``row`` moved to ``row.new_as_of``: the row to write, its summary."""
    space, prior, cfg = _space(conn, row.space_id)
    types = np.asarray(cfg.type_weights)
    old, new = row.as_of, row.new_as_of
    found = row.events
    events = Events.from_items(
        space, [0] * len(found), [e[0] for e in found], [e[1] for e in found],
        [e[3] for e in found],
    )  # fmt: skip
    # Counted before: in the old window and already received when the profile was saved.
    mask = np.array([e[2] for e in found], dtype=bool)
    before = events.select(mask)
    stats = advance(
        ProfileStats(
            old.timestamp(),
            *(part[None, :] for part in unpack_stats(row.stats, space)),
            np.array([float(row.event_count)]),
            np.array([row.total_weight]),
        ),
        new.timestamp(),
        events.select(~mask),
        expiring(before, old.timestamp(), new.timestamp(), cfg),
        cfg,
        types,
    )
    vector = posterior(stats, space, prior, cfg)[0]
    summary = summaries(vector[None, :], space, stats.count, [row.attributes])[0]
    vector = np.concatenate([vector, attribute_matrix(space, [row.attributes])[0]])
    update = {
        "user_id": row.user_id,
        "as_of": new,
        "read_at": row.read_at,
        "event_count": round(float(stats.count[0])),
        "total_weight": float(stats.weight[0]),
        "vector": vector.astype("<f4").tobytes(),
        "stats": pack_stats(stats, 0),
        "summary": json.dumps(summary),
    }
    return update, summary


def refresh_profiles(engine: Engine, *, limit: int = 50_000) -> dict[str, int]:
    """Every stored profile with events received since it was written, updated in place
    (what beat runs every few minutes; events posted to the API update at once). Users
    without a stored profile wait for the next rebuild."""
    with engine.connect() as conn:
        users = list(conn.execute(text(
            "SELECT DISTINCT u.external_id FROM events e"
            " JOIN user_profiles p ON p.user_id = e.user_id JOIN users u ON u.id = e.user_id"
            " WHERE e.received_at > p.updated_at"
            " AND e.received_at > (SELECT min(updated_at) FROM user_profiles) LIMIT :n"
        ), {"n": limit}).scalars())  # fmt: skip
    updated = sum(update_profile(engine, user) is not None for user in users)
    return {"stale": len(users), "updated": updated}
