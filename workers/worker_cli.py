"""``forecourt worker | beat``: the Celery worker and scheduler, built from the settings."""

from __future__ import annotations

from pathlib import Path

import click

from backend.services.task_queue import DEFAULT_QUEUE, TRAINING_QUEUE
from backend.settings import Settings


def _app(settings: Settings):  # type: ignore[no-untyped-def]
    from workers.celery_app import make_celery

    try:
        return make_celery(settings)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


@click.command("worker")
@click.option("--queues", default=f"{DEFAULT_QUEUE},{TRAINING_QUEUE}", show_default=True,
              help="Queues to consume (training: the long jobs).")  # fmt: skip
@click.option("--concurrency", type=click.IntRange(1), help="Processes (default: settings).")
@click.option("--loglevel", default="INFO", show_default=True)
@click.pass_obj
def worker(settings: Settings, queues: str, concurrency: int | None, loglevel: str) -> None:
    """Run a Celery worker for the named tasks (needs FORECOURT_BROKER_URL)."""
    _app(settings).worker_main([
        "worker", f"--queues={queues}", f"--loglevel={loglevel}",
        f"--concurrency={concurrency or settings.worker_concurrency}",
    ])  # fmt: skip


@click.command("beat")
@click.option("--loglevel", default="INFO", show_default=True)
@click.option("--schedule-file", default=None, help="Where beat keeps its last-run times.")
@click.pass_obj
def beat(settings: Settings, loglevel: str, schedule_file: str | None) -> None:
    """Run Celery beat: the periodic jobs of workers/schedule.py."""
    path = Path(schedule_file) if schedule_file else settings.home / "celerybeat-schedule"
    if path.is_dir() or (not path.parent.is_dir() and schedule_file):
        raise click.BadParameter(f"{path} must be a file in an existing folder",
                                 param_hint="--schedule-file")  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    _app(settings).start(["beat", f"--loglevel={loglevel}", f"--schedule={path}"])
