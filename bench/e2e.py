"""End to end at a share of the original marketplace (100,000 users, 1.7M vehicles, 8M events).

    make .venv/.installed                                      # with the `server` extra
    .venv/bin/python -m bench.e2e --scale 0.1                  # about 4 minutes
    .venv/bin/python -m bench.e2e --scale 0.1 --scale 1.0      # ~25 min: growth to 100%

Per scale, in a scratch database on FORECOURT_DATABASE_URL's server (or the embedded one):
simulate the marketplace -> import it (COPY) -> rebuild every profile -> train (one epoch)
-> embed every available vehicle with ItemNet and publish to a real Milvus server (the
`milvus` package's standalone binary, HNSW, started here on loopback) -> serve the API
(gunicorn, 2 workers) and time GET /v1/users/{id}/recommendations?k=5 with 1, 4 and 16
concurrent clients. Prints each stage's time, throughput and peak memory, the growth ratio
of every figure between the smallest and the largest scale (a stage whose cost grows faster
than the data stands out), and last one JSON line of every figure and its growth.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import numpy as np
from sqlalchemy import create_engine

from backend.db import migrate
from backend.db.engine import fresh_database
from backend.ingest.rejects import RejectLog
from backend.settings import Settings
from backend.simulate.market import import_files, simulate, write
from backend.vectors.milvus import MilvusStore
from backend.vectors.server import milvus_server
from bench.api import _serve_and_load
from models.profiles import ProfileConfig
from models.schema import load_schema
from workers.jobs.profiles import rebuild_profiles
from workers.jobs.publish import publish
from workers.jobs.training import train_model

FULL = {"vehicles": 1_700_000, "users": 100_000, "events": 8_000_000}
TARGETS = {"import_events_per_s": (">=", 100_000), "profile_rebuild_s": ("<=", 60),
           "epoch_s": ("<=", 600), "publish_s": ("<=", 300), "p99_ms_1": ("<=", 25),
           "rps_16": (">=", 200), "api_peak_rss_mib": ("<=", 4096)}  # at 100%  # fmt: skip


def _peak_rss_mib(pid: int | str = "self") -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", text).group(1)) / 1024  # type: ignore[union-attr]


def _rss_mib() -> float:
    text = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", text).group(1)) / 1024  # type: ignore[union-attr]


@contextmanager
def stage(name: str, out: dict[str, float]) -> Iterator[None]:
    """Time a stage and this process's peak memory during it (RSS sampled every 20 ms: the
    kernel's high-water mark cannot be reset in every container)."""
    print(f"-- {name}", file=sys.stderr, flush=True)
    peak, done = [_rss_mib()], threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], _rss_mib())

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    started = time.perf_counter()
    try:
        yield
    finally:
        out[f"{name}_s"] = time.perf_counter() - started
        done.set()
        watcher.join()
        out[f"{name}_peak_rss_mib"] = max(peak[0], _rss_mib())
        print(f"   {name}: {out[f'{name}_s']:.1f} s, peak {out[f'{name}_peak_rss_mib']:.0f} MiB",
              file=sys.stderr, flush=True)  # fmt: skip


