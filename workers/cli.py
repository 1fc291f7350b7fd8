"""The ``forecourt`` entry point: backend's commands plus the ones that run jobs in-process.

It lives here because jobs are worker code and backend/ never imports workers/.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import click
from sqlalchemy import Engine

from backend.cli import main
from backend.db import migrate, registry
from backend.db.engine import fresh_database, make_engine
from backend.db.profile_queries import profile_of
from backend.ingest import datasets
from backend.ingest.parsing import parse_timestamp
from backend.ingest.rejects import RejectLog
from backend.settings import Settings
from models.schema import SchemaError, load_schema
from workers.datasets import DATASET_FOLDERS, DATASET_PROFILES, DATASET_TRAINING
from workers.demo import demo
from workers.jobs import evaluate as evaluation
from workers.jobs import evaluation_report
from workers.jobs.evaluate import EvalConfig
from workers.jobs.profiles import profile_config, rebuild_profiles, update_profile
from workers.jobs.training import train_model
from workers.serving_cli import publish_command, recommend, serve
from workers.worker_cli import beat, worker


def _engine_at_head(settings: Settings) -> Engine:
    engine = make_engine(settings)
    at, head = migrate.current(engine), migrate.heads(engine)
    if [at] != head:
        raise click.ClickException(
            f"database at revision {at or 'base'}, code expects {head[0]}:"
            " run `forecourt db upgrade`"
        )
    return engine


@main.group()
def profiles() -> None:
    """User profiles in the shared feature space."""


def _as_of(_: click.Context, __: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


@profiles.command()
@click.option("--as-of", callback=_as_of, help="ISO time (default: the latest event).")
@click.option("--schema", help="Feature schema of the catalogue (default: settings).")
@click.pass_obj
def rebuild(settings: Settings, as_of: datetime | None, schema: str | None) -> None:
    """Rebuild every user's profile from the events in the window before AS_OF."""
    try:
        feature_schema = load_schema(schema or settings.feature_schema)
    except SchemaError as exc:
        raise click.ClickException(str(exc)) from exc
    engine = _engine_at_head(settings)
    result = rebuild_profiles(engine, feature_schema, as_of=as_of, cfg=profile_config(settings))
    click.echo(
        f"profiles: {result.users:,} users ({result.users_with_events:,} with events in the "
        f"window), {result.events:,} events, as of {result.as_of.isoformat()}, type weights "
        f"{dict(zip(('view', 'bookmark', 'contact'), result.type_weights, strict=True))}, "
        f"{result.seconds:.1f}s"
    )


@profiles.command()
@click.argument("user")
@click.pass_obj
def show(settings: Settings, user: str) -> None:
    """Print USER's profile as a readable summary."""
    with _engine_at_head(settings).connect() as conn:
        row = profile_of(conn, user)
    if row is None:
        raise click.ClickException(f"no user {user!r}")
    if row.summary is None:
        raise click.ClickException(f"user {user!r} has no profile yet: run `profiles rebuild`")
    click.echo(f"user {row.external_id}: {row.event_count} events, as of {row.as_of.isoformat()}")
    click.echo(json.dumps(row.summary, indent=2, ensure_ascii=False))


@profiles.command()
@click.argument("user")
@click.pass_obj
def update(settings: Settings, user: str) -> None:
    """Bring USER's stored profile up to date with their new events (no rebuild)."""
    summary = update_profile(_engine_at_head(settings), user)
    if summary is None:
        raise click.ClickException(f"user {user!r} has no stored profile: run `profiles rebuild`")
    click.echo(json.dumps(summary, indent=2, ensure_ascii=False))


@main.command("train")
@click.option("--epochs", type=click.IntRange(1), help="Most epochs (default: settings).")
@click.option("--dim", type=click.IntRange(2), help="Embedding size (default: settings).")
@click.option("--negatives", type=click.IntRange(1), help="Negatives per interaction.")
@click.option("--sampler", type=click.Choice(["uniform", "popularity", "hard"]))
@click.option("--batch-size", type=click.IntRange(8), default=512, show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=2e-3,
              show_default=True)  # fmt: skip
@click.option("--retrieval-loss", type=click.Choice(["softmax", "none"]), default="softmax",
              show_default=True, help="In-batch softmax beside RankNet's BCE.")  # fmt: skip
@click.option("--no-id-embeddings", is_flag=True, help="Content-only ItemNet.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--schema", help="Feature schema when no profiles are stored yet.")
@click.pass_obj
def train_command(settings: Settings, epochs: int | None, dim: int | None,
                  negatives: int | None, sampler: str | None, batch_size: int, lr: float,
                  retrieval_loss: str, no_id_embeddings: bool, seed: int,
                  schema: str | None) -> None:  # fmt: skip
    """Train UserNet, ItemNet and RankNet on the store's events, save and register the model.

    Validation is the latest share of events (FORECOURT_TRAIN_VAL_FRACTION); the model
    keeps its best epoch by validation precision@5 of the served path."""
    try:
        feature_schema = load_schema(schema or settings.feature_schema)
    except SchemaError as exc:
        raise click.ClickException(str(exc)) from exc
    engine = _engine_at_head(settings)
    try:
        result = train_model(
            engine, feature_schema, profile_config(settings), settings.artefacts,
            val_fraction=settings.train_val_fraction, max_examples=settings.train_max_examples,
            epochs=epochs or settings.train_epochs, dim=dim or settings.train_dim,
            neg_ratio=negatives or settings.train_negatives,
            sampler=sampler or settings.train_sampler, batch_size=batch_size, lr=lr,
            retrieval_loss=retrieval_loss, id_embeddings=not no_id_embeddings, seed=seed,
        )  # fmt: skip
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    m = result.metrics
    click.echo(
        f"model v{result.version}: {result.examples:,} examples, {result.validation_users:,}"
        f" validation users, best epoch {m['best_epoch']} of {m['epochs_run']};"
        f" validation precision@5 {m['val_precision@5']:.4f} (popularity"
        f" {m['val_popularity_precision@5']:.4f}), candidate recall@200"
        f" {m['val_candidate_recall@200']:.3f}; {m['seconds_per_epoch']:.1f}s/epoch,"
        f" {result.seconds:.0f}s in all -> {result.artefact}"
    )


