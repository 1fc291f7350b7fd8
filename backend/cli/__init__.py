"""The ``forecourt`` command line (click)."""

from __future__ import annotations

import logging
import warnings

import click
from pydantic import ValidationError

from backend.cli.db import db
from backend.cli.imports import import_
from backend.cli.milvus import milvus
from backend.cli.simulate import simulate
from backend.settings import Settings

# Errors of the services a command talks to: a bad URL, a server that is down, a database
# that does not exist. The user needs the one-line reason, not the library's traceback.
SERVICE_ERRORS = ("sqlalchemy", "psycopg", "pymilvus", "milvus_lite", "kombu", "redis")


class Forecourt(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            if not type(exc).__module__.startswith(SERVICE_ERRORS) or ctx.params.get("verbose"):
                raise
            first = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            reason = first[0] if first else type(exc).__name__
            raise click.ClickException(f"{type(exc).__name__}: {reason}") from exc


@click.group(cls=Forecourt)
@click.option("-v", "--verbose", is_flag=True, help="Log more (and full tracebacks).")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """Forecourt: vehicle recommendations from marketplace events."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING)
    # pymilvus 2.4 (pinned for the 2.3.5 server) imports pkg_resources: not the user's concern.
    warnings.filterwarnings("ignore", "pkg_resources is deprecated", UserWarning)
    try:
        ctx.obj = Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"FORECOURT_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise click.ClickException(f"invalid settings: {problems}") from exc


main.add_command(db)
main.add_command(import_)
main.add_command(milvus)
main.add_command(simulate)
