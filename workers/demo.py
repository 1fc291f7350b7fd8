"""``forecourt demo``: the main job on embedded defaults: store, import, profiles, training,
publication to Milvus, the API started and asked for recommendations over HTTP."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import socket
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import click
from sqlalchemy import Engine, text

from backend.api import build_services, create_app
from backend.api.context import Services
from backend.db import migrate
from backend.db.engine import fresh_database, make_engine
from backend.db.profile_queries import profile_of
from backend.ingest import catalogues, datasets, pipeline
from backend.ingest.reader import resolve_file
from backend.ingest.rejects import RejectLog
from backend.settings import Settings
from backend.simulate.market import browse_catalogue, import_files, simulate, write
from backend.vectors.server import milvus_server
from models.schema import FeatureSchema, load_schema
from workers.datasets import DATASET_FOLDERS, DATASET_PROFILES, DATASET_TRAINING
from workers.jobs.profiles import profile_config, rebuild_profiles
from workers.jobs.publish import publish
from workers.jobs.training import train_model

CATALOGUES = ("autoscout24-germany", "ebay-kleinanzeigen-autos-partial", "cars-com-used-cars")


@click.command()
@click.option(
    "--data-dir", type=click.Path(path_type=Path), help="Real datasets (default: settings)."
)
@click.option("--dataset", type=click.Choice(["cars", *sorted(DATASET_FOLDERS)]),
              default="cars", show_default=True,
              help="cars: the used-car catalogues with simulated browsing; or a dataset with"
              " real interactions, in a database of its own.")  # fmt: skip
@click.option("--users", type=click.IntRange(1), default=2_000, show_default=True,
              help="Simulated users.")  # fmt: skip
@click.option("--events", type=click.IntRange(1), default=100_000, show_default=True,
              help="Simulated events.")  # fmt: skip
@click.option("--vehicles", type=click.IntRange(1),
              help="Simulate a marketplace of this many vehicles instead of browsing the real"
              " catalogues.")  # fmt: skip
@click.option("--epochs", type=click.IntRange(1), default=3, show_default=True,
              help="Training epochs.")  # fmt: skip
@click.option("--milvus", "milvus_choice", type=click.Choice(["auto", "lite", "server"]),
              default="auto", show_default=True,
              help="Where to publish when FORECOURT_MILVUS_URI is unset: auto = Milvus Lite,"
              " or the standalone server (`server` extra) above FORECOURT_MILVUS_SERVER_ABOVE"
              " vehicles on sale.")  # fmt: skip
@click.option("--port", type=click.IntRange(0, 65535), default=0,
              help="API port on 127.0.0.1 (default: any free one).")  # fmt: skip
@click.option("--serve", "serve_forever", is_flag=True, help="Keep the API running afterwards.")
@click.pass_obj
def demo(settings: Settings, data_dir: Path | None, dataset: str, users: int, events: int,
         vehicles: int | None, epochs: int, milvus_choice: str, port: int,
         serve_forever: bool) -> None:  # fmt: skip
    """Create the database, import a catalogue and browsing events, rebuild profiles, train
    the model, publish it to Milvus, start the API and ask it for two users' recommendations,
    and summarise the evaluation on the latest period."""
    if data_dir is not None and not data_dir.is_dir():  # given, so meant: not a silent fallback
        raise click.BadParameter(f"{data_dir} is not a folder", param_hint="--data-dir")
    data_dir = data_dir or settings.data_dir
    if port:  # found busy at the end, it would waste the whole run
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError as exc:
                raise click.BadParameter(f"127.0.0.1:{port}: {exc.strerror}",
                                         param_hint="--port") from exc  # fmt: skip
    cfg = profile_config(settings)
    if dataset == "cars":
        engine = make_engine(settings)
        click.echo(f"database: {engine.url.render_as_string(hide_password=True)}")
        migrate.upgrade(engine)
        schema = load_schema(settings.feature_schema)
        load_marketplace(settings, engine, schema, data_dir, users, events, vehicles)
    else:  # a dataset keeps its own ids: a database (and Milvus file) of its own
        folder = data_dir / DATASET_FOLDERS[dataset]
        if not folder.is_dir():
            raise click.ClickException(f"no {dataset} data at {folder} (use --data-dir)")
        name = dataset.replace("-", "_")
        lite = str((settings.home / f"milvus-{name}.db").resolve())
        settings = settings.model_copy(update={
            "database_url": fresh_database(settings, f"forecourt_demo_{name}"),
            "feature_schema": dataset, "milvus_uri": settings.milvus_uri or lite,
        })  # fmt: skip
        engine = make_engine(settings)
        click.echo(f"database: {engine.url.render_as_string(hide_password=True)}")
        migrate.upgrade(engine)
        schema = load_schema(dataset)
        cfg = replace(cfg, **DATASET_PROFILES[dataset])
        with RejectLog(settings.rejects_dir / f"demo-{dataset}.csv", echo=False) as rejects:
            try:
                for stats in datasets.import_dataset(engine, dataset, folder, rejects):
                    click.echo(f"{dataset}: {stats.summary()}")
            except (FileNotFoundError, ValueError) as exc:
                raise click.ClickException(str(exc)) from exc

    result = rebuild_profiles(engine, schema, cfg=cfg)
    click.echo(
        f"profiles: {result.users:,} users, {result.events:,} events in the window before "
        f"{result.as_of:%Y-%m-%d}, {result.seconds:.1f}s"
    )
    with engine.connect() as conn:
        for table in ("users", "vehicles", "vehicle_versions", "events", "user_profiles"):
            count = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            click.echo(f"{table:>17}: {count:,}")
        busiest = conn.execute(
            text("SELECT u.external_id FROM user_profiles p JOIN users u ON u.id = p.user_id"
                 " ORDER BY p.event_count DESC LIMIT 2")
        ).scalars().all()  # fmt: skip
        for user in busiest:
            row = profile_of(conn, user)
            top = {
                name: values[0][0] for name, values in row.summary["categories"].items() if values
            }
            ranges = "; ".join(f"{name} {r['mean']:,.0f} ± {r['std']:,.0f}"
                               for name, r in row.summary["ranges"].items())  # fmt: skip
            click.echo(f"user {user}: {row.event_count} events; likes {top}; {ranges}")
    trained = train_model(
        engine, schema, cfg, settings.artefacts, epochs=epochs, progress=True,
        dim=settings.train_dim, sampler=settings.train_sampler,
        **DATASET_TRAINING.get(dataset, {}),
    )  # fmt: skip
    m = trained.metrics
    click.echo(
        f"model v{trained.version}: {trained.examples:,} examples, {m['seconds_per_epoch']:.1f}s"
        f"/epoch -> {trained.artefact}"
    )
    with engine.connect() as conn:
        on_sale = conn.execute(
            text("SELECT count(*) FROM vehicles WHERE status = 'available'")
        ).scalar_one()
    with contextlib.ExitStack() as stack:
        settings = stack.enter_context(chosen_milvus(settings, on_sale, milvus_choice))
        services = build_services(settings)
        stack.callback(services.store.close)
        done = publish(services.engine, services.store, trained.version)
        click.echo(f"published v{done.version}: {done.vectors:,} vehicles in {done.collection}"
                   f" at {settings.milvus} ({done.seconds:.1f}s)")  # fmt: skip
        with serving(services, port) as base:
            click.echo(f"API serving at {base}")
            for user in busiest:
                show(base, user)
            if serve_forever:
                click.echo("serving until Ctrl-C")
                with contextlib.suppress(KeyboardInterrupt):
                    threading.Event().wait()
    k = 5
    ours, pop = m[f"val_precision@{k}"], m[f"val_popularity_precision@{k}"]
    click.echo(
        f"evaluation on the latest {settings.train_val_fraction:.0%} of events"
        f" ({trained.validation_users} users): precision@{k} {ours:.4f} served by the model,"
        f" {pop:.4f} by popularity ({ours / pop if pop else float('inf'):.2f}x)."
        " `forecourt evaluate` compares against LightFM and ALS on real data."
    )
    if not serve_forever:
        click.echo("serve it with `forecourt serve` (or `forecourt demo --serve`)")


def milvus_kind(settings: Settings, on_sale: int, choice: str, server_installed: bool) -> str:
    """Where the demo publishes: "uri" (FORECOURT_MILVUS_URI), "lite" or "server". Milvus
    Lite scans every row per search (about 1 s at 1M vehicles), so ``auto`` takes the
    standalone server above ``milvus_server_above`` vehicles on sale, when it is installed."""
    if settings.milvus_uri:
        return "uri"
    if choice == "server" or (choice == "auto" and on_sale > settings.milvus_server_above
                              and server_installed):  # fmt: skip
        return "server"
    return "lite"


@contextlib.contextmanager
def chosen_milvus(settings: Settings, on_sale: int, choice: str) -> Iterator[Settings]:
    """``settings`` pointing at the Milvus ``milvus_kind`` picks; a standalone server is
    started on loopback for the block (data under <home>/milvus-server) and stopped after."""
    installed = importlib.util.find_spec("milvus") is not None
    kind = milvus_kind(settings, on_sale, choice, installed)
    if kind != "server":
        if choice == "auto" and on_sale > settings.milvus_server_above:
            click.echo(f"{on_sale:,} vehicles on sale: Milvus Lite scans them all per search;"
                       " pip install 'forecourt[server]' for the standalone server")  # fmt: skip
        yield settings
        return
    if not installed:
        raise click.ClickException("--milvus server needs the `server` extra: pip install "
                                   "'forecourt[server]' (milvus==2.3.5)")  # fmt: skip
    click.echo(f"{on_sale:,} vehicles on sale: starting the standalone Milvus server (HNSW)")
    data = settings.home / "milvus-server"
    data.mkdir(parents=True, exist_ok=True)
    with milvus_server(data) as uri:
        yield settings.model_copy(update={"milvus_uri": uri})


def load_marketplace(settings: Settings, engine: Engine, schema: FeatureSchema, data_dir: Path,
                     users: int, events: int, vehicles: int | None = None) -> None:  # fmt: skip
    """The real used-car catalogues found under ``data_dir`` with simulated users browsing
    them (no public data set has real browsing on real listings); without them, or with
    ``vehicles``, a whole simulated marketplace fitted to AutoScout24."""
    work = settings.home / "demo"
    found = [] if vehicles else [data_dir / n for n in CATALOGUES if (data_dir / n).is_dir()]
    with RejectLog(settings.rejects_dir / "demo.csv", echo=False) as rejects:
        for folder in found:
            file = resolve_file(folder)
            fmt = catalogues.detect(file)
            rows = catalogues.FORMATS[fmt](file, schema=schema, usd_to_eur=settings.usd_to_eur)
            stats = pipeline.import_vehicles(
                engine, rows, schema=schema, source=fmt, where=str(file), rejects=rejects
            )
            click.echo(f"{folder.name}: {stats.summary()}")
        if found:
            with engine.connect() as conn:
                rows = conn.execute(text(
                    "SELECT external_id, features FROM vehicles WHERE status = 'available'"
                    " ORDER BY id")).all()  # fmt: skip
            market = browse_catalogue([r[0] for r in rows], [r[1] for r in rows], users, events)
            what = "simulated browsing"
        else:
            why = f"{vehicles:,} vehicles asked" if vehicles else f"no catalogues in {data_dir}"
            click.echo(f"{why}: simulating a marketplace fitted to AutoScout24"
                       " (forecourt simulate)")  # fmt: skip
            market = simulate(vehicles or 20_000, users, events)
            what = "simulated marketplace"
        for stats in import_files(engine, schema, write(market, work), rejects):
            click.echo(f"{what}: {stats.summary()}")
        if rejects.rows_rejected or rejects.fields_dropped:
            click.echo(
                f"{rejects.rows_rejected} rows rejected, {rejects.fields_dropped} fields dropped:"
                f" see {rejects.path}"
            )


@contextlib.contextmanager
def serving(services: Services, port: int) -> Iterator[str]:
    """The Flask app on loopback in a background thread, for as long as the block runs."""
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log between the lines
    server = make_server("127.0.0.1", port, create_app(services=services), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        thread.join()


def show(base: str, user: str, k: int = 5) -> None:
    with urllib.request.urlopen(f"{base}/v1/users/{user}/recommendations?k={k}") as r:
        doc = json.load(r)
    flag = f", fallback: {doc['fallback']}" if doc["fallback"] else ""
    click.echo(f"GET /v1/users/{user}/recommendations?k={k} (model v{doc['model_version']}{flag})")
    for n, item in enumerate(doc["items"], 1):
        click.echo(f"  {n}. {item['vehicle_id']} {item['title'] or ''} ({item['score']:.3f})")
        for reason in item["reasons"]:
            click.echo(f"       - {reason}")
