"""Engine construction. The embedded PostgreSQL starts only when an engine is asked for."""

from __future__ import annotations

import logging
import os
import warnings

from sqlalchemy import Engine, create_engine, make_url, text

from backend.settings import Settings

log = logging.getLogger(__name__)


def _sqlalchemy_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _quiet_pgserver() -> None:
    # pgserver asks platformdirs for a runtime dir it never needs here; keep the CLI quiet.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")


def start_embedded(settings: Settings) -> str:
    """Start (or reuse) the embedded PostgreSQL 16 and return a URL to Forecourt's database."""
    _quiet_pgserver()
    import pgserver  # heavy import, only when embedded mode is actually used

    pgdata = settings.embedded_pgdata.resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None keeps the server running after this process exits, so the next
    # command (and the API later) finds it warm instead of paying start-up again.
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    name = settings.embedded_database
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")
    if "1 row" not in exists:
        server.psql(f'CREATE DATABASE "{name}";')
        log.info("created embedded database %s under %s", name, pgdata)
    return server.get_uri(name)


def stop_embedded(settings: Settings) -> bool:
    """Stop the embedded PostgreSQL if it runs; True if it was running."""
    _quiet_pgserver()
    from pgserver._commands import pg_ctl  # pgserver is pinned (<0.2); this is its own stopper

    pgdata = settings.embedded_pgdata.resolve()
    if not (pgdata / "postmaster.pid").exists():
        return False
    # As root, pgserver runs PostgreSQL as its own system user, and pg_ctl must too.
    user = "pgserver" if os.geteuid() == 0 else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    return True


def database_url(settings: Settings) -> str:
    """The SQLAlchemy URL for the configured database, starting the embedded one if unset."""
    raw = settings.database_url or start_embedded(settings)
    return _sqlalchemy_url(raw)


def make_engine(settings: Settings, **kwargs: object) -> Engine:
    return create_engine(database_url(settings), pool_pre_ping=True, **kwargs)


def ping(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT version()")).scalar_one())


def fresh_database(settings: Settings, name: str) -> str:
    """Drop and create database ``name`` on the configured server (the embedded one if
    unset) and return its URL: for jobs that load a dataset into a place of their own."""
    import psycopg

    url = make_url(database_url(settings))
    admin = url.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)
