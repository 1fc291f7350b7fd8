"""The main job, end to end on a test database, without real data (simulated marketplace)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tests.integration.cli import ok


def test_demo_without_data(engine: Engine, cli_env: dict, tmp_path: Path) -> None:
    env = {**cli_env, "FORECOURT_DATA_DIR": str(tmp_path / "no-data")}
    out = ok(env, "demo", "--users", "50", "--events", "3000")
    assert "simulating a marketplace fitted to AutoScout24" in out
    assert "simulated marketplace: events: 3000 loaded" in out
    assert "user_profiles: 50" in out
    assert out.count("events; likes {") == 2
    assert "model v1: " in out and "published v1: " in out and "API serving at http://" in out
    # The API answered over HTTP with two users' recommendations, each with its reasons.
    assert out.count("/recommendations?k=5 (model v1") == 2
    assert out.count("\n  5. ") == 2 and "       - " in out
    assert "evaluation on the latest 10% of events" in out and "by popularity" in out
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM vehicles")).scalar_one() == 20_000
        assert conn.execute(text("SELECT status FROM model_versions")).scalar_one() == "active"
    again = ok(env, "demo", "--users", "50", "--events", "3000")
    assert "simulated marketplace: vehicles: 0 loaded, 0 updated, 20000 unchanged" in again
    assert "simulated marketplace: events: 0 loaded" in again


def test_demo_on_movielens(data_dir: Path, cli_env: dict, server_url: str) -> None:
    """Real interactions: the dataset in a database of its own, served over HTTP."""
    import psycopg

    out = ok(cli_env, "demo", "--dataset", "movielens-100k", "--data-dir", str(data_dir),
             "--epochs", "1")  # fmt: skip
    assert "events: 100000 loaded" in out and "user_profiles: 943" in out
    assert out.count("/recommendations?k=5 (model v1)") == 2
    assert "release year 19" in out and "release year 1,9" not in out
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute('DROP DATABASE IF EXISTS "forecourt_demo_movielens_100k" WITH (FORCE)')


def test_demo_starts_the_milvus_server_for_a_large_catalogue(
    engine: Engine, cli_env: dict, tmp_path: Path
) -> None:
    """Above FORECOURT_MILVUS_SERVER_ABOVE vehicles on sale, the demo publishes to the real
    standalone server it starts on loopback (HNSW), serves from it and stops it."""
    pytest.importorskip("milvus", reason="the `server` extra (make installs it)")
    env = {**cli_env, "FORECOURT_MILVUS_SERVER_ABOVE": "100"}
    env.pop("FORECOURT_MILVUS_URI", None)
    out = ok(env, "demo", "--vehicles", "3000", "--users", "40", "--events", "2000",
             "--epochs", "1")  # fmt: skip
    assert "3,000 vehicles asked: simulating a marketplace" in out
    assert "vehicles on sale: starting the standalone Milvus server (HNSW)" in out
    assert "at http://127.0.0.1:19530 (" in out  # published there
    assert out.count("/recommendations?k=5 (model v1") == 2 and out.count("\n  5. ") == 2
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM vehicles")).scalar_one() == 3_000
    with socket.socket() as probe:  # stopped afterwards: the port is free again
        assert probe.connect_ex(("127.0.0.1", 19530)) != 0
