"""``forecourt db``: schema migrations."""

from __future__ import annotations

import click

from backend.db import migrate
from backend.db.engine import make_engine, stop_embedded
from backend.settings import Settings


@click.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command()
@click.argument("revision", default="head")
@click.pass_obj
def upgrade(settings: Settings, revision: str) -> None:
    """Upgrade the schema to REVISION (default: the newest)."""
    engine = make_engine(settings)
    migrate.upgrade(engine, revision)
    click.echo(f"database at revision {migrate.current(engine)} ({engine.url.database})")


@db.command()
@click.argument("revision")
@click.pass_obj
def downgrade(settings: Settings, revision: str) -> None:
    """Downgrade the schema to REVISION ("base" removes every table)."""
    engine = make_engine(settings)
    migrate.downgrade(engine, revision)
    click.echo(f"database at revision {migrate.current(engine) or 'base'}")


@db.command()
@click.pass_obj
def current(settings: Settings) -> None:
    """Print the schema revision of the database."""
    engine = make_engine(settings)
    click.echo(migrate.current(engine) or "base (empty)")


@db.command()
@click.pass_obj
def stop(settings: Settings) -> None:
    """Stop the embedded PostgreSQL (it keeps running between commands otherwise)."""
    stopped = stop_embedded(settings)
    click.echo(f"embedded PostgreSQL {'stopped' if stopped else 'was not running'}")
