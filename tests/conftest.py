"""Fixtures chain: server URL -> migrated template database -> one fresh database per test.

Tests use a real PostgreSQL: FORECOURT_TEST_DATABASE_URL if set, else the machine's server on
127.0.0.1:5432, else an embedded pgserver started for the session.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, make_url

from backend.db import migrate
from backend.db.engine import _sqlalchemy_url

LOCAL = "postgresql://postgres@127.0.0.1:5432/postgres"
REPO = Path(__file__).resolve().parent.parent


def _reachable(url: str) -> bool:
    try:
        psycopg.connect(url, connect_timeout=2).close()
    except psycopg.OperationalError:
        return False
    return True


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A URL to a maintenance database on a real PostgreSQL server."""
    url = os.environ.get("FORECOURT_TEST_DATABASE_URL")
    if url:
        yield url
        return
    if _reachable(LOCAL):
        yield LOCAL
        return
    import pgserver

    server = pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="stop")
    yield server.get_uri("postgres")
    server.cleanup()


def _with_database(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _admin(server_url: str, sql: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(scope="session")
def template_db(server_url: str) -> Iterator[str]:
    """A database migrated to head once; test databases are cheap copies of it."""
    name = f"fc_tpl_{uuid.uuid4().hex[:8]}"
    _admin(server_url, f'CREATE DATABASE "{name}"')
    engine = create_engine(_sqlalchemy_url(_with_database(server_url, name)))
    migrate.upgrade(engine)
    engine.dispose()
    yield name
    _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _fresh(server_url: str, template: str | None) -> Iterator[str]:
    name = f"fc_test_{uuid.uuid4().hex[:10]}"
    suffix = f' TEMPLATE "{template}"' if template else ""
    _admin(server_url, f'CREATE DATABASE "{name}"{suffix}')
    try:
        yield _with_database(server_url, name)
    finally:
        _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def db_url(server_url: str, template_db: str) -> Iterator[str]:
    """A fresh, migrated, empty database (plain postgresql:// URL, as a user would give it)."""
    yield from _fresh(server_url, template_db)


@pytest.fixture
def empty_db_url(server_url: str) -> Iterator[str]:
    """A fresh database with no tables at all."""
    yield from _fresh(server_url, None)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = create_engine(_sqlalchemy_url(db_url))
    yield eng
    eng.dispose()


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path) -> dict[str, str]:
    """Environment for CliRunner: the test database and a private FORECOURT_HOME."""
    return {"FORECOURT_DATABASE_URL": db_url, "FORECOURT_HOME": str(tmp_path / "var")}


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real datasets. Required in CI; elsewhere their tests skip with the reason."""
    path = Path(os.environ.get("FORECOURT_DATA_DIR", REPO.parent / "shared" / "data"))
    if not path.is_dir():
        reason = f"real datasets not found at {path} (set FORECOURT_DATA_DIR)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path
