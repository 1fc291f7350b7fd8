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


class CeleryQueue:
    def __init__(self, settings: Settings, engine: Engine) -> None:
        from celery import Celery  # imported here: nothing connects at import time

        self.engine = engine
        self.app = Celery("forecourt-api", broker=settings.broker_url,
                          backend=settings.result_backend)  # fmt: skip

    def submit(self, name: str, **kwargs: Any) -> str:
        job = uuid.uuid4().hex
        with self.engine.begin() as conn:
            job_rows.queued(conn, job, name, kwargs)
        self.app.send_task(name, kwargs=kwargs, task_id=job, queue=queue_of(name))
        return job
