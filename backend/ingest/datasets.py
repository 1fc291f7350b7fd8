"""Whole evaluation datasets (items, users, events) imported in dependency order."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text

from backend.ingest import pipeline
from backend.ingest.pipeline import ImportStats
from backend.ingest.rejects import RejectLog
from backend.ingest.sources import movielens, taobao
from models.schema import load_schema

DATASETS = (movielens.NAME, taobao.NAME)


class DatasetConflict(ValueError):
    """The database already holds another catalogue; dataset ids would collide with it."""


def _check_alone(engine: Engine, name: str) -> None:
    with engine.connect() as conn:
        others = conn.execute(
            text("SELECT source, count(*) FROM vehicles WHERE source <> :name GROUP BY source"),
            {"name": name},
        ).all()
    if others:
        held = ", ".join(f"{n:,} from {s}" for s, n in others)
        raise DatasetConflict(
            f"the database already holds items ({held}); import {name} into its own database "
            "(FORECOURT_DATABASE_URL, or FORECOURT_EMBEDDED_DATABASE for the embedded server)"
        )


def import_dataset(
    engine: Engine, name: str, path: Path, rejects: RejectLog, batch_rows: int = 100_000
) -> list[ImportStats]:
    """Datasets keep their own ids (user 196 stays "196"), so each needs its own database."""
    _check_alone(engine, name)
    if name == movielens.NAME:
        return _movielens(engine, path, rejects, batch_rows)
    if name == taobao.NAME:
        return _taobao(engine, path, rejects, batch_rows)
    raise ValueError(f"unknown dataset {name!r}; known: {DATASETS}")


def _movielens(engine: Engine, path: Path, rejects: RejectLog, batch: int) -> list[ImportStats]:
    movielens.check(path)
    schema = load_schema(movielens.SCHEMA)
    items = pipeline.import_vehicles(
        engine,
        movielens.read_items(path),
        schema=schema,
        source=movielens.NAME,
        where=str(path / "u.item"),
        rejects=rejects,
        batch_rows=batch,
    )
    users = pipeline.import_users(
        engine,
        movielens.read_users(path),
        schema=schema,
        where=str(path / "u.user"),
        rejects=rejects,
        batch_rows=batch,
    )
    events = pipeline.import_events(
        engine, movielens.read_events(path), where=str(path / "u.data"), rejects=rejects,
        batch_rows=batch,
    )  # fmt: skip
    return [items, users, events]


def _taobao(engine: Engine, path: Path, rejects: RejectLog, batch: int) -> list[ImportStats]:
    file = taobao.find_file(path)
    schema = load_schema(taobao.SCHEMA)
    items = pipeline.import_vehicles(
        engine,
        taobao.read_items(file),
        schema=schema,
        source=taobao.NAME,
        where=str(file),
        rejects=rejects,
        batch_rows=batch,
    )
    events = pipeline.import_events(
        engine, taobao.read_events(file), where=str(file), rejects=rejects, batch_rows=batch
    )
    return [items, events]
