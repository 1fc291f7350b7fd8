"""Profile computation at the original marketplace's size, side by side with a small run.

    python bench/profiles.py [--users 100000] [--events 8000000] [--vehicles 200000]

Times the vectorised full rebuild (models.profiles.rebuild + posterior) on generated events
over a generated catalogue in the vehicle feature space, and the latency of one incremental
update (advance one user's statistics by one event, with expiries, then its posterior).
The database side (loading events with their versions) is measured by the scale benchmark.
"""

from __future__ import annotations

import json
import random
import time

import click
import numpy as np

from models.features import FeatureSpace
from models.profiles import (
    DAY,
    Events,
    ProfileConfig,
    ProfileStats,
    advance,
    expiring,
    global_prior,
    posterior,
    rebuild,
)
from models.schema import load_schema

MAKES = [f"make-{i}" for i in range(60)]
BODIES = ["sedan", "small", "estate", "suv", "coupe", "convertible", "van"]
FUELS = ["gasoline", "diesel", "hybrid", "electric"]
COLOURS = ["black", "white", "grey", "silver", "blue", "red"]
TARGET_REBUILD_S, TARGET_P99_MS = 60.0, 5.0


def catalogue(n: int, rng: random.Random) -> list[dict]:
    return [
        {
            "price": rng.lognormvariate(9.8, 0.6), "mileage_km": rng.uniform(0, 250_000),
            "power_kw": rng.uniform(40, 250), "first_registration_year": rng.randint(2000, 2024),
            "make": (make := rng.choice(MAKES)), "model": f"{make}-m{rng.randint(0, 9)}",
            "body_type": rng.choice(BODIES), "fuel": rng.choice(FUELS),
            "gearbox": rng.choice(["manual", "automatic"]), "colour": rng.choice(COLOURS),
        }
        for _ in range(n)
    ]  # fmt: skip


def events(n: int, users: int, space: FeatureSpace, items: list[dict], seed: int) -> Events:
    rng = np.random.default_rng(seed)
    t0 = 1_700_000_000.0
    return Events(
        rng.integers(0, users, n),
        np.sort(rng.uniform(t0, t0 + 30 * DAY, n)),
        rng.choice(3, n, p=[0.87, 0.126, 0.004]),
        rng.integers(0, len(items), n),
        space.encode(items),
    )


def full_rebuild(ev: Events, users: int, space: FeatureSpace, cfg: ProfileConfig) -> float:
    started = time.perf_counter()
    types = np.array([1.0, 6.9, 217.5])
    stats = rebuild(ev, users, float(ev.t.max()), cfg, types)
    posterior(stats, space, global_prior(ev, space), cfg)
    return time.perf_counter() - started


def incremental_ms(
    ev: Events, space: FeatureSpace, cfg: ProfileConfig, samples: int
) -> list[float]:
    """One user at a time, as the API and the worker do it."""
    types = np.array([1.0, 6.9, 217.5])
    prior = global_prior(ev.select(np.arange(len(ev)) < 100_000), space)
    rng = np.random.default_rng(1)
    latencies = []
    for _ in range(samples):
        user = int(rng.integers(0, ev.user.max() + 1))
        mine = ev.select(ev.user == user)
        mine = Events(np.zeros(len(mine), np.int64), mine.t, mine.kind, mine.version, mine.table)
        as_of = float(mine.t.max()) if len(mine) else float(ev.t.max())
        stats: ProfileStats = rebuild(mine, 1, as_of, cfg, types)
        new = mine.select(np.arange(len(mine)) == len(mine) - 1) if len(mine) else mine
        new.t = new.t + DAY  # a fresh event one day later
        started = time.perf_counter()
        gone = expiring(mine, as_of, as_of + DAY, cfg)
        stats = advance(stats, as_of + DAY, new, gone, cfg, types)
        posterior(stats, space, prior, cfg)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


@click.command()
@click.option("--users", default=100_000, show_default=True)
@click.option("--events", "n_events", default=8_000_000, show_default=True)
@click.option("--vehicles", default=200_000, show_default=True)
@click.option("--samples", default=2_000, show_default=True)
def main(users: int, n_events: int, vehicles: int, samples: int) -> None:
    rng = random.Random(0)
    items = catalogue(vehicles, rng)
    space = FeatureSpace.fit(load_schema("vehicles"), items)
    cfg = ProfileConfig()
    print(f"feature space: {space.width} slots ({space.categorical_width} categorical)")
    results: dict[str, float] = {}
    for label, u, e in (("small", users // 10, n_events // 10), ("full", users, n_events)):
        ev = events(e, u, space, items, seed=len(label))
        seconds = full_rebuild(ev, u, space, cfg)
        results[f"rebuild_{label}_s"] = round(seconds, 2)
        print(f"full rebuild, {u:,} users x {e:,} events: {seconds:.1f}s "
              f"({e / seconds:,.0f} events/s)")  # fmt: skip
    results["rebuild_ratio_full_over_small"] = round(
        results["rebuild_full_s"] / results["rebuild_small_s"], 1
    )
    lat = np.array(incremental_ms(ev, space, cfg, samples))
    results["incremental_p50_ms"] = round(float(np.percentile(lat, 50)), 3)
    results["incremental_p99_ms"] = round(float(np.percentile(lat, 99)), 3)
    print(f"incremental update (compute only): p50 {results['incremental_p50_ms']} ms, "
          f"p99 {results['incremental_p99_ms']} ms over {samples:,} events")  # fmt: skip
    print(f"targets: rebuild <= {TARGET_REBUILD_S:.0f}s: "
          f"{'met' if results['rebuild_full_s'] <= TARGET_REBUILD_S else 'NOT met'}; "
          f"incremental p99 <= {TARGET_P99_MS:.0f} ms: "
          f"{'met' if results['incremental_p99_ms'] <= TARGET_P99_MS else 'NOT met'}")  # fmt: skip
    print(json.dumps(results))


if __name__ == "__main__":
    main()
