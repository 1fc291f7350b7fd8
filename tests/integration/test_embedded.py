"""Embedded defaults: no FORECOURT_DATABASE_URL starts a real PostgreSQL 16 via pgserver."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from backend.cli import main
from backend.db import migrate
from backend.db.engine import make_engine, ping
from backend.settings import Settings


def test_embedded_postgres_starts_and_migrates(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("FORECOURT_DATABASE_URL", raising=False)
    home = tmp_path / "var"
    env = {"FORECOURT_HOME": str(home), "FORECOURT_EMBEDDED_DATABASE": "fc_embedded"}
    settings = Settings(home=home, embedded_database="fc_embedded")
    engine = make_engine(settings)
    try:
        assert ping(engine).startswith("PostgreSQL 16")
        migrate.upgrade(engine)
        assert migrate.current(engine) == migrate.heads(engine)[0]
        assert (home / "postgres" / "PG_VERSION").read_text().strip() == "16"
        # The CLI finds the same server and database from the environment alone.
        result = CliRunner().invoke(main, ["db", "current"], env=env)
        assert result.exit_code == 0, result.output
        assert result.output.strip() == migrate.heads(engine)[0]
    finally:
        engine.dispose()
        result = CliRunner().invoke(main, ["db", "stop"], env=env)
    assert result.output.strip() == "embedded PostgreSQL stopped"
    assert not (home / "postgres" / "postmaster.pid").exists()


def test_settings_are_typed_and_prefixed(monkeypatch) -> None:
    monkeypatch.setenv("FORECOURT_IMPORT_BATCH_ROWS", "5000")
    monkeypatch.setenv("FORECOURT_MILVUS_URI", "http://127.0.0.1:19530")
    settings = Settings()
    assert settings.import_batch_rows == 5000
    assert settings.milvus_uri == "http://127.0.0.1:19530"
    assert settings.broker_url is None
    monkeypatch.setenv("FORECOURT_EMBEDDED_DATABASE", "no; drop")
    try:
        Settings()
    except ValueError as exc:
        assert "embedded_database" in str(exc)
    else:
        raise AssertionError("an unsafe database name must be refused")
