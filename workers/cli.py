"""The ``forecourt`` entry point: backend's commands plus the ones that run jobs in-process.

It lives here because jobs are worker code and backend/ never imports workers/.
"""

from __future__ import annotations

import json
from datetime import datetime

import click
from sqlalchemy import Engine

from backend.cli import main
from backend.db import migrate
from backend.db.engine import make_engine
from backend.db.profile_queries import profile_of
from backend.ingest.parsing import parse_timestamp
from backend.settings import Settings
from models.profiles import ProfileConfig
from models.schema import SchemaError, load_schema
from workers.demo import demo
from workers.jobs.profiles import rebuild_profiles, update_profile


def _engine_at_head(settings: Settings) -> Engine:
    engine = make_engine(settings)
    at, head = migrate.current(engine), migrate.heads(engine)
    if [at] != head:
        raise click.ClickException(
            f"database at revision {at or 'base'}, code expects {head[0]}:"
            " run `forecourt db upgrade`"
        )
    return engine


@main.group()
def profiles() -> None:
    """User profiles in the shared feature space."""


def _as_of(_: click.Context, __: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


@profiles.command()
@click.option("--as-of", callback=_as_of, help="ISO time (default: the latest event).")
@click.option("--schema", help="Feature schema of the catalogue (default: settings).")
@click.pass_obj
def rebuild(settings: Settings, as_of: datetime | None, schema: str | None) -> None:
    """Rebuild every user's profile from the events in the window before AS_OF."""
    try:
        feature_schema = load_schema(schema or settings.feature_schema)
    except SchemaError as exc:
        raise click.ClickException(str(exc)) from exc
    engine = _engine_at_head(settings)
    cfg = ProfileConfig(
        alpha=settings.profile_alpha,
        shrink=settings.profile_shrink,
        half_life_days=settings.profile_half_life_days,
        window_days=settings.profile_window_days,
        type_weights=settings.profile_type_weights,
    )
    result = rebuild_profiles(engine, feature_schema, as_of=as_of, cfg=cfg)
    click.echo(
        f"profiles: {result.users:,} users ({result.users_with_events:,} with events in the "
        f"window), {result.events:,} events, as of {result.as_of.isoformat()}, type weights "
        f"{dict(zip(('view', 'bookmark', 'contact'), result.type_weights, strict=True))}, "
        f"{result.seconds:.1f}s"
    )


@profiles.command()
@click.argument("user")
@click.pass_obj
def show(settings: Settings, user: str) -> None:
    """Print USER's profile as a readable summary."""
    with _engine_at_head(settings).connect() as conn:
        row = profile_of(conn, user)
    if row is None:
        raise click.ClickException(f"no user {user!r}")
    if row.summary is None:
        raise click.ClickException(f"user {user!r} has no profile yet: run `profiles rebuild`")
    click.echo(f"user {row.external_id}: {row.event_count} events, as of {row.as_of.isoformat()}")
    click.echo(json.dumps(row.summary, indent=2, ensure_ascii=False))


@profiles.command()
@click.argument("user")
@click.pass_obj
def update(settings: Settings, user: str) -> None:
    """Bring USER's stored profile up to date with their new events (no rebuild)."""
    summary = update_profile(_engine_at_head(settings), user)
    if summary is None:
        raise click.ClickException(f"user {user!r} has no stored profile: run `profiles rebuild`")
    click.echo(json.dumps(summary, indent=2, ensure_ascii=False))


main.add_command(demo)

__all__ = ["main"]