def run_scale(scale: float, n_requests: int) -> dict[str, float]:
    size = {k: max(int(v * scale), 1) for k, v in FULL.items()}
    out: dict[str, float] = {"scale": scale, **size}
    schema = load_schema("vehicles")
    url = fresh_database(Settings(), f"forecourt_bench_e2e_{int(scale * 1000)}")
    engine = create_engine(url)
    migrate.upgrade(engine)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with stage("simulate", out):
            market = simulate(size["vehicles"], size["users"], size["events"], seed=0)
            files = write(market, work / "sim")
        with stage("import", out):
            stats = import_files(engine, schema, files, RejectLog(None, echo=False))
        out["import_events_per_s"] = stats[-1].loaded / stats[-1].seconds
        cfg = ProfileConfig(window_days=90.0, half_life_days=14.0)
        with stage("profile_rebuild", out):
            rebuild_profiles(engine, schema, cfg=cfg)
        with stage("train", out):
            trained = train_model(engine, schema, cfg, work / "artefacts", epochs=1,
                                  progress=False)  # fmt: skip
        out["epoch_s"] = trained.metrics["seconds_per_epoch"]
        out["train_examples"] = trained.examples
        with milvus_server(work / "milvus") as uri:
            store = MilvusStore(uri)
            with stage("publish", out):
                pub = publish(engine, store, trained.version, progress=False)
            out["published_indexed"] = float(pub.indexed)
            out["published_vectors"] = pub.vectors
            store.close()
            env = {**os.environ, "FORECOURT_DATABASE_URL": url, "FORECOURT_MILVUS_URI": uri,
                   "FORECOURT_HOME": str(work / "var")}  # fmt: skip
            # Users exist once they have an event (the import creates them).
            names = [market.user_id(u) for u in np.unique(market.events.user)]
            figures, shares = _serve_and_load(env, names, n_requests, 2, on_stop=_api_memory(out))
            out |= figures
    total = sum(shares.values()) or 1.0
    out |= {f"share_{k}": v / total for k, v in shares.items()}
    engine.dispose()
    return out


def _api_memory(out: dict[str, float]) -> Callable[[int], None]:
    """Before the API stops: the peak RSS of its largest process (a gunicorn worker)."""

    def record(pid: int) -> None:
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
        pids = [pid, *map(int, children.stdout.split())]
        out["api_peak_rss_mib"] = max(_peak_rss_mib(p) for p in pids)

    return record


def _report(results: list[dict[str, float]]) -> None:
    keys = ["simulate_s", "import_s", "import_events_per_s", "profile_rebuild_s", "epoch_s",
            "publish_s", "p50_ms_1", "p99_ms_1", "rps_1", "rps_4", "rps_16", "api_peak_rss_mib",
            "cpu_ms_per_request_api", "cpu_ms_per_request_milvus",
            "cpu_ms_per_request_postgres", "cpu_ms_per_request_load",
            "simulate_peak_rss_mib", "import_peak_rss_mib", "profile_rebuild_peak_rss_mib",
            "train_peak_rss_mib", "publish_peak_rss_mib"]  # fmt: skip
    print(f"{'figure':<30}" + "".join(f"{r['scale']:>12.1%}" for r in results)
          + ("   growth" if len(results) > 1 else "") + "   target at 100%")  # fmt: skip
    for key in keys:
        row = f"{key:<30}" + "".join(f"{r.get(key, float('nan')):>12.1f}" for r in results)
        if len(results) > 1 and results[0].get(key):
            data = results[-1]["scale"] / results[0]["scale"]
            growth = results[-1][key] / results[0][key]
            flag = "  super-linear" if key.endswith("_s") and growth > 1.5 * data else ""
            row += f"   {growth:>5.1f}x (data {data:.0f}x){flag}"
        if key in TARGETS:
            op, bound = TARGETS[key]
            row += f"   {op} {bound:,}"
        print(row)
    # Last line: every figure of every scale, and each figure's growth, as one JSON object.
    growth = {}
    if len(results) > 1:
        growth = {k: round(results[-1][k] / v, 3) for k, v in results[0].items()
                  if k in results[-1] and isinstance(v, float | int) and v}  # fmt: skip
    print(json.dumps({"scales": [{k: round(v, 4) for k, v in r.items()} for r in results],
                      "growth": growth}))  # fmt: skip


@click.command()
@click.option("--scale", "scales", type=click.FloatRange(0.001, 1.0), multiple=True,
              default=(0.1,), show_default=True,
              help="Share of the original marketplace (repeatable).")  # fmt: skip
@click.option("--requests", "n_requests", default=2_000, show_default=True,
              help="Requests per client count.")  # fmt: skip
def main(scales: tuple[float, ...], n_requests: int) -> None:
    results = []
    for s in sorted(scales):
        results.append(run_scale(s, n_requests))
        # Each scale's figures as soon as they exist: the largest takes most of an hour.
        print(json.dumps({k: round(v, 4) for k, v in results[-1].items()}), file=sys.stderr)
    _report(results)


if __name__ == "__main__":
    main()
