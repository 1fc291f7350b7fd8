"""The end-to-end benchmark keeps running: a tiny share of the marketplace through every stage,
against the real Milvus server it starts, ending with its one JSON line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

pytest.importorskip("milvus", reason="the benchmark starts the `server` extra's Milvus")
REPO = Path(__file__).resolve().parents[2]


def test_e2e_at_a_thousandth_of_the_marketplace(server_url: str) -> None:
    env = {**os.environ, "FORECOURT_DATABASE_URL": server_url}
    command = [sys.executable, "-m", "bench.e2e", "--scale", "0.001", "--requests", "40"]
    run = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute('DROP DATABASE IF EXISTS "forecourt_bench_e2e_1" WITH (FORCE)')
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stdout.strip().splitlines()
    assert lines[0].startswith("figure") and "target at 100%" in lines[0]
    every = json.loads(lines[-1])
    assert every["growth"] == {}  # one scale: nothing to compare
    [figures] = every["scales"]
    assert (figures["vehicles"], figures["users"], figures["events"]) == (1700, 100, 8000)
    assert figures["import_events_per_s"] > 0 and figures["train_examples"] > 0
    assert 0 < figures["published_vectors"] <= 1700 and figures["published_indexed"] == 1
    assert 0 < figures["p50_ms_1"] <= figures["p99_ms_1"]
    assert min(figures["rps_1"], figures["rps_4"], figures["rps_16"]) > 0
    assert figures["api_peak_rss_mib"] > 50
    shares = [v for k, v in figures.items() if k.startswith("share_")]
    assert shares and sum(shares) == pytest.approx(1, abs=0.01)
    for stage in ("simulate", "import", "profile_rebuild", "train", "publish"):
        assert figures[f"{stage}_s"] > 0 and figures[f"{stage}_peak_rss_mib"] > 0
