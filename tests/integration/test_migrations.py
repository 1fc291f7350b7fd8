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
    "jobs",
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
    assert migrate.heads(empty_engine) == ["0005"]


def test_upgrade_downgrade_upgrade(empty_engine: Engine) -> None:
    assert migrate.current(empty_engine) is None
    migrate.upgrade(empty_engine)
    assert migrate.current(empty_engine) == "0005"
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
    assert "revision 0005" in result.output
    result = CliRunner().invoke(main, ["db", "current"], env=env)
    assert result.output.strip() == "0005"


def test_a_vehicle_change_moves_changed_at(engine: Engine) -> None:
    """The index sync finds changes by wall-clock ``changed_at``, whatever time a feed says."""
    from sqlalchemy import text

    with engine.begin() as conn:
        conn.execute(text("INSERT INTO vehicles (external_id, source, features, changed_at)"
                          " VALUES ('t1', 'test', '{}', '2001-01-01')"))  # fmt: skip
        conn.execute(text("UPDATE vehicles SET title = 'renamed' WHERE external_id = 't1'"))
        untouched = conn.execute(text("SELECT changed_at FROM vehicles")).scalar_one()
        conn.execute(text("UPDATE vehicles SET status = 'sold' WHERE external_id = 't1'"))
        sold = conn.execute(text("SELECT changed_at > now() - interval '1 minute'"
                                 " FROM vehicles")).scalar_one()  # fmt: skip
    assert untouched.year == 2001 and sold is True
