"""``make_celery(settings)``: the Celery app of the worker and beat, and its named tasks.

Every task is a thin wrapper over a job of ``workers.execution`` that records its run in
the ``jobs`` table. Reliability: tasks are acknowledged late (a worker that dies mid-task
leaves it to another), idempotent (so a redelivery is harmless), retried with backoff on
transient database or Milvus errors, and bounded in time; trainings take a lock."""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from sqlalchemy.exc import OperationalError

from backend.services.task_queue import DEFAULT_QUEUE, LONG_JOBS, check_shared_milvus, queue_of
from backend.settings import Settings
from workers.execution import HANDLERS, WorkerContext, run_recorded
from workers.schedule import beat_schedule


def _transient() -> tuple[type[BaseException], ...]:
    from pymilvus.exceptions import MilvusException

    return (OperationalError, MilvusException, ConnectionError, TimeoutError)


def make_celery(settings: Settings) -> Celery:
    if not settings.broker_url:
        raise ValueError("FORECOURT_BROKER_URL is not set: without a broker jobs run in-process")
    check_shared_milvus(settings)
    app = Celery("forecourt", broker=settings.broker_url, backend=settings.result_backend)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=settings.worker_time_limit_s,
        task_soft_time_limit=max(settings.worker_time_limit_s - 60, 1),
        task_routes={name: {"queue": queue_of(name)} for name in HANDLERS},
        task_default_queue=DEFAULT_QUEUE,
        beat_schedule=beat_schedule(settings),
        result_expires=7 * 86_400,
        # Redis hands an unacknowledged task to another worker after this long: longer than
        # any run may last, so a slow training is never run twice at once. A task of a worker
        # that died is redelivered after it.
        broker_transport_options={"visibility_timeout": settings.worker_time_limit_s + 300},
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    ctx = WorkerContext(settings)
    transient = _transient()

    def register(name: str) -> None:
        def run(self: Task, **kwargs: Any) -> Any:
            # Hours of training are not retried blindly (the next schedule runs again); the
            # last attempt records its failure instead of leaving the job running.
            retry = name not in LONG_JOBS and self.request.retries < settings.worker_max_retries
            try:
                return run_recorded(ctx, self.request.id, name, kwargs,
                                    reraise=transient if retry else ())  # fmt: skip
            except transient as exc:
                if not retry:
                    raise
                raise self.retry(exc=exc, countdown=min(2**self.request.retries * 5, 300),
                                 max_retries=settings.worker_max_retries) from exc  # fmt: skip

        app.task(name=name, bind=True)(run)

    for name in HANDLERS:
        register(name)
    return app
