"""The API's side of the Celery queue: jobs sent by task name (the API never imports the
worker code), each recorded as queued in the ``jobs`` table before it is sent."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Engine

from backend.db import jobs as job_rows
from backend.settings import Settings

# Queues per kind of work, so a week's training never delays a profile update. Senders and
# workers both route by this table.
LONG_JOBS = ("training.train", "pipeline.retrain")
DEFAULT_QUEUE, TRAINING_QUEUE = "default", "training"


def queue_of(name: str) -> str:
    return TRAINING_QUEUE if name in LONG_JOBS else DEFAULT_QUEUE


def check_shared_milvus(settings: Settings) -> None:
    """With a broker, the API and the workers are separate processes, and a Milvus Lite file
    opens in one process only (a second one fails, or worse, slips in after a retry)."""
    if settings.broker_url and not settings.milvus_uri:
        raise ValueError(
            "FORECOURT_BROKER_URL is set but FORECOURT_MILVUS_URI is not: the API and the"
            " workers cannot share a Milvus Lite file. Run `forecourt milvus --lite` (or"
            " `forecourt milvus`) and set FORECOURT_MILVUS_URI to the URI it prints"
        )


class QueueUnavailable(RuntimeError):
    """The broker did not take the job (down, unreachable, misconfigured)."""


class CeleryQueue:
    def __init__(self, settings: Settings, engine: Engine) -> None:
        from celery import Celery  # imported here: nothing connects at import time

        self.engine = engine
        self.app = Celery("forecourt-api", broker=settings.broker_url,
                          backend=settings.result_backend)  # fmt: skip
        # A request must not wait on a broker that is away: fail fast, answer 503.
        self.app.conf.update(broker_connection_timeout=3, broker_connection_max_retries=1)

    def submit(self, name: str, **kwargs: Any) -> str:
        job = uuid.uuid4().hex
        with self.engine.begin() as conn:
            job_rows.queued(conn, job, name, kwargs)
        try:
            self.app.send_task(name, kwargs=kwargs, task_id=job, queue=queue_of(name),
                               retry=True, retry_policy={"max_retries": 1, "interval_start": 0,
                                                         "interval_step": 0.5})  # fmt: skip
        except Exception as exc:  # kombu raises many kinds; the row must not stay queued
            with self.engine.begin() as conn:
                job_rows.finished(conn, job, error=f"not queued: {exc}")
            raise QueueUnavailable(f"the job queue did not take {name}: {exc}") from exc
        return job
