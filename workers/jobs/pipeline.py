"""``pipeline.retrain``: rebuild profiles -> train -> judge the new version against the
active one on the latest period -> publish and activate only if it is not worse.

The gate scores both versions the same way, on the new run's validation period (the latest
``val_fraction`` of events, which the new version never trained on): served precision@k,
retrieval then RankNet, each with its own trend and id embeddings. The active version may
have trained on part of that period if the last run was recent, which favours it: the gate
errs towards keeping what serves."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine

from backend.db import registry
from backend.settings import Settings
from backend.vectors.milvus import MilvusStore
from models import checkpoint
from models.nets import Nets
from models.profiles import Prior
from models.schema import load_schema
from models.train import evaluate_served, training_trend
from workers.jobs.catalogue import active_model
from workers.jobs.profiles import profile_config, rebuild_profiles
from workers.jobs.publish import publish
from workers.jobs.training import (
    MAX_VALIDATION_USERS,
    Prepared,
    prepare,
    train_from_settings,
)


@dataclass
class Verdict:
    passed: bool
    new: float
    active: float | None  # None: nothing active, or not comparable
    reason: str


def validation_precision(nets: Nets, item_ids: np.ndarray, prepared: Prepared, *, k: int,
                         candidates: int) -> float:  # fmt: skip
    users = prepared.validation.sample(MAX_VALIDATION_USERS)
    scores = evaluate_served(nets, prepared.data, item_ids, users, k=k, candidates=candidates,
                             trend=training_trend(prepared.data, nets.config))  # fmt: skip
    return float(scores[f"precision@{k}"])


def judge(engine: Engine, settings: Settings, prepared: Prepared, artefact: Path, *, k: int = 5,
          candidates: int = 200, tolerance: float = 0.0) -> Verdict:  # fmt: skip
    """Is the trained ``artefact`` at least as good as the active version (minus
    ``tolerance``) on ``prepared``'s validation period? The active version sees the same
    events encoded in its own feature space (a rebuild refits the space as the catalogue
    moves)."""
    new = checkpoint.load(artefact)
    ours = validation_precision(new.nets, new.item_ids, prepared, k=k, candidates=candidates)
    current = active_model(engine)
    if current is None:
        return Verdict(True, ours, None, "no active version")
    meta = current.artefact.meta
    theirs_in = prepared
    if meta.get("space_id") != prepared.space_id:
        prior = Prior.from_dict(meta["prior"])
        theirs_in = prepare(
            engine, load_schema(settings.feature_schema), current.cfg,
            val_fraction=settings.train_val_fraction, max_examples=settings.train_max_examples,
            until=prepared.trained_to,
            space=(current.artefact.space, int(meta["space_id"]), prior, current.cfg),
        )  # fmt: skip
    theirs = validation_precision(current.nets, current.id_index(theirs_in.vehicle_ids),
                                  theirs_in, k=k, candidates=candidates)  # fmt: skip
    passed = ours >= theirs - tolerance
    verb = "not worse than" if passed else "worse than"
    return Verdict(passed, ours, theirs, f"precision@{k} {ours:.4f} {verb} active"
                   f" v{current.version}'s {theirs:.4f} on the latest period")  # fmt: skip


def retrain(engine: Engine, store: MilvusStore, settings: Settings, *,
            epochs: int | None = None, tolerance: float = 0.0) -> dict[str, Any]:  # fmt: skip
    schema, cfg = load_schema(settings.feature_schema), profile_config(settings)
    rebuilt = rebuild_profiles(engine, schema, cfg=cfg)
    prepared = prepare(engine, schema, cfg, val_fraction=settings.train_val_fraction,
                       max_examples=settings.train_max_examples)  # fmt: skip
    trained = train_from_settings(engine, settings, prepared=prepared, epochs=epochs)
    verdict = judge(engine, settings, prepared, trained.artefact, tolerance=tolerance)
    summary: dict[str, Any] = {"profiles": rebuilt.users, "version": trained.version,
                               "gate": verdict.reason, "val_precision": verdict.new,
                               "active_val_precision": verdict.active}  # fmt: skip
    if not verdict.passed:
        with engine.begin() as conn:
            registry.reject(conn, trained.version, verdict.reason)
        return {**summary, "published": False}
    done = publish(engine, store, trained.version, progress=False)
    return {**summary, "published": True, "collection": done.collection,
            "vectors": done.vectors}  # fmt: skip
