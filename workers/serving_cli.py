"""``forecourt publish | serve | recommend``: the index and the API from the command line."""

from __future__ import annotations

import json
from typing import Any

import click

from backend.api import build_services, create_app
from backend.db.engine import make_engine
from backend.services.active_model import NoActiveModel
from backend.services.indexing import FilterError, Filters
from backend.services.recommender import UnknownUser
from backend.services.task_queue import CeleryQueue, check_shared_milvus
from backend.settings import Settings
from backend.vectors.milvus import MilvusStore, is_lite
from workers.jobs.publish import publish
from workers.runner import InProcessRunner


@click.command("publish")
@click.option("--version", type=int, help="Model version (default: the newest ready one).")
@click.option("--no-activate", is_flag=True, help="Publish only; activate later.")
@click.pass_obj
def publish_command(settings: Settings, version: int | None, no_activate: bool) -> None:
    """Embed every available vehicle with a model's ItemNet into Milvus (vehicles_v{N}),
    check the count and make that version the serving one."""
    store = MilvusStore(settings.milvus, index=settings.milvus_index)
    try:
        r = publish(make_engine(settings), store, version, activate=not no_activate)
    except (LookupError, ValueError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        store.close()
    state = "active" if r.activated else "published, not active"
    click.echo(f"model v{r.version}: {r.vectors:,} vehicles in {r.collection} ({state},"
               f" {r.seconds:.1f}s)")  # fmt: skip


def _app(settings: Settings) -> Any:
    import torch

    # A request scores a few hundred candidates: torch's intra-op threads only fight the
    # request threads (and the other workers) for the cores.
    torch.set_num_threads(1)
    check_shared_milvus(settings)
    services = build_services(settings)
    if settings.broker_url:  # jobs go to the Celery workers, by task name
        services.jobs = CeleryQueue(settings, services.engine)
    else:
        services.jobs = InProcessRunner(settings, services.engine, services.store)
    return create_app(settings, services=services)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(1), default=2, show_default=True,
              help="gunicorn processes (1 with Milvus Lite).")  # fmt: skip
@click.option("--threads", type=click.IntRange(1), default=4, show_default=True)
@click.option("--dev", is_flag=True, help="Flask's development server instead of gunicorn.")
@click.pass_obj
def serve(settings: Settings, host: str, port: int, workers: int, threads: int,
          dev: bool) -> None:  # fmt: skip
    """Run the REST API (gunicorn; jobs in-process unless FORECOURT_BROKER_URL is set)."""
    try:
        check_shared_milvus(settings)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if dev:
        _app(settings).run(host=host, port=port, threaded=True)
        return
    from gunicorn.app.base import BaseApplication

    if is_lite(settings.milvus) and workers > 1:
        click.echo("Milvus Lite opens in one process only: serving with 1 worker", err=True)
        workers = 1

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in {"bind": f"{host}:{port}", "workers": workers,
                               "threads": threads, "worker_class": "gthread",
                               "timeout": 120}.items():  # fmt: skip
                self.cfg.set(key, value)

        def load(self) -> Any:
            return _app(settings)  # built in each worker, after the fork

    Server().run()


@click.command("recommend")
@click.argument("user")
@click.option("-k", type=click.IntRange(1, 100), default=5, show_default=True)
@click.option("--candidates", type=click.IntRange(1, 5000), default=200, show_default=True)
@click.option("--filter", "filters", multiple=True, metavar="NAME=VALUE",
              help="e.g. max_price=15000, fuel=diesel (repeatable).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def recommend(settings: Settings, user: str, k: int, candidates: int,
              filters: tuple[str, ...], as_json: bool) -> None:  # fmt: skip
    """Print USER's top k, as the API would serve them."""
    s = build_services(settings)
    try:
        args = dict(f.split("=", 1) for f in filters if "=" in f)
        if len(args) != len(filters):
            raise FilterError("filters are NAME=VALUE")
        result = s.recommender.for_user(user, k=k, candidates=candidates,
                                        filters=Filters.parse(s.schema, args))  # fmt: skip
    except (UnknownUser, NoActiveModel, FilterError) as exc:
        raise click.ClickException(exc.args[0] if exc.args else str(exc)) from exc
    finally:
        s.store.close()
    if as_json:
        click.echo(json.dumps([vars(i) for i in result.items], default=str))
        return
    flag = f" (fallback: {result.fallback})" if result.fallback else ""
    click.echo(f"user {user}, model v{result.model_version}{flag}")
    for n, item in enumerate(result.items, 1):
        why = "; ".join(item.reasons)
        click.echo(f"{n:>3}. {item.vehicle_id} {item.title or ''} ({item.score:.3f}) {why}")
