"""The worker jobs as Celery and the in-process runner run them: each recorded in ``jobs``,
each idempotent; a failing publication leaves the serving version; the retrain gate."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from sqlalchemy import text

from backend.db import jobs as job_rows
from backend.db import registry
from backend.settings import Settings
from models import checkpoint
from models.schema import load_schema
from tests.integration.market import marketplace
from workers.execution import WorkerContext, run_recorded
from workers.jobs import pipeline
from workers.jobs.profiles import profile_config
from workers.jobs.training import prepare


@pytest.fixture(scope="module")
def ctx(server_url: str, template_db: str,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerContext]:  # fmt: skip
    """400 vehicles, 40 users, 4,000 events; v1 trained and published by the jobs."""
    tmp = tmp_path_factory.mktemp("workers")
    for env in marketplace(server_url, template_db, tmp, vehicles=400, users=40, events=4000):
        settings = Settings(database_url=env["FORECOURT_DATABASE_URL"], home=tmp / "var",
                            train_epochs=2, train_dim=16)  # fmt: skip
        context = WorkerContext(settings)
        run(context, "training.train")
        run(context, "index.publish")
        yield context
        context.close()
        context.engine.dispose()


def run(ctx: WorkerContext, name: str, **kwargs: Any) -> Any:
    job = uuid.uuid4().hex
    result = run_recorded(ctx, job, name, kwargs)
    with ctx.engine.connect() as conn:
        row = job_rows.get(conn, job)
    assert row is not None and row["status"] == "succeeded" and row["attempts"] == 1, row
    assert row["finished_at"] >= row["started_at"]
    return result


def _scalar(ctx: WorkerContext, sql: str, **params: Any) -> Any:
    with ctx.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def _active(ctx: WorkerContext) -> Any:
    with ctx.engine.connect() as conn:
        return registry.active(conn)


def _profiles(ctx: WorkerContext) -> list[tuple]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(text("SELECT user_id, vector, event_count FROM user_profiles"
                                 " ORDER BY user_id"))  # fmt: skip
        return [tuple(r) for r in rows]


def test_publish_and_rebuild_run_twice_to_the_same_state(ctx: WorkerContext) -> None:
    first = run(ctx, "index.publish", version=1)
    again = run(ctx, "index.publish", version=1)
    assert first["vectors"] == again["vectors"] == ctx.store.count("vehicles_v1") == 400
    assert _active(ctx).id == 1
    before = _profiles(ctx)
    run(ctx, "profiles.rebuild_all")
    run(ctx, "profiles.rebuild_all")
    assert _profiles(ctx) == before and len(before) == 40


def test_profile_refresh_and_update_are_idempotent(ctx: WorkerContext) -> None:
    user, count = ctx.engine.connect().execute(text(
        "SELECT u.external_id, p.event_count FROM user_profiles p JOIN users u"
        " ON u.id = p.user_id ORDER BY u.id LIMIT 1")).one()  # fmt: skip
    assert run(ctx, "profiles.refresh") == {"stale": 0, "updated": 0}
    with ctx.engine.begin() as conn:  # an event imported behind the API's back
        conn.execute(text(
            "INSERT INTO events (user_id, vehicle_id, type, occurred_at, idempotency_key)"
            " SELECT u.id, (SELECT min(id) FROM vehicles), 'contact',"
            " (SELECT max(occurred_at) FROM events), 'refresh-test'"
            " FROM users u WHERE u.external_id = :u"), {"u": user})  # fmt: skip
    assert run(ctx, "profiles.refresh") == {"stale": 1, "updated": 1}
    assert run(ctx, "profiles.refresh") == {"stale": 0, "updated": 0}
    counted = "SELECT p.event_count FROM user_profiles p JOIN users u ON u.id = p.user_id" \
        " WHERE u.external_id = :u"  # fmt: skip
    assert _scalar(ctx, counted, u=user) == count + 1
    once = run(ctx, "profiles.update_user", user=user)
    assert run(ctx, "profiles.update_user", user=user) == once
    assert _scalar(ctx, counted, u=user) == count + 1


def test_catalogue_sync_follows_changes_once(ctx: WorkerContext) -> None:
    assert run(ctx, "index.sync_changed")["upserted"] == 0
    sold, repriced = ctx.engine.connect().execute(
        text("SELECT id FROM vehicles ORDER BY id LIMIT 2")).scalars().all()  # fmt: skip
    with ctx.engine.begin() as conn:
        conn.execute(text("UPDATE vehicles SET status = 'sold' WHERE id = :v"), {"v": sold})
        conn.execute(text("UPDATE vehicles SET features = features || '{\"price\": 4321}'"
                          " WHERE id = :v"), {"v": repriced})  # fmt: skip
    done = run(ctx, "index.sync_changed")
    assert (done["deleted"], done["upserted"]) == (1, 1)
    assert run(ctx, "index.sync_changed") | {"since": None} == {
        "version": 1, "since": None, "upserted": 0, "deleted": 0}  # fmt: skip
    assert ctx.store.vectors("vehicles_v1", np.array([sold])) == {}
    assert ctx.store.count("vehicles_v1") == 399
    # Named vehicles, as the ingestion path sends them: the same outcome however often.
    for _ in range(2):
        assert run(ctx, "index.upsert_vehicles", ids=[repriced]) == {
            "version": 1, "upserted": 1, "deleted": 0}  # fmt: skip
        assert run(ctx, "index.delete_vehicles", ids=[sold])["deleted"] == 1
    assert ctx.store.count("vehicles_v1") == 399


def test_a_failing_publish_leaves_the_active_version_serving(
    ctx: WorkerContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = run(ctx, "training.train")["version"]

    def milvus_dies(*_: Any, **__: Any) -> int:  # a fault we cannot cause on Milvus Lite
        raise ConnectionError("Milvus went away mid-publish")

    monkeypatch.setattr(ctx.store, "insert", milvus_dies)
    job = uuid.uuid4().hex
    with pytest.raises(ConnectionError):
        run_recorded(ctx, job, "index.publish", {"version": version})
    with ctx.engine.connect() as conn:
        row = job_rows.get(conn, job)
        assert row is not None and row["status"] == "failed"
        assert "Milvus went away" in row["error"]
        assert registry.active(conn).id == 1
        assert registry.get(conn, version).collection is None
    monkeypatch.undo()
    assert ctx.store.count("vehicles_v1") == 399  # the serving collection is untouched
    # gc spares the ready version's half-built collection (it may be publishing) and keeps
    # the active one; a second run finds nothing more.
    run(ctx, "maintenance.gc")
    assert run(ctx, "maintenance.gc")["collections_dropped"] == []
    assert "vehicles_v1" in ctx.store.collections()


def test_the_gate_refuses_a_worse_model(ctx: WorkerContext, tmp_path: Path) -> None:
    s = ctx.settings
    prepared = prepare(ctx.engine, load_schema(s.feature_schema), profile_config(s),
                       val_fraction=s.train_val_fraction)  # fmt: skip
    good = Path(_active(ctx).artefact)
    same = pipeline.judge(ctx.engine, s, prepared, good)
    assert same.passed and same.new == same.active
    artefact = checkpoint.load(good)
    torch.manual_seed(0)
    with torch.no_grad():  # the same architecture with its learning thrown away
        for p in artefact.nets.parameters():
            p.copy_(torch.randn_like(p))
    bad = checkpoint.save(tmp_path / "scrambled.pt", artefact)
    verdict = pipeline.judge(ctx.engine, s, prepared, bad)
    assert not verdict.passed and verdict.active is not None
    assert verdict.new < verdict.active
    assert "worse than active v1" in verdict.reason

    # Through the whole pipeline: a version that cannot clear the bar is kept, not served.
    result = pipeline.retrain(ctx.engine, ctx.store, s, epochs=1, tolerance=-1.0)
    assert result["published"] is False
    with ctx.engine.connect() as conn:
        assert registry.active(conn).id == 1
        row = conn.execute(text("SELECT status, collection, error FROM model_versions"
                                " WHERE id = :v"), {"v": result["version"]}).one()  # fmt: skip
    assert (row.status, row.collection) == ("rejected", None)
    assert "worse than active v1" in row.error


def test_only_one_training_at_a_time(ctx: WorkerContext) -> None:
    from workers.execution import TRAINING_LOCK, Busy

    with ctx.engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": TRAINING_LOCK})
        job = uuid.uuid4().hex
        with pytest.raises(Busy):
            run_recorded(ctx, job, "training.train", {})
        holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": TRAINING_LOCK})
    with ctx.engine.connect() as conn:
        assert job_rows.get(conn, job)["error"].endswith(
            "Busy: another training run is in progress"
        )  # type: ignore[index]
