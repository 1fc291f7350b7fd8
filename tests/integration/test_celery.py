"""A real Celery worker against Redis: POST /v1/admin/retrain -> the job succeeds -> the
active version changes -> recommendations come from it. The worker and the API share one
Milvus Lite database, served over a URI (Milvus Lite opens a file in one process only)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from backend.api import build_services, create_app
from backend.services.task_queue import CeleryQueue
from backend.settings import Settings
from tests.integration.cli import ok
from tests.integration.market import marketplace

REDIS = os.environ.get("FORECOURT_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
ADMIN = {"Authorization": "Bearer admin-t"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url() -> str:
    import redis

    try:
        client = redis.Redis.from_url(REDIS, socket_connect_timeout=2)
        client.flushdb()  # leftovers of an interrupted run must not reach this worker
    except redis.exceptions.ConnectionError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis not reachable at {REDIS}: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS}")
    return REDIS


@pytest.fixture(scope="module")
def milvus_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`forecourt milvus --lite`: one Milvus Lite file served to the worker and the API."""
    home, port = tmp_path_factory.mktemp("lite"), _free_port()
    with _started(["milvus", "--lite", "--port", str(port)], {"FORECOURT_HOME": str(home)},
                  home / "milvus.log", "Milvus Lite serving"):  # fmt: skip
        yield f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def _started(args: list[str], env: dict[str, str], log: Path, ready: str) -> Iterator[None]:
    """``forecourt ARGS`` in the background until it logs ``ready``; SIGTERM at the end."""
    forecourt = Path(sys.executable).with_name("forecourt")
    with log.open("w") as out:
        proc = subprocess.Popen([str(forecourt), *args], env={**os.environ, **env}, stdout=out,
                                stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while ready not in log.read_text():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def env(server_url: str, template_db: str, redis_url: str, milvus_uri: str,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:  # fmt: skip
    tmp = tmp_path_factory.mktemp("celery")
    for base in marketplace(server_url, template_db, tmp, vehicles=300, users=30, events=3000,
                            trainings=(("--epochs", "1", "--dim", "16"),)):  # fmt: skip
        yield {**base, "FORECOURT_MILVUS_URI": milvus_uri, "FORECOURT_MILVUS_INDEX": "FLAT",
               "FORECOURT_BROKER_URL": redis_url, "FORECOURT_TRAIN_EPOCHS": "1",
               "FORECOURT_TRAIN_DIM": "16", "FORECOURT_RETRAIN_GATE_TOLERANCE": "1",
               "FORECOURT_ADMIN_TOKEN": "admin-t", "FORECOURT_SERVE_MODEL_TTL_S": "0"}  # fmt: skip


@pytest.fixture(scope="module")
def worker(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    with _started(["worker", "--concurrency", "1", "--loglevel", "INFO"], env, log, "ready."):
        yield


@contextlib.contextmanager
def _api(env: dict[str, str]) -> Iterator[FlaskClient]:
    """The Flask app as `forecourt serve` builds it from ``env``, jobs sent to Celery."""
    settings = Settings(_env_file=None, **{k[len("FORECOURT_"):].lower(): v for k, v in
                                           env.items() if k.startswith("FORECOURT_")})  # fmt: skip
    services = build_services(settings)
    services.jobs = CeleryQueue(settings, services.engine)
    try:
        yield create_app(services=services).test_client()
    finally:
        services.store.close()
        services.engine.dispose()


def test_retrain_through_a_real_worker(env: dict[str, str], worker: None) -> None:
    ok(env, "publish")  # v1 serves
    with _api(env) as client:
        before = client.get("/v1/users/u1/recommendations?k=5").json
        assert before["model_version"] == 1, before
        r = client.post("/v1/admin/retrain", headers=ADMIN)
        assert r.status_code == 202, r.json
        job = r.json["job_id"]
        deadline, status = time.monotonic() + 240, {}
        while time.monotonic() < deadline:
            status = client.get(f"/v1/admin/jobs/{job}", headers=ADMIN).json
            if status["status"] in ("succeeded", "failed"):
                break
            time.sleep(0.5)
        assert status["status"] == "succeeded", status
        assert status["name"] == "pipeline.retrain" and status["attempts"] == 1
        assert status["summary"]["published"] is True and status["summary"]["version"] == 2
        models = client.get("/v1/admin/models", headers=ADMIN).json["models"]
        assert [(m["version"], m["status"]) for m in models] == [(1, "retired"), (2, "active")]
        after = client.get("/v1/users/u1/recommendations?k=5").json
        assert after["model_version"] == 2 and len(after["items"]) == 5
        listed = client.get("/v1/admin/jobs", headers=ADMIN).json["jobs"]
        assert listed[0]["id"] == job


def test_a_broker_that_is_away_is_a_503_and_loses_no_event(env: dict[str, str]) -> None:
    away = {**env, "FORECOURT_BROKER_URL": "redis://127.0.0.1:1/0",
            "FORECOURT_INGEST_TOKEN": "ingest-t"}  # fmt: skip
    with _api(away) as client:
        r = client.post("/v1/admin/profiles/rebuild", headers=ADMIN)
        assert r.status_code == 503 and r.json["error"]["code"] == "queue-unavailable"
        event = {"id": "away-1", "user_id": "u1", "vehicle_id": "sim-1", "type": "view"}
        r = client.post("/v1/events", json={"events": [event]},
                        headers={"Authorization": "Bearer ingest-t"})  # fmt: skip
        assert r.status_code == 200 and r.json["loaded"] == 1, r.json
        assert r.json["profile_jobs"] == [] and "not updated now" in r.json["warning"]
        jobs = client.get("/v1/admin/jobs", headers=ADMIN).json["jobs"]
        assert {
            j["status"]
            for j in jobs
            if j["name"] in ("profiles.rebuild_all", "profiles.update_user")
        } == {"failed"}


def test_a_milvus_that_goes_away_is_a_503_within_the_search_timeout(
    env: dict[str, str], tmp_path: Path
) -> None:
    """Without a bound, pymilvus retries a dead server for minutes while the request waits."""
    port = _free_port()
    mine = {**env, "FORECOURT_MILVUS_URI": f"http://127.0.0.1:{port}",
            "FORECOURT_MILVUS_SEARCH_TIMEOUT_S": "2"}  # fmt: skip
    with contextlib.ExitStack() as milvus:
        milvus.enter_context(_started(["milvus", "--lite", "--port", str(port)],
                                      {"FORECOURT_HOME": str(tmp_path)},
                                      tmp_path / "milvus.log", "Milvus Lite serving"))  # fmt: skip
        with _api(mine) as client:
            models = client.get("/v1/admin/models", headers=ADMIN).json["models"]
            active = next(m["version"] for m in models if m["status"] in ("active", "ready"))
            ok(mine, "publish", "--version", str(active))
            assert client.get("/v1/users/u1/recommendations?k=5").status_code == 200
            milvus.close()  # the server stops; the API's client still points at it
            started = time.monotonic()
            r = client.get("/v1/users/u1/recommendations?k=5")
            took = time.monotonic() - started
    assert r.status_code == 503, r.json
    assert r.json["error"]["code"] == "vector-store-unavailable"
    assert took < 20, took  # the 2 s search bound plus pymilvus' last back-off, not minutes
