"""A small generated marketplace in a fresh database: vehicles, users' browsing, profiles
and trained model versions, built through the CLI as an operator would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from backend.ingest import synthetic
from tests.conftest import _fresh
from tests.integration.cli import ok

Training = tuple[str, ...]


def marketplace(server_url: str, template_db: str, tmp: Path, *, vehicles: int = 600,
                users: int = 60, events: int = 6000,
                trainings: tuple[Training, ...] = ()) -> Iterator[dict[str, str]]:  # fmt: skip
    """Yields the CLI environment of the database (dropped afterwards)."""
    for url in _fresh(server_url, template_db):
        env = {"FORECOURT_DATABASE_URL": url, "FORECOURT_HOME": str(tmp / "var")}
        ids = synthetic.write_vehicles(tmp / "v.csv", vehicles)
        synthetic.write_events(tmp / "e.csv", ids, n_users=users, n_events=events)
        ok(env, "import", "vehicles", str(tmp / "v.csv"))
        ok(env, "import", "events", str(tmp / "e.csv"))
        ok(env, "profiles", "rebuild")
        for args in trainings:
            ok(env, "train", *args)
        yield env
