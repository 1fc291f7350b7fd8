"""``forecourt simulate``: a marketplace fitted to AutoScout24, with users of known tastes."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from backend.db.engine import make_engine
from backend.ingest.rejects import RejectLog
from backend.settings import Settings
from models.schema import load_schema


@click.command("simulate")
@click.option("--vehicles", type=click.IntRange(1), default=20_000, show_default=True)
@click.option("--users", type=click.IntRange(1), default=2_000, show_default=True)
@click.option("--events", type=click.IntRange(1), default=100_000, show_default=True)
@click.option("--days", type=click.FloatRange(1), default=90.0, show_default=True,
              help="Length of the simulated period (listings appear and sell in it).")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Where vehicles.csv, events.csv and tastes.json go.")  # fmt: skip
@click.option("--load", is_flag=True, help="Also import them into the database.")
@click.pass_obj
def simulate(settings: Settings, vehicles: int, users: int, events: int, days: float, seed: int,
             out: Path, load: bool) -> None:  # fmt: skip
    """Simulate a used-car marketplace: a catalogue whose distributions are fitted to the real
    AutoScout24 one, and users with latent tastes (budget, makes, body types, fuel) who browse
    it in sessions while listings appear and sell. The same seed gives the same files."""
    from backend.simulate.market import import_files, write
    from backend.simulate.market import simulate as run

    market = run(vehicles, users, events, seed=seed, days=days)
    files = write(market, out)
    share = np.bincount(market.events.kind, minlength=3) / len(market.events.kind)
    sold = int(np.isfinite(market.catalogue.sold_at).sum())
    click.echo(
        f"{vehicles:,} vehicles ({sold:,} sold by the end), {users:,} users, "
        f"{len(market.events.kind):,} events: {share[0]:.1%} views, {share[1]:.1%} "
        f"bookmarks, {share[2]:.2%} contacts -> {', '.join(map(str, files.values()))}"
    )
    if load:
        schema = load_schema(settings.feature_schema)
        with RejectLog(settings.rejects_dir / "simulate.csv", echo=False) as rejects:
            for stats in import_files(make_engine(settings), schema, files, rejects):
                click.echo(stats.summary())