@main.group("models")
def models_group() -> None:
    """The model registry."""


@models_group.command("list")
@click.pass_obj
def models_list(settings: Settings) -> None:
    """Every trained version with its status and validation metrics."""
    with _engine_at_head(settings).connect() as conn:
        rows = registry.versions(conn)
    for r in rows:
        p = r.metrics.get("val_precision@5")
        click.echo(f"v{r.id}\t{r.status}\t{r.schema_name}\tprecision@5="
                   f"{'-' if p is None else f'{p:.4f}'}\t{r.artefact or ''}")  # fmt: skip


@models_group.command("activate")
@click.argument("version", type=int)
@click.pass_obj
def models_activate(settings: Settings, version: int) -> None:
    """Make VERSION the serving model (the active one is retired)."""
    try:
        with _engine_at_head(settings).begin() as conn:
            registry.activate(conn, version)
    except (LookupError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"model v{version} is active")


@main.command("evaluate")
@click.option("--dataset", type=click.Choice(sorted(DATASET_FOLDERS)),
              help="Import this dataset into its own database and evaluate on it.")  # fmt: skip
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False),
              help="Folder holding the dataset folders (default: settings).")  # fmt: skip
@click.option("--from-db", is_flag=True, help="Evaluate on what the database already holds.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Where report.md, metrics.json and map_at_k.png go.")  # fmt: skip
@click.option("--seeds", type=click.IntRange(1), default=3, show_default=True)
@click.option("--epochs", type=click.IntRange(1), default=30, show_default=True)
@click.option("--test-fraction", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=0.2, show_default=True, help="Latest share of events held out.")  # fmt: skip
@click.option("--candidates", type=click.IntRange(1), default=200, show_default=True)
@click.option("--no-tune", is_flag=True, help="Baselines with default parameters (faster).")
@click.option("--schema", help="Feature schema for --from-db (default: settings).")
@click.pass_obj
def evaluate_command(settings: Settings, dataset: str | None, data_dir: Path | None,
                     from_db: bool, out: Path, seeds: int, epochs: int, test_fraction: float,
                     candidates: int, no_tune: bool, schema: str | None) -> None:  # fmt: skip
    """Forecourt against popularity, LightFM (CF and hybrid) and ALS on one temporal split:
    writes report.md, metrics.json and a MAP@k plot to OUT."""
    if bool(dataset) == from_db:
        raise click.UsageError("give exactly one of --dataset NAME and --from-db")
    cfg = profile_config(settings)
    if dataset:
        folder = (data_dir or settings.data_dir) / DATASET_FOLDERS[dataset]
        if not folder.is_dir():
            raise click.ClickException(f"no {dataset} data at {folder} (use --data-dir)")
        url = fresh_database(settings, f"forecourt_eval_{dataset.replace('-', '_')}")
        engine = make_engine(settings.model_copy(update={"database_url": url}))
        migrate.upgrade(engine)
        log = settings.rejects_dir / f"evaluate-{dataset}.csv"
        with RejectLog(log, echo=False) as rejects:
            try:
                datasets.import_dataset(engine, dataset, folder, rejects)
            except (FileNotFoundError, ValueError) as exc:
                raise click.ClickException(str(exc)) from exc
        cfg = replace(cfg, **DATASET_PROFILES[dataset])
        feature_schema = load_schema(dataset)
    else:
        engine = _engine_at_head(settings)
        try:
            feature_schema = load_schema(schema or settings.feature_schema)
        except SchemaError as exc:
            raise click.ClickException(str(exc)) from exc
    config = EvalConfig(dataset=dataset or "database", test_fraction=test_fraction, seeds=seeds,
                        candidates=candidates, tune=not no_tune,
                        train_params={"epochs": epochs,
                                      **DATASET_TRAINING.get(dataset or "", {})})  # fmt: skip
    uri = settings.milvus_uri or str((out / "milvus.db").resolve())
    try:
        doc = evaluation.run(engine, feature_schema, cfg, config, uri, log=click.echo)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    files = evaluation_report.write(doc, out)
    name, score = evaluation_report.best_baseline(doc)
    for model, m in doc["models"].items():
        click.echo(f"{model:>22}: map@5 {m['map@5']:.4f} ± {m['map@5_std']:.4f}")
    served = doc["models"]["forecourt-served"]["map@5"]
    click.echo(f"forecourt-served / best baseline ({name}): {served / score if score else 0:.2f}x")
    click.echo("wrote " + ", ".join(str(f) for f in files))


main.add_command(demo)
for command in (publish_command, serve, recommend, worker, beat):
    main.add_command(command)

__all__ = ["main"]
