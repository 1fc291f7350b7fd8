"""Beat's schedule and the Celery app's reliability settings, built from the settings alone
(nothing connects until a worker starts)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.services.task_queue import queue_of
from backend.settings import Settings
from workers.celery_app import make_celery
from workers.execution import HANDLERS

MILVUS = "http://127.0.0.1:19530"


def test_beat_runs_registered_tasks_at_the_configured_periods() -> None:
    settings = Settings(_env_file=None, broker_url="redis://127.0.0.1:6379/13", milvus_uri=MILVUS,
                        beat_retrain_s=3600, beat_catalogue_sync_s=60)  # fmt: skip
    app = make_celery(settings)
    schedule = app.conf.beat_schedule
    assert set(schedule) == {"profiles.refresh", "index.sync_changed", "profiles.rebuild_all",
                             "pipeline.retrain", "maintenance.gc"}  # fmt: skip
    assert schedule["pipeline.retrain"]["schedule"] == timedelta(hours=1)
    assert schedule["index.sync_changed"]["schedule"] == timedelta(minutes=1)
    assert schedule["maintenance.gc"]["schedule"] == timedelta(days=1)
    assert all(entry["task"] in app.tasks for entry in schedule.values())
    assert set(HANDLERS) <= set(app.tasks)


def test_reliability_settings() -> None:
    app = make_celery(Settings(_env_file=None, broker_url="redis://127.0.0.1:6379/13",
                               milvus_uri=MILVUS, worker_time_limit_s=600))  # fmt: skip
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.worker_prefetch_multiplier == 1
    assert (app.conf.task_time_limit, app.conf.task_soft_time_limit) == (600, 540)
    # Never redelivered while it may still be running elsewhere.
    assert app.conf.broker_transport_options["visibility_timeout"] > 600
    assert app.conf.result_backend == "redis://127.0.0.1:6379/13"
    routes = app.conf.task_routes
    assert routes["pipeline.retrain"] == {"queue": "training"} == routes["training.train"]
    assert routes["profiles.update_user"] == {"queue": "default"}
    assert queue_of("index.publish") == "default"


def test_no_broker_no_celery() -> None:
    with pytest.raises(ValueError, match="FORECOURT_BROKER_URL"):
        make_celery(Settings(_env_file=None))


def test_workers_need_a_milvus_they_can_share_with_the_api() -> None:
    """A Milvus Lite file opens in one process only: a worker beside an API needs a URI."""
    with pytest.raises(ValueError, match="forecourt milvus --lite"):
        make_celery(Settings(_env_file=None, broker_url="redis://127.0.0.1:6379/13"))
