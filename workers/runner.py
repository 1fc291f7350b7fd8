"""Jobs run in-process, for the embedded set-up (no broker): the API submits them by name,
a single background thread runs them in order, statuses are kept in memory.

The names are the Celery task names, so the API cannot tell this runner from a worker."""

from __future__ import annotations

import threading
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from backend.settings import Settings
from backend.vectors.milvus import MilvusStore
from models.schema import load_schema
from workers.jobs.profiles import profile_config, rebuild_profiles, update_profile
from workers.jobs.publish import publish
from workers.jobs.training import train_model


def _summary(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: v for k, v in asdict(value).items() if isinstance(v, (int, float, str))}
    return value if isinstance(value, (dict, list, int, float, str, type(None))) else str(value)


class InProcessRunner:
    def __init__(self, settings: Settings, engine: Engine, store: MilvusStore) -> None:
        self.settings, self.engine, self.store = settings, engine, store
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="forecourt-job")
        self._lock = threading.Lock()
        self._jobs: dict[str, dict[str, Any]] = {}
        self.handlers: dict[str, Callable[..., Any]] = {
            "profiles.update_user": self._update_user,
            "profiles.rebuild_all": self._rebuild,
            "training.train": self._train,
            "index.publish": self._publish,
            "pipeline.retrain": self._retrain,
        }

    def submit(self, name: str, **kwargs: Any) -> str:
        if name not in self.handlers:
            raise KeyError(f"no job {name!r}")
        job = uuid.uuid4().hex
        with self._lock:
            self._jobs[job] = {"id": job, "name": name, "status": "queued", "args": kwargs,
                               "queued_at": datetime.now(UTC).isoformat()}  # fmt: skip
        self._pool.submit(self._run, job, name, kwargs)
        return job

    def status(self, job_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._jobs.get(job_id)
            return dict(found) if found else None

    def wait(self, timeout: float | None = None) -> None:
        """Block until every job submitted so far is done (tests, the demo)."""
        self._pool.submit(lambda: None).result(timeout=timeout)

    def _run(self, job: str, name: str, kwargs: dict[str, Any]) -> None:
        self._set(job, status="running", started_at=datetime.now(UTC).isoformat())
        try:
            result = self.handlers[name](**kwargs)
            self._set(job, status="succeeded", summary=_summary(result))
        except Exception as exc:  # a job failure is recorded, not raised into the pool
            self._set(job, status="failed",
                      error="".join(traceback.format_exception_only(exc)).strip())  # fmt: skip
        self._set(job, finished_at=datetime.now(UTC).isoformat())

    def _set(self, job: str, **fields: Any) -> None:
        with self._lock:
            self._jobs[job].update(fields)

    # -- the jobs ----------------------------------------------------------------------
    def _update_user(self, user: str) -> Any:
        return update_profile(self.engine, user)

    def _rebuild(self) -> Any:
        schema = load_schema(self.settings.feature_schema)
        return rebuild_profiles(self.engine, schema, cfg=profile_config(self.settings))

    def _train(self) -> Any:
        s = self.settings
        return train_model(
            self.engine, load_schema(s.feature_schema), profile_config(s), s.artefacts,
            val_fraction=s.train_val_fraction, max_examples=s.train_max_examples,
            epochs=s.train_epochs, dim=s.train_dim, neg_ratio=s.train_negatives,
            sampler=s.train_sampler, progress=False,
        )  # fmt: skip

    def _publish(self, version: int | None = None) -> Any:
        return publish(self.engine, self.store, version, progress=False)

    def _retrain(self) -> Any:
        self._rebuild()
        trained = self._train()
        return self._publish(trained.version)
