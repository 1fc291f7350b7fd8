"""Jobs run in-process, for the embedded set-up (no broker): the API submits them by name,
a single background thread runs them in order, each run recorded in the ``jobs`` table as
a worker would record it.

The names are the Celery task names, so the API cannot tell this runner from a worker."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import Any

from sqlalchemy import Engine

from backend.db import jobs as job_rows
from backend.settings import Settings
from backend.vectors.milvus import MilvusStore
from workers.execution import HANDLERS, WorkerContext, run_recorded


class InProcessRunner:
    def __init__(self, settings: Settings, engine: Engine, store: MilvusStore) -> None:
        self.ctx = WorkerContext(settings, engine, store)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="forecourt-job")

    def submit(self, name: str, **kwargs: Any) -> str:
        if name not in HANDLERS:
            raise KeyError(f"no job {name!r}")
        job = uuid.uuid4().hex
        with self.ctx.engine.begin() as conn:
            job_rows.queued(conn, job, name, kwargs)
        self._pool.submit(self._run, job, name, kwargs)
        return job

    def wait(self, timeout: float | None = None) -> None:
        """Block until every job submitted so far is done (tests, the demo)."""
        self._pool.submit(lambda: None).result(timeout=timeout)

    def _run(self, job: str, name: str, kwargs: dict[str, Any]) -> None:
        with suppress(Exception):  # recorded in the jobs table; nothing to raise into the pool
            run_recorded(self.ctx, job, name, kwargs)
