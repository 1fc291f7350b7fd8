"""``forecourt import``: catalogues, users, events and whole datasets."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click

from backend.db.engine import make_engine
from backend.ingest import catalogues, pipeline
from backend.ingest.datasets import DATASETS, DatasetConflict, import_dataset
from backend.ingest.pipeline import ImportStats
from backend.ingest.reader import FormatError, resolve_file
from backend.ingest.rejects import RejectLog
from backend.ingest.sources import generic
from backend.settings import Settings
from models.schema import SchemaError, load_schema

REJECTS_HELP = "CSV file listing every rejected row (default: under FORECOURT_HOME/rejects/)."


def _rejects_path(settings: Settings, given: Path | None, what: str) -> Path:
    # Microseconds and pid: two imports in the same second must not share a rejects file.
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")
    return given or settings.rejects_dir / f"{stamp}-{os.getpid()}-{what}.csv"


def _check_rejects_path(path: Path, source: Path) -> None:
    """Fail before reading anything if the rejects file would clobber the input or cannot be
    written, rather than at the first reject, half-way through an import."""
    target = path.resolve()
    inputs = [source.resolve()]
    if source.is_dir():
        inputs += [p.resolve() for p in source.iterdir()]
    if target in inputs:
        raise click.ClickException(f"--rejects {path} would overwrite the input")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        existed = path.exists()
        with path.open("a", encoding="utf-8"):
            pass
        if not existed:
            path.unlink()
    except OSError as exc:
        raise click.ClickException(f"cannot write rejects to {path}: {exc.strerror}") from exc


@contextmanager
def _reported(path: Path, source: Path) -> Iterator[RejectLog]:
    """Turn file-level problems into a clean CLI error and print where rejects went."""
    _check_rejects_path(path, source)
    try:
        with RejectLog(path) as rejects:
            yield rejects
    except (FormatError, SchemaError, DatasetConflict) as exc:
        raise click.ClickException(str(exc)) from exc
    if rejects.rows_rejected or rejects.fields_dropped:
        click.echo(f"rejects written to {path}", err=True)


def _print(stats: list[ImportStats]) -> None:
    for s in stats:
        click.echo(s.summary())


def _schema(settings: Settings, name: str | None):
    try:
        return load_schema(name or settings.feature_schema)
    except SchemaError as exc:
        raise click.ClickException(str(exc)) from exc


path_arg = click.argument("path", type=click.Path(path_type=Path))
rejects_opt = click.option(
    "--rejects", type=click.Path(path_type=Path, dir_okay=False, writable=True), help=REJECTS_HELP
)
schema_opt = click.option("--schema", help="Feature schema name or TOML file (default: settings).")


@click.group("import")
def import_() -> None:
    """Load files into the database (streaming, COPY, idempotent)."""


@import_.command()
@path_arg
@click.option(
    "--format", "fmt", type=click.Choice(sorted(catalogues.FORMATS)), help="Default: from header."
)
@schema_opt
@rejects_opt
@click.pass_obj
def vehicles(
    settings: Settings, path: Path, fmt: str | None, schema: str | None, rejects: Path | None
) -> None:
    """Import a vehicle catalogue CSV (or a folder holding one)."""
    feature_schema = _schema(settings, schema)
    with _reported(_rejects_path(settings, rejects, "vehicles"), path) as log:
        file = resolve_file(path)
        fmt = fmt or catalogues.detect(file)
        read: Callable[..., Iterator] = catalogues.FORMATS[fmt]
        rows = read(file, schema=feature_schema, usd_to_eur=settings.usd_to_eur)
        stats = pipeline.import_vehicles(
            make_engine(settings),
            rows,
            schema=feature_schema,
            source=fmt,
            where=str(file),
            rejects=log,
            batch_rows=settings.import_batch_rows,
        )
    _print([stats])


@import_.command()
@path_arg
@schema_opt
@rejects_opt
@click.pass_obj
def users(settings: Settings, path: Path, schema: str | None, rejects: Path | None) -> None:
    """Import users with their attributes (generic CSV: user_id + user feature columns)."""
    feature_schema = _schema(settings, schema)
    with _reported(_rejects_path(settings, rejects, "users"), path) as log:
        file = resolve_file(path)
        stats = pipeline.import_users(
            make_engine(settings),
            generic.read_users(file, schema=feature_schema),
            schema=feature_schema,
            where=str(file),
            rejects=log,
            batch_rows=settings.import_batch_rows,
        )
    _print([stats])


@import_.command()
@path_arg
@rejects_opt
@click.pass_obj
def events(settings: Settings, path: Path, rejects: Path | None) -> None:
    """Import interaction events (generic CSV); replaying a file adds nothing."""
    with _reported(_rejects_path(settings, rejects, "events"), path) as log:
        file = resolve_file(path)
        stats = pipeline.import_events(
            make_engine(settings),
            generic.read_events(file),
            where=str(file),
            rejects=log,
            batch_rows=settings.import_batch_rows,
        )
    _print([stats])


@import_.command()
@click.argument("name", type=click.Choice(DATASETS))
@path_arg
@rejects_opt
@click.pass_obj
def dataset(settings: Settings, name: str, path: Path, rejects: Path | None) -> None:
    """Import a whole evaluation dataset (items, users, events) from its folder."""
    with _reported(_rejects_path(settings, rejects, name), path) as log:
        stats = import_dataset(
            make_engine(settings), name, path, log, batch_rows=settings.import_batch_rows
        )
    _print(stats)
