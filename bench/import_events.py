"""Events imported per second: the COPY pipeline against a row-by-row ORM path, side by side.

    python bench/import_events.py [--events 1000000] [--orm-events 20000]

Uses FORECOURT_DATABASE_URL's server (or the embedded one) and a scratch database on it.
Both paths read the same generated generic CSV, so parsing is included in both figures.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import click
import psycopg
from sqlalchemy import create_engine, make_url, select, text
from sqlalchemy.orm import Session

from backend.db import migrate
from backend.db.engine import database_url
from backend.db.tables import Event, EventType, User, Vehicle
from backend.ingest import pipeline, synthetic
from backend.ingest.rejects import RejectLog
from backend.ingest.sources import generic
from backend.settings import Settings
from models.schema import load_schema

TARGET = 100_000  # events/s on the 2-core reference machine (issue #2)


def scratch_database(settings: Settings, name: str) -> str:
    url = make_url(database_url(settings))
    admin = url.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


def orm_import(engine, rows: list, commit_every: int = 1000) -> int:
    """What a straightforward ORM loader does: look up, check, add, one row at a time."""
    loaded = 0
    with Session(engine) as session:
        for n, r in enumerate(rows, start=1):
            if session.scalar(select(Event.id).where(Event.idempotency_key == r.key)):
                continue
            vehicle = session.scalar(select(Vehicle.id).where(Vehicle.external_id == r.vehicle))
            if vehicle is None:
                continue
            user = session.scalar(select(User.id).where(User.external_id == r.user))
            if user is None:
                obj = User(external_id=r.user)
                session.add(obj)
                session.flush()
                user = obj.id
            session.add(
                Event(
                    user_id=user,
                    vehicle_id=vehicle,
                    type=EventType(r.type),
                    occurred_at=r.occurred_at,
                    value=r.value,
                    idempotency_key=r.key,
                )
            )
            loaded += 1
            if n % commit_every == 0:
                session.commit()
        session.commit()
    return loaded


def copy_import(engine, path: Path, writers: int, batch_rows: int) -> tuple[int, float]:
    stats = pipeline.import_events(
        engine,
        generic.read_events(path, progress=False),
        where=str(path),
        rejects=RejectLog(None, echo=False),
        batch_rows=batch_rows,
        writers=writers,
    )
    return stats.loaded + stats.duplicates, stats.seconds


@click.command()
@click.option("--events", default=1_000_000, show_default=True)
@click.option("--orm-events", default=20_000, show_default=True)
@click.option("--vehicles", default=100_000, show_default=True)
@click.option("--users", default=20_000, show_default=True)
def main(events: int, orm_events: int, vehicles: int, users: int) -> None:
    settings = Settings()
    schema = load_schema("vehicles")
    results: dict[str, float] = {"events": events}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        ids = synthetic.write_vehicles(work / "vehicles.csv", vehicles)
        synthetic.write_events(work / "events.csv", ids, users, events)
        synthetic.write_events(work / "orm.csv", ids, users, orm_events, seed=1)
        print(
            f"generated {vehicles:,} vehicles, {events:,} events: {time.perf_counter() - t0:.1f}s"
        )

        runs = [("copy_1_writer", 1), ("copy_2_writers", 2), ("copy_replay", 2), ("orm", 0)]
        engine = None
        for label, writers in runs:
            if label != "copy_replay":  # the replay reuses the previous database on purpose
                engine = create_engine(scratch_database(settings, "forecourt_bench"))
                migrate.upgrade(engine)
                pipeline.import_vehicles(
                    engine,
                    generic.read_vehicles(work / "vehicles.csv", schema=schema),
                    schema=schema,
                    source="bench",
                    where="vehicles.csv",
                    rejects=RejectLog(None, echo=False),
                )
            if writers:
                n, seconds = copy_import(engine, work / "events.csv", writers, 100_000)
            else:
                t = time.perf_counter()
                rows = list(generic.read_events(work / "orm.csv", progress=False))
                n = orm_import(engine, rows)
                seconds = time.perf_counter() - t
            with engine.connect() as conn:
                stored = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
            expected = orm_events if label == "orm" else events
            assert stored == expected, (label, stored, expected)
            results[f"{label}_events_per_s"] = round(n / seconds)
            print(f"{label:>15}: {n:>9,} events in {seconds:6.1f}s = {n / seconds:>9,.0f} events/s")
            engine.dispose()

    best = max(results["copy_1_writer_events_per_s"], results["copy_2_writers_events_per_s"])
    results["import_events_per_s"] = best
    results["copy_over_orm"] = round(best / results["orm_events_per_s"], 1)
    verdict = "met" if best >= TARGET else "NOT met"
    print(f"COPY pipeline: {results['copy_over_orm']:.0f}x the row-by-row ORM path")
    print(f"target >= {TARGET:,} events/s: {verdict}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
