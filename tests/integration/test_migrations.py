"""Alembic migrations on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import Engine, create_engine, inspect

from backend.cli import main
from backend.db import migrate
from backend.db.engine import _sqlalchemy_url
from backend.db.tables import Base

TABLES = {
    "users",
    "vehicles",
    "vehicle_versions",
    "events",
    "feature_spaces",
    "user_profiles",
    "model_versions",
}


@pytest.fixture
def empty_engine(empty_db_url: str) -> Iterator[Engine]:
    eng = create_engine(_sqlalchemy_url(empty_db_url))
    yield eng
    eng.dispose()


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_one_head(empty_engine: Engine) -> None:
    assert migrate.heads(empty_engine) == ["0004"]


def test_upgrade_downgrade_upgrade(empty_engine: Engine) -> None:
    assert migrate.current(empty_engine) is None
    migrate.upgrade(empty_engine)
    assert migrate.current(empty_engine) == "0004"
    assert _tables(empty_engine) == TABLES
    migrate.downgrade(empty_engine, "base")
    assert migrate.current(empty_engine) is None
    assert _tables(empty_engine) == set()
    migrate.upgrade(empty_engine)
    assert _tables(empty_engine) == TABLES


def test_migrations_match_the_tables(empty_engine: Engine) -> None:
    """The typed tables and the migration history describe the same schema."""
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_indexes_for_the_reads_that_matter(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    inspector = inspect(empty_engine)
    events = {tuple(i["column_names"]) for i in inspector.get_indexes("events")}
    assert ("user_id", "occurred_at") in events
    vehicles = {tuple(i["column_names"]) for i in inspector.get_indexes("vehicles")}
    assert ("status",) in vehicles


def test_cli_db_upgrade(empty_db_url: str, tmp_path) -> None:
    env = {"FORECOURT_DATABASE_URL": empty_db_url, "FORECOURT_HOME": str(tmp_path)}
    result = CliRunner().invoke(main, ["db", "upgrade"], env=env)
    assert result.exit_code == 0, result.output
    assert "revision 0004" in result.output
    result = CliRunner().invoke(main, ["db", "current"], env=env)
    assert result.output.strip() == "0004"
