"""The event loader's fast COPY path and its ON CONFLICT fallback agree, also concurrently."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from backend.ingest import pipeline
from backend.ingest.records import EventRow, VehicleRow
from backend.ingest.rejects import RejectLog
from models.schema import load_schema

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _catalogue(engine: Engine, n: int) -> None:
    rows = [VehicleRow(i + 2, f"v{i}", {"price": 1000 + i, "make": "vw"}) for i in range(n)]
    pipeline.import_vehicles(
        engine, rows, schema=load_schema("vehicles"), source="t", where="t",
        rejects=RejectLog(None, echo=False),
    )  # fmt: skip


def _events(keys: list[int]) -> list[EventRow]:
    return [
        EventRow(line=k + 2, key=f"e{k}", user=f"u{k % 37}", vehicle=f"v{k % 50}", type="view",
                 occurred_at=T0 + timedelta(minutes=k))
        for k in keys
    ]  # fmt: skip


def _load(engine: Engine, rows: list[EventRow], batch: int, writers: int) -> pipeline.ImportStats:
    return pipeline.import_events(
        engine, rows, where="t", rejects=RejectLog(None, echo=False), batch_rows=batch,
        writers=writers,
    )  # fmt: skip


def _stored(engine: Engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT e.idempotency_key, u.external_id, v.external_id FROM events e"
                " JOIN users u ON u.id = e.user_id JOIN vehicles v ON v.id = e.vehicle_id"
                " ORDER BY 1"
            )
        ).all()


def test_partial_overlap_takes_the_fallback(engine: Engine) -> None:
    _catalogue(engine, 50)
    first = _load(engine, _events(list(range(0, 60))), batch=1000, writers=1)
    assert (first.loaded, first.duplicates) == (60, 0)
    second = _load(engine, _events(list(range(40, 100))), batch=1000, writers=1)
    assert (second.loaded, second.duplicates) == (40, 20)
    stored = _stored(engine)
    assert len(stored) == 100
    assert ("e99", "u25", "v49") in stored  # ids resolved to the right user and vehicle


def test_concurrent_writers_with_shuffled_replays(engine: Engine) -> None:
    _catalogue(engine, 50)
    rng = random.Random(7)
    keys = list(range(2_000)) + rng.sample(range(2_000), 700)  # replays spread over batches
    rng.shuffle(keys)
    stats = _load(engine, _events(keys), batch=97, writers=3)
    assert stats.loaded == 2_000
    assert stats.duplicates == 700
    assert len(_stored(engine)) == 2_000
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM users")).scalar_one() == 37
        dangling = conn.execute(
            text(
                "SELECT count(*) FROM events e WHERE NOT EXISTS"
                " (SELECT 1 FROM users u WHERE u.id = e.user_id)"
            )
        )
        assert dangling.scalar_one() == 0
    # A full replay with several writers adds nothing.
    again = _load(engine, _events(keys), batch=97, writers=3)
    assert (again.loaded, again.duplicates) == (0, 2_700)


def test_two_concurrent_imports_of_the_same_new_vehicles(engine: Engine) -> None:
    """The loser of the race on a new id retries its batch and finds the rows unchanged."""
    from concurrent.futures import ThreadPoolExecutor

    rows = [VehicleRow(i + 2, f"c{i}", {"price": 1000 + i, "make": "vw"}) for i in range(3_000)]

    def run() -> pipeline.ImportStats:
        return pipeline.import_vehicles(
            engine, list(rows), schema=load_schema("vehicles"), source="t", where="t",
            rejects=RejectLog(None, echo=False), batch_rows=500,
        )  # fmt: skip

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.submit(run), pool.submit(run)
        a, b = first.result(), second.result()
    assert a.loaded + b.loaded == 3_000
    assert a.unchanged + b.unchanged == 3_000
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM vehicles")).scalar_one() == 3_000
        assert conn.execute(text("SELECT count(*) FROM vehicle_versions")).scalar_one() == 3_000
