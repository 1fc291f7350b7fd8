"""One call for a whole simulated marketplace, and its files in the generic CSV format
(plus each user's true tastes, which tests and the benchmark compare recommendations with)."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine

from backend.ingest import pipeline
from backend.ingest.pipeline import ImportStats
from backend.ingest.rejects import RejectLog
from backend.ingest.sources import generic
from backend.simulate.behaviour import Codes, Events, Users, browse, sample_users
from backend.simulate.catalogue import Catalogue, catalogue_of, sample_catalogue
from backend.simulate.fit import load_fit
from models.schema import FeatureSchema

START = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
KINDS = ("view", "bookmark", "contact")
HEADER = ("vehicle_id", "status", "title", "listed_at", "updated_at", "price", "mileage_km",
          "power_kw", "first_registration_year", "make", "model", "body_type", "fuel",
          "gearbox", "colour")  # fmt: skip


@dataclass
class Marketplace:
    catalogue: Catalogue
    codes: Codes
    users: Users
    events: Events
    start: float
    days: float
    ids: list[str] | None = None  # vehicle ids of a real catalogue; None = sim-<row>

    @property
    def end(self) -> float:
        return self.start + self.days * 86_400

    def vehicle_id(self, row: int) -> str:
        return self.ids[row] if self.ids is not None else f"sim-{row}"

    def user_id(self, index: int) -> str:
        return f"u{index}"

    def tastes(self, index: int) -> dict[str, Any]:
        u, c = self.users, self.codes
        return {"budget_eur": float(u.budget[index]), "tolerance": float(u.tolerance[index]),
                "makes": c.makes[u.makes[index]].tolist(),
                "body_types": c.bodies[u.bodies[index]].tolist(),
                "fuel": None if u.fuel[index] < 0 else str(c.fuels[u.fuel[index]])}  # fmt: skip


def simulate(vehicles: int, users: int, events: int, *, seed: int = 0, days: float = 90.0,
             start: float = START, fit: dict[str, Any] | None = None) -> Marketplace:  # fmt: skip
    rng = np.random.default_rng(seed)
    cat = sample_catalogue(fit or load_fit(), vehicles, rng, start=start, days=days)
    return _browsed(cat, users, events, rng, start, days, None)


def browse_catalogue(ids: list[str], features: list[dict[str, Any]], users: int, events: int,
                     *, seed: int = 0, days: float = 90.0,
                     start: float = START) -> Marketplace:  # fmt: skip
    """Simulated users browsing a real catalogue (no public data set has real browsing on
    real listings)."""
    rng = np.random.default_rng(seed)
    cat = catalogue_of(features, rng, start=start, days=days)
    return _browsed(cat, users, events, rng, start, days, ids)


def _browsed(cat: Catalogue, users: int, events: int, rng: np.random.Generator, start: float,
             days: float, ids: list[str] | None) -> Marketplace:  # fmt: skip
    codes = Codes.of(cat)
    people = sample_users(cat, codes, users, rng)
    done = browse(cat, people, codes, events, rng, start=start, days=days)
    return Marketplace(cat, codes, people, done, start, days, ids)


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")


def write(market: Marketplace, out: Path) -> dict[str, Path]:
    """vehicles.csv (a simulated catalogue's, sold ones marked as of the end), events.csv
    and tastes.json in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    names = ("events.csv", "tastes.json") if market.ids else ("vehicles.csv", "events.csv",
                                                             "tastes.json")  # fmt: skip
    files = {n: out / n for n in names}
    if "vehicles.csv" in files:
        _write_vehicles(market, files["vehicles.csv"])
    e = market.events
    with files["events.csv"].open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["event_id", "user_id", "vehicle_id", "type", "occurred_at"])
        for n in range(len(e.t)):
            w.writerow([f"sim-e{n}", market.user_id(e.user[n]), market.vehicle_id(e.vehicle[n]),
                        KINDS[e.kind[n]], _iso(e.t[n])])  # fmt: skip
    files["tastes.json"].write_text(
        json.dumps(
            {market.user_id(u): market.tastes(u) for u in range(len(market.users))}, indent=0
        )
    )
    return files


def _write_vehicles(market: Marketplace, path: Path) -> None:
    c = market.catalogue
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for i in range(len(c)):
            sold = np.isfinite(c.sold_at[i])
            w.writerow([market.vehicle_id(i), "sold" if sold else "available",
                        f"{c.make[i]} {c.model[i] or ''}".strip(), _iso(c.listed_at[i]),
                        _iso(c.sold_at[i] if sold else c.listed_at[i]), int(c.price[i]),
                        int(c.mileage_km[i]), int(c.power_kw[i]), int(c.year[i]), c.make[i],
                        c.model[i] or "", c.body[i] or "", c.fuel[i] or "", c.gearbox[i] or "",
                        c.colour[i]])  # fmt: skip


def import_files(engine: Engine, schema: FeatureSchema, files: dict[str, Path],
                 rejects: RejectLog) -> list[ImportStats]:  # fmt: skip
    """Load what ``write`` wrote, through the same pipeline as ``forecourt import``."""
    done = []
    if "vehicles.csv" in files:
        path = files["vehicles.csv"]
        done.append(pipeline.import_vehicles(engine, generic.read_vehicles(path, schema=schema),
                                             schema=schema, source="simulated", where=str(path),
                                             rejects=rejects))  # fmt: skip
    path = files["events.csv"]
    done.append(pipeline.import_events(engine, generic.read_events(path), where=str(path),
                                       rejects=rejects))  # fmt: skip
    return done
