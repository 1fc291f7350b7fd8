"""Training job: events and catalogue from the store -> examples without leakage -> joint
training (models/train.py) -> artefact on disk -> a ``model_versions`` row.

The model uses the feature space (and profile prior and settings) of the stored profiles, so
the profiles the API reads are the inputs UserNet was trained on. Before the first rebuild it
fits a space itself and saves it.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine

from backend.db import profile_queries as pq
from backend.db import registry
from backend.db import training_queries as tq
from backend.settings import Settings
from models import checkpoint
from models.features import FeatureSpace
from models.inputs import attribute_matrix, item_matrix, user_matrix
from models.metrics import precision_at_k
from models.profiles import (
    EVENT_TYPES,
    Events,
    Prior,
    ProfileConfig,
    global_prior,
    posterior,
    posteriors_before,
    rebuild,
    recent_items,
    type_weights_from_counts,
    with_types,
)
from models.sampling import Availability
from models.schema import FeatureSchema, load_schema
from models.train import Holdout, TrainingSet, train
from workers.jobs.profiles import profile_config

# Validation ranks every vehicle for every user: a few thousand users pin the mean down.
MAX_VALIDATION_USERS = 3_000


@dataclass
class TrainJobResult:
    version: int
    artefact: Path
    examples: int
    validation_users: int
    metrics: dict[str, float]
    seconds: float


@dataclass
class Prepared:
    data: TrainingSet
    validation: Holdout
    space: FeatureSpace
    space_id: int
    prior: Prior
    cfg: ProfileConfig
    vehicle_ids: np.ndarray
    trained_from: datetime
    val_start: datetime
    trained_to: datetime
    popularity: np.ndarray  # [J] training interactions per vehicle
    user_ids: np.ndarray  # [U] store id per user index
    events: Events  # every event up to ``until`` (user index, time, type, version row)
    event_item: np.ndarray  # [E] vehicle index per event
    split: float  # unix time: training events are at or before it, validation after
    attributes: np.ndarray  # [U, A] encoded user attributes (A = 0 where the data has none)


# A feature space with its id, profile prior and profile settings: how inputs are encoded.
Space = tuple[FeatureSpace, int, Prior, ProfileConfig]


def _space(
    engine: Engine, schema: FeatureSchema, cfg: ProfileConfig, cat: tq.CatalogueVersions,
    events: Events, fitting: np.ndarray, attributes: list[dict], fixed: Space | None = None,
) -> Space:  # fmt: skip
    """The ``fixed`` space, else the stored profiles' space, else a new one fitted on the
    catalogue and the users' ``attributes`` with the prior of the ``fitting`` events (those
    before the validation split). Sets ``events.table``."""
    if fixed is not None:
        events.table = fixed[0].encode(cat.features)
        return fixed
    with engine.connect() as conn:
        stored = tq.profile_space(conn)
    if stored is not None:
        space = FeatureSpace.from_dict(stored.space)
        events.table = space.encode(cat.features)
        prior = Prior.from_dict(stored.prior)
        config = {**stored.config, "type_weights": tuple(stored.config["type_weights"])}
        return space, int(stored.id), prior, ProfileConfig(**config)
    space = FeatureSpace.fit(schema, [cat.features[r] for r in cat.current_row], users=attributes)
    events.table = space.encode(cat.features)
    earlier = events.select(fitting)
    types = (
        np.asarray(cfg.type_weights)
        if cfg.type_weights
        else type_weights_from_counts(np.bincount(earlier.kind, minlength=len(EVENT_TYPES)))
    )
    cfg = with_types(cfg, types)
    prior = global_prior(earlier, space)
    with engine.begin() as conn:
        space_id = pq.save_space(
            conn, schema.name, space.to_dict(),
            prior.to_dict(),
            asdict(cfg),
        )  # fmt: skip
    return space, space_id, prior, cfg


def _segments(space: FeatureSpace, table_rows: np.ndarray) -> np.ndarray:
    """Segment of each vehicle for hard negatives: its value of the first vocabulary."""
    if not space.vocabularies:
        return np.zeros(len(table_rows), np.int64)
    block = table_rows[:, : space.vocabularies[0].size]
    return np.where(block.max(axis=1) > 0, block.argmax(axis=1), -1).astype(np.int64)


def prepare(
    engine: Engine,
    schema: FeatureSchema,
    cfg: ProfileConfig,
    *,
    val_fraction: float = 0.1,
    max_examples: int = 2_000_000,
    until: datetime | None = None,
    history: int = 50,
    space: Space | None = None,
) -> Prepared:
    """Examples from every event up to ``until`` (default: the latest): training on the
    earlier events, validation users on the last ``val_fraction`` of them (by time).
    ``space``: encode in this one (an older model's) instead of the stored profiles'."""
    with engine.connect() as conn:
        first, last = tq.event_bounds(conn)
        if first is None:
            raise ValueError("no events in the store: import some before training")
        last = until or last
        cols = pq.window_columns(conn, first - timedelta(seconds=1), last)
        cat = tq.catalogue_versions(conn)
        users, user_index = np.unique(np.asarray(cols.user_ids, np.int64), return_inverse=True)
        attributes = tq.user_attributes(conn, users.tolist())
    order = np.argsort(cat.version_ids)
    rows = order[np.searchsorted(cat.version_ids[order], np.asarray(cols.version_ids, np.int64))]
    events = Events(user_index.reshape(-1), np.asarray(cols.ats, np.float64),
                    np.asarray(cols.kinds, np.int64), rows, None)  # type: ignore[arg-type]  # fmt: skip
    # The split is a quantile of event times, not of the calendar: a few stray early events
    # (Taobao has some weeks before the rest) must not push the whole log into validation.
    split = float(np.quantile(events.t, 1 - val_fraction)) if len(events) else last.timestamp()
    train_mask = events.t <= split
    space, space_id, prior, cfg = _space(engine, schema, cfg, cat, events, train_mask, attributes,
                                         space)  # fmt: skip
    user_attrs = attribute_matrix(space, attributes)  # [U, A]: UserNet sees them after the profile
    types = np.asarray(cfg.type_weights)
    items = cat.version_vehicle[rows]
    train_idx = np.flatnonzero(train_mask)
    if len(train_idx) > max_examples:  # the latest interactions say most about today
        train_idx = train_idx[np.argsort(events.t[train_idx], kind="stable")[-max_examples:]]
    earlier = events.select(train_mask)
    n_users = len(users)
    before = posteriors_before(earlier, n_users, events.user[train_idx], events.t[train_idx],
                               space, prior, cfg, types)  # fmt: skip
    item_x = item_matrix(events.table)
    recent = recent_items(earlier, items[train_mask], n_users, events.user[train_idx],
                          events.t[train_idx], cfg, types, length=history)  # fmt: skip
    data = TrainingSet(
        user_x=user_matrix(before, user_attrs[events.user[train_idx]], copy=False),
        item=items[train_idx], item_row=rows[train_idx],
        t=events.t[train_idx], item_x=item_x, current_row=cat.current_row,
        availability=Availability(cat.start, cat.end),
        segment=_segments(space, item_x[cat.current_row]), history=recent[0],
        history_w=recent[1],
    )  # fmt: skip
    # Validation: users active on both sides of the split, profiled as of the split.
    later = ~train_mask
    val_users = np.intersect1d(np.unique(events.user[later]), np.unique(events.user[train_mask]))
    stats = rebuild(earlier, n_users, split, cfg, types)
    profiles = posterior(stats, space, prior, cfg)
    relevant = _items_by_user(events.user[later], items[later], val_users)
    seen = _items_by_user(events.user[train_mask], items[train_mask], val_users)
    # Events at the split itself count as before it, as in the rebuild's (as_of - W, as_of].
    val_recent = recent_items(earlier, items[train_mask], n_users, val_users,
                              np.full(len(val_users), np.nextafter(split, np.inf)), cfg, types,
                              length=history)  # fmt: skip
    validation = Holdout(user_matrix(profiles[val_users], user_attrs[val_users]), relevant, seen,
                         split, *val_recent)  # fmt: skip
    return Prepared(
        data, validation, space, space_id, prior, cfg, cat.vehicle_ids, first,
        datetime.fromtimestamp(split, UTC), last,
        np.bincount(data.item, minlength=len(cat.vehicle_ids)), users, events, items, split,
        user_attrs,
    )  # fmt: skip


def _items_by_user(user: np.ndarray, item: np.ndarray, wanted: np.ndarray) -> list[np.ndarray]:
    order = np.lexsort((item, user))
    user, item = user[order], item[order]
    bounds = np.searchsorted(user, np.r_[wanted, wanted + 1].reshape(2, -1))
    return [np.unique(item[a:b]) for a, b in zip(bounds[0], bounds[1], strict=True)]


def popularity_precision(prepared: Prepared, k: int, hold: Holdout | None = None) -> float:
    """The baseline the model must beat: most interacted-with vehicles on sale, minus those
    the user has seen (for ``hold``'s users, default the whole validation)."""
    hold, n = hold or prepared.validation, len(prepared.vehicle_ids)
    on_sale = prepared.data.availability.at(np.arange(n), np.full(n, hold.at))
    order = np.argsort(-np.where(on_sale, prepared.popularity, -1), kind="stable")
    head = order[: k + max((len(s) for s in hold.seen), default=0)]
    ranked = [head[~np.isin(head, s)][:k] for s in hold.seen]
    return precision_at_k(ranked, hold.relevant, k)


def train_model(
    engine: Engine,
    schema: FeatureSchema,
    cfg: ProfileConfig,
    artefact_dir: Path,
    *,
    val_fraction: float = 0.1,
    max_examples: int = 2_000_000,
    progress: bool = True,
    prepared: Prepared | None = None,
    max_validation_users: int = MAX_VALIDATION_USERS,
    **hyper: Any,
) -> TrainJobResult:
    """The whole job: prepare -> register (training) -> train -> save -> ready. A failure
    marks the version failed, with the error, and re-raises. ``prepared``: examples already
    read (the retrain pipeline keeps them to judge the new version against the active one)."""
    started = time.perf_counter()
    prepared = prepared or prepare(engine, schema, cfg, val_fraction=val_fraction,
                                   max_examples=max_examples)  # fmt: skip
    if not len(prepared.validation.relevant):
        raise ValueError("no user is active both before and after the validation split")
    params = {"val_fraction": val_fraction, "max_examples": max_examples, **hyper}
    with engine.begin() as conn:
        version = registry.create(
            conn, space_id=prepared.space_id, schema_name=prepared.space.schema_name,
            schema_fingerprint=prepared.space.schema_fingerprint, params=params,
        )  # fmt: skip
    try:
        validation = prepared.validation.sample(max_validation_users)
        result = train(prepared.data, validation, progress=progress, **hyper)
        k = result.params["k"]
        metrics = {
            **result.metrics,
            f"val_popularity_precision@{k}": popularity_precision(prepared, k, validation),
            "best_epoch": result.best_epoch,
            "epochs_run": len(result.history),
            "examples": len(prepared.data.item),
            "validation_users": len(validation.relevant),
            "seconds_per_epoch": float(np.mean([h["seconds"] for h in result.history])),
        }
        path = (artefact_dir / f"model-v{version}.pt").resolve()
        checkpoint.save(
            path,
            checkpoint.Artefact(
                result.nets, prepared.space, prepared.vehicle_ids, result.item_ids,
                {
                    "version": version, "space_id": prepared.space_id,
                    "prior": prepared.prior.to_dict(),
                    "profile_config": asdict(prepared.cfg), "params": result.params,
                    "trained_from": prepared.trained_from.isoformat(),
                    "validation_from": prepared.val_start.isoformat(),
                    "trained_to": prepared.trained_to.isoformat(),
                    "metrics": metrics, "history": result.history,
                },
            ),
        )  # fmt: skip
        with engine.begin() as conn:
            registry.finish(
                conn, version, artefact=str(path), metrics=metrics,
                trained_from=prepared.trained_from, trained_to=prepared.val_start,
            )  # fmt: skip
    except BaseException as exc:
        with engine.begin() as conn:
            registry.fail(conn, version, "".join(traceback.format_exception_only(exc)).strip())
        raise
    return TrainJobResult(version, path, len(prepared.data.item), len(validation.relevant),
                          metrics, time.perf_counter() - started)  # fmt: skip


def train_from_settings(engine: Engine, settings: Settings, *, prepared: Prepared | None = None,
                        epochs: int | None = None) -> TrainJobResult:  # fmt: skip
    """``train_model`` with every choice from the settings (the worker jobs' way)."""
    return train_model(
        engine, load_schema(settings.feature_schema), profile_config(settings),
        settings.artefacts, val_fraction=settings.train_val_fraction,
        max_examples=settings.train_max_examples, progress=False, prepared=prepared,
        epochs=epochs or settings.train_epochs, dim=settings.train_dim,
        neg_ratio=settings.train_negatives, sampler=settings.train_sampler,
    )  # fmt: skip
