"""A small generated marketplace in the generic CSV format, for benchmarks and the demo
when no real interaction data is at hand. Users favour a few makes and a price band."""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

MAKES = ("volkswagen", "bmw", "mercedes-benz", "audi", "opel", "ford", "skoda", "renault",
         "toyota", "seat", "hyundai", "fiat", "peugeot", "kia", "volvo")  # fmt: skip
BODIES = ("sedan", "small", "estate", "suv", "coupe", "convertible", "van")
FUELS = ("gasoline", "diesel", "hybrid", "electric")
# Shares near the original marketplace: mostly views, some bookmarks, rare dealer contacts.
EVENT_MIX = (("view", 0.87), ("bookmark", 0.126), ("contact", 0.004))
HEADER = ("vehicle_id", "title", "price", "mileage_km", "power_kw", "first_registration_year",
          "make", "body_type", "fuel", "gearbox")  # fmt: skip
START = datetime(2024, 1, 1, tzinfo=UTC)


def write_vehicles(path: Path, n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    ids = [f"sim-{i}" for i in range(n)]
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        for vid in ids:
            year = rng.randint(2005, 2024)
            make = rng.choices(MAKES, weights=range(len(MAKES), 0, -1))[0]
            price = round(rng.lognormvariate(9.6, 0.6) * (1 + (year - 2005) / 20), -1)
            out.writerow([
                vid, f"{make} {year}", max(price, 500), rng.randint(0, 20_000) * (2025 - year),
                rng.randint(40, 250), year, make, rng.choice(BODIES), rng.choice(FUELS),
                rng.choice(("manual", "automatic")),
            ])  # fmt: skip
    return ids


def write_events(
    path: Path, vehicle_ids: Sequence[str], n_users: int, n_events: int, seed: int = 0
) -> None:
    """Events in time order; each user browses a contiguous slice of the catalogue, so users
    have tastes a recommender can find."""
    rng = random.Random(seed)
    kinds, weights = zip(*EVENT_MIX, strict=True)
    n_items = len(vehicle_ids)
    homes = [rng.randrange(n_items) for _ in range(n_users)]
    span = max(1, n_items // 50)
    step = 90 * 24 * 3600 / max(n_events, 1)
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["event_id", "user_id", "vehicle_id", "type", "occurred_at"])
        for i in range(n_events):
            user = rng.randrange(n_users)
            item = (homes[user] + int(rng.expovariate(1 / span))) % n_items
            kind = rng.choices(kinds, weights)[0]
            at = START + timedelta(seconds=i * step)
            out.writerow([f"e{i}", f"u{user}", vehicle_ids[item], kind, at.isoformat()])
