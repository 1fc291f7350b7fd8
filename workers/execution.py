"""What every job run shares, whoever runs it (a Celery worker or the in-process runner):
the services a job needs, the table of named jobs, and the record of each run in ``jobs``.

A job is idempotent: running it twice leaves the same state (a rebuild rewrites the same
profiles, a publish rewrites its version's collection, a sync re-upserts the same rows)."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, is_dataclass
from typing import Any

from sqlalchemy import Engine, text

from backend.db import jobs as job_rows
from backend.db.engine import make_engine
from backend.services.task_queue import LONG_JOBS
from backend.settings import Settings
from backend.vectors.milvus import MilvusStore
from models.schema import load_schema
from workers.jobs import catalogue, maintenance, pipeline
from workers.jobs.profiles import profile_config, rebuild_profiles, refresh_profiles, update_profile
from workers.jobs.publish import publish
from workers.jobs.training import train_from_settings

TRAINING_LOCK = 0x466F7265  # one long job (training, retrain pipeline) at a time, anywhere


class Busy(RuntimeError):
    """Another run holds the training lock."""


@dataclass
class WorkerContext:
    """Built from the settings; connects on first use, not at construction. The in-process
    runner hands in the API's own engine and store (Milvus Lite opens in one process)."""

    settings: Settings
    _engine: Engine | None = None
    _store: MilvusStore | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.settings)
        return self._engine

    @property
    def store(self) -> MilvusStore:
        if self._store is None:
            self._store = MilvusStore(self.settings.milvus, index=self.settings.milvus_index)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


HANDLERS: dict[str, Callable[..., Any]] = {
    "profiles.update_user": lambda ctx, user: update_profile(ctx.engine, user),
    "profiles.refresh": lambda ctx: refresh_profiles(ctx.engine),
    "profiles.rebuild_all": lambda ctx: rebuild_profiles(
        ctx.engine, load_schema(ctx.settings.feature_schema), cfg=profile_config(ctx.settings)),
    "training.train": lambda ctx: train_from_settings(ctx.engine, ctx.settings),
    "index.publish": lambda ctx, version=None: publish(ctx.engine, ctx.store, version,
                                                       progress=False),
    "index.sync_changed": lambda ctx: catalogue.sync_changed(ctx.engine, ctx.store),
    "index.upsert_vehicles": lambda ctx, ids: catalogue.sync_ids(ctx.engine, ctx.store, ids),
    "index.delete_vehicles": lambda ctx, ids: catalogue.sync_ids(ctx.engine, ctx.store, ids),
    "maintenance.gc": lambda ctx: maintenance.collect_garbage(
        ctx.engine, ctx.store, keep=ctx.settings.gc_keep_versions),
    "pipeline.retrain": lambda ctx, epochs=None: pipeline.retrain(
        ctx.engine, ctx.store, ctx.settings, epochs=epochs,
        tolerance=ctx.settings.retrain_gate_tolerance),
}  # fmt: skip


def summary(value: Any) -> Any:
    """A small JSON-able account of a job's result for the jobs table."""
    if is_dataclass(value) and not isinstance(value, type):
        return {k: v for k, v in asdict(value).items() if isinstance(v, (int, float, str))}
    return value if isinstance(value, (dict, list, int, float, str, type(None))) else str(value)


@contextmanager
def _exclusive(ctx: WorkerContext, name: str) -> Iterator[None]:
    if name not in LONG_JOBS:
        yield
        return
    # A session lock on a connection of its own, in autocommit: no transaction stays open
    # for the hours a training may take.
    with ctx.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                            {"k": TRAINING_LOCK}).scalar_one():  # fmt: skip
            raise Busy("another training run is in progress")
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": TRAINING_LOCK})


def run_recorded(ctx: WorkerContext, job_id: str, name: str, kwargs: dict[str, Any], *,
                 reraise: tuple[type[BaseException], ...] = ()) -> Any:  # fmt: skip
    """Run job ``name`` as ``job_id``, keeping its row in ``jobs`` up to date. Exceptions of
    the ``reraise`` kinds (transient ones a worker retries) leave the row running."""
    handler = HANDLERS[name]
    with ctx.engine.begin() as conn:
        job_rows.running(conn, job_id, name, kwargs)
    try:
        with _exclusive(ctx, name):
            result = summary(handler(ctx, **kwargs))
    except reraise:
        raise
    except Exception as exc:
        error = "".join(traceback.format_exception_only(exc)).strip()
        with ctx.engine.begin() as conn:
            job_rows.finished(conn, job_id, error=error)
        raise
    with ctx.engine.begin() as conn:
        job_rows.finished(conn, job_id, summary=result)
    return result
