"""The recommendations endpoint over HTTP on loopback, against a real Milvus server.

    python bench/api.py [--vehicles 100000] [--users 2000] [--events 200000] [--requests 2000]

Generates a marketplace, imports it into a scratch database (FORECOURT_DATABASE_URL's
server, or the embedded one), rebuilds profiles, trains one short model, starts the
``milvus`` package's standalone server (the ``server`` extra) and publishes into it (HNSW),
measures ANN recall against exact search, then runs ``forecourt serve`` (gunicorn) and
times GET /v1/users/{id}/recommendations?k=5 with 1, 4 and 16 concurrent clients. Prints
p50/p99, requests/s, the share of each stage (from the API's own /metrics) and one JSON line.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click
import numpy as np
from sqlalchemy import Engine, create_engine

from backend.db import migrate
from backend.db.engine import fresh_database
from backend.ingest import pipeline, synthetic
from backend.ingest.rejects import RejectLog
from backend.ingest.sources import generic
from backend.services.active_model import ModelCache
from backend.settings import Settings
from backend.vectors.milvus import MilvusStore
from backend.vectors.server import milvus_server
from models.profiles import ProfileConfig
from models.schema import load_schema
from workers.jobs.profiles import rebuild_profiles
from workers.jobs.publish import publish
from workers.jobs.training import train_model

PORT = 18_431


def _get(conn: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    conn.request("GET", path)
    r = conn.getresponse()
    return r.status, r.read()


def _load(users: list[str], n: int, clients: int) -> dict[str, float]:
    def worker(share: int) -> list[float]:
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        rng, out = random.Random(share), []
        for _ in range(share):
            t = time.perf_counter()
            status, _ = _get(conn, f"/v1/users/{rng.choice(users)}/recommendations?k=5")
            out.append((time.perf_counter() - t) * 1e3)
            assert status == 200, status
        conn.close()
        return out

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        times = np.concatenate(list(pool.map(worker, [n // clients] * clients)))
    wall = time.perf_counter() - started
    return {"p50_ms": float(np.percentile(times, 50)), "p99_ms": float(np.percentile(times, 99)),
            "rps": len(times) / wall}  # fmt: skip


def _metrics() -> str:
    """One worker's /metrics (each gunicorn worker counts its own requests: the stage
    shares are a sample, the latencies above are measured by the clients)."""
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
    try:
        return _get(conn, "/metrics")[1].decode()
    finally:
        conn.close()


def _stage_seconds(metrics: str) -> dict[str, float]:
    found = re.findall(r'forecourt_stage_seconds_sum\{stage="(\w+)"\} ([0-9.e+-]+)', metrics)
    return {stage: float(v) for stage, v in found}


@click.command()
@click.option("--vehicles", default=100_000, show_default=True)
@click.option("--users", default=2_000, show_default=True)
@click.option("--events", "n_events", default=200_000, show_default=True)
@click.option("--requests", "n_requests", default=2_000, show_default=True)
def main(vehicles: int, users: int, n_events: int, n_requests: int) -> None:
    out: dict[str, float] = {"vehicles": vehicles, "users": users, "events": n_events}
    schema = load_schema("vehicles")
    url = fresh_database(Settings(), "forecourt_bench_api")
    engine = create_engine(url)
    migrate.upgrade(engine)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ids = synthetic.write_vehicles(work / "v.csv", vehicles)
        synthetic.write_events(work / "e.csv", ids, users, n_events)
        log = RejectLog(None, echo=False)
        rows = generic.read_vehicles(work / "v.csv", schema=schema)
        pipeline.import_vehicles(engine, rows, schema=schema, source="bench", where="v.csv",
                                 rejects=log)  # fmt: skip
        pipeline.import_events(engine, generic.read_events(work / "e.csv"), where="e.csv",
                               rejects=log)  # fmt: skip
        cfg = ProfileConfig(window_days=120.0, half_life_days=30.0)
        print("imported; rebuilding profiles, training", file=sys.stderr)
        rebuild_profiles(engine, schema, cfg=cfg)
        trained = train_model(engine, schema, cfg, work / "artefacts", epochs=1, progress=False)
        with milvus_server(work / "milvus") as uri:
            store = MilvusStore(uri)
            t = time.perf_counter()
            pub = publish(engine, store, trained.version, progress=False)
            out["publish_s"] = time.perf_counter() - t
            out |= _ann_recall(engine, store, pub.collection)
            print(f"published in {out['publish_s']:.1f}s; serving", file=sys.stderr)
            env = {**os.environ, "FORECOURT_DATABASE_URL": url, "FORECOURT_MILVUS_URI": uri,
                   "FORECOURT_HOME": str(work / "var")}  # fmt: skip
            names = [f"u{u}" for u in range(users)]
            spent = {}
            for workers in (1, 2):  # side by side: processes against the cores they share
                r, spent[workers] = _serve_and_load(env, names, n_requests, workers)
                suffix = "" if workers == 2 else "_w1"
                out |= {f"{key}{suffix}": value for key, value in r.items()}
            store.close()
    shares = spent[2]
    total = sum(shares.values()) or 1.0
    print(f"{vehicles:,} vehicles indexed (HNSW), published in {out['publish_s']:.1f}s")
    for ef in (200, 400, 800):
        print(f"  ef {ef}: recall@200 vs exact {out[f'ann_recall@200_ef{ef}']:.3f},"
              f" {out[f'ann_ms_ef{ef}']:.1f} ms a search")  # fmt: skip
    print("workers clients   p50 ms   p99 ms    req/s")
    for c in (1, 4, 16):
        print(f"      1 {c:>7} {out[f'p50_ms_{c}_w1']:>8.1f} {out[f'p99_ms_{c}_w1']:>8.1f}"
              f" {out[f'rps_{c}_w1']:>8.0f}")  # fmt: skip
    for c in (1, 4, 16):
        print(f"      2 {c:>7} {out[f'p50_ms_{c}']:>8.1f} {out[f'p99_ms_{c}']:>8.1f}"
              f" {out[f'rps_{c}']:>8.0f}")  # fmt: skip
    ranked = sorted(shares.items(), key=lambda kv: -kv[1])
    print("stage shares, 2 workers (server side): "
          + ", ".join(f"{k} {v / total:.0%}" for k, v in ranked))  # fmt: skip
    best = min(out["p99_ms_1"], out["p99_ms_1_w1"])
    print(f"p99 with one client {best:.1f} ms (best of 1 and 2 workers) against the 25 ms"
          f" target ({best / 25:.2f}x)")  # fmt: skip
    out |= {f"share_{k}": v / total for k, v in shares.items()}
    print(json.dumps({k: round(v, 4) for k, v in out.items()}))


def _serve_and_load(
    env: dict[str, str], names: list[str], n_requests: int, workers: int,
    on_stop: Callable[[int], None] | None = None,
) -> tuple[dict[str, float], dict[str, float]]:  # fmt: skip
    """Start ``forecourt serve`` with ``workers`` processes, warm it, time 1, 4 and 16
    clients; returns the figures and the server-side seconds per stage meanwhile.
    ``on_stop(pid)`` runs before the server stops (to read its memory)."""
    command = [str(Path(sys.executable).parent / "forecourt"), "serve", "--port", str(PORT),
               "--workers", str(workers), "--threads", "4"]  # fmt: skip
    api = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out: dict[str, float] = {}
    try:
        _wait_ready()
        _load(names, 200, 4)  # warm-up: models loaded, caches filled, in each worker
        before = _stage_seconds(_metrics())
        for clients in (1, 4, 16):
            cpu = _cpu_seconds(api.pid)
            r = _load(names, n_requests, clients)
            if clients == 16:  # where the cores went while they were the limit
                spent = {k: v - cpu.get(k, 0.0) for k, v in _cpu_seconds(api.pid).items()}
                out |= {f"cpu_ms_per_request_{k}": v / n_requests * 1e3 for k, v in spent.items()}
            out |= {f"{key}_{clients}": value for key, value in r.items()}
            print(f"{workers} workers, {clients} clients: {r}", file=sys.stderr)
        after = _stage_seconds(_metrics())
        if on_stop:
            on_stop(api.pid)
    finally:
        api.terminate()
        api.wait(30)
    return out, {k: after[k] - before.get(k, 0.0) for k in after}


def _cpu_seconds(api_pid: int) -> dict[str, float]:
    """CPU seconds so far of the API (gunicorn and its workers), Milvus, PostgreSQL and this
    process (the load generator), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {"api": 0.0, "milvus": 0.0, "postgres": 0.0, "load": 0.0}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="ignore")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        ppid, seconds = int(fields[1]), (int(fields[11]) + int(fields[12])) / tick
        pid = int(entry.name)
        if pid == api_pid or ppid == api_pid:
            out["api"] += seconds
        elif "milvus" in cmdline:
            out["milvus"] += seconds
        elif cmdline.startswith("postgres"):
            out["postgres"] += seconds
        elif pid == os.getpid():
            out["load"] += seconds
    return out


def _wait_ready(timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
            if _get(conn, "/readyz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("the API did not become ready")


def _ann_recall(engine: Engine, store: MilvusStore, collection: str,
                n: int = 200) -> dict[str, float]:  # fmt: skip
    """Share of the exact inner-product top 200 that HNSW returns for n user-like queries,
    and the time per search, at several search widths ``ef``."""
    from backend.db import catalogue_queries as cq

    model = ModelCache(engine, ttl_s=0).current()
    with engine.connect() as conn:
        rows = cq.available(conn)
    vids = np.array([r[0] for r in rows])
    e_items = model.embed(vids, [r[3] for r in rows])
    rng = np.random.default_rng(0)
    queries = e_items[rng.choice(len(vids), n, replace=False)]
    queries = queries + rng.normal(scale=0.3, size=queries.shape).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    scores = queries @ e_items.T
    # Vehicles with identical features share an embedding: count every returned id whose
    # exact score reaches the 200th best, so ties do not read as misses.
    cutoff = -np.partition(-scores, 199, axis=1)[:, 199]
    position = {v: n for n, v in enumerate(vids.tolist())}
    out = {}
    for ef in (200, 400, 800):
        t = time.perf_counter()
        found = np.concatenate([store.search(collection, q[None], 200, ef=ef)[0] for q in queries])
        out[f"ann_ms_ef{ef}"] = (time.perf_counter() - t) / n * 1e3
        hits = [sum(scores[r, position[v]] >= cutoff[r] - 1e-6 for v in row if v >= 0) / 200
                for r, row in enumerate(found)]  # fmt: skip
        out[f"ann_recall@200_ef{ef}"] = float(np.mean(hits))
    return out


if __name__ == "__main__":
    main()
