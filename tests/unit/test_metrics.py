"""Ranking metrics against values worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models.evaluate import aggregate, candidate_recall, ranking_metrics, split_time
from models.metrics import ap_at_k, coverage_at_k, ndcg_at_k, precision_at_k, recall_at_k
from workers.jobs import evaluation_report

# User a: ranked 1 2 3 4 5, relevant {1, 3, 9}; user b: ranked 7 8, relevant {8} (short list).
RANKED = [np.array([1, 2, 3, 4, 5]), np.array([7, 8])]
RELEVANT = [np.array([1, 3, 9]), np.array([8])]


def test_precision_is_the_original_works_map() -> None:
    # a: 2 hits in 5 -> 0.4; b: 1 hit, the missing places count as misses -> 1/5
    assert precision_at_k(RANKED, RELEVANT, 5) == pytest.approx((0.4 + 0.2) / 2)
    assert precision_at_k(RANKED, RELEVANT, 1) == pytest.approx((1 + 0) / 2)


def test_average_precision() -> None:
    # a: hits at ranks 1 and 3 -> (1/1 + 2/3) / min(5, 3); b: hit at rank 2 -> (1/2) / 1
    assert ap_at_k(RANKED, RELEVANT, 5) == pytest.approx(((1 + 2 / 3) / 3 + 0.5) / 2)
    # fewer relevant items than k: normalised by the number relevant
    assert ap_at_k([np.array([4, 8])], [np.array([8])], 5) == pytest.approx(0.5)


def test_recall_ndcg_coverage() -> None:
    assert recall_at_k(RANKED, RELEVANT, 5) == pytest.approx((2 / 3 + 1) / 2)
    dcg_a, idcg_a = 1 + 1 / np.log2(4), 1 + 1 / np.log2(3) + 1 / np.log2(4)
    dcg_b, idcg_b = 1 / np.log2(3), 1.0
    assert ndcg_at_k(RANKED, RELEVANT, 5) == pytest.approx((dcg_a / idcg_a + dcg_b / idcg_b) / 2)
    assert coverage_at_k(RANKED, 20, 2) == pytest.approx(4 / 20)  # {1, 2, 7, 8}
    assert precision_at_k([], [], 5) == 0.0


def test_ranking_metrics_and_aggregate() -> None:
    m = ranking_metrics(RANKED, RELEVANT, 20, ks=(1, 5))
    assert m["map@5"] == pytest.approx(0.3) and m["recall@1"] == pytest.approx(1 / 6)
    agg = aggregate([{"map@5": 0.2}, {"map@5": 0.4}])
    assert agg == {"map@5": pytest.approx(0.3), "map@5_std": pytest.approx(0.1)}
    assert candidate_recall([np.array([1, 2, 3, 4])], [np.array([2, 4, 9])], 4) == 0.5


def test_split_time_is_a_quantile_of_events_not_of_the_calendar() -> None:
    t = np.r_[[0.0], np.arange(1000.0, 1100.0)]  # one stray early event
    assert split_time(t, 0.2) == pytest.approx(np.quantile(t, 0.8))
    assert (t > split_time(t, 0.2)).sum() == 20
    with pytest.raises(ValueError):
        split_time(t, 1.0)


def test_report_files(tmp_path: Path) -> None:
    metrics = {
        f"{m}@{k}": 0.1 * k / 100
        for m in ("map", "ap", "recall", "ndcg", "coverage")
        for k in (1, 5, 10)
    }
    doc = {
        "dataset": "toy",
        "split": {
            "test_start": "2020-01-01",
            "validation_start": "2019-12-01",
            "test_fraction": 0.2,
            "training_interactions": 10,
            "test_users": 2,
            "test_interactions": 3,
            "test_on_new_items": 0.5,
            "items": 9,
            "seeds": 3,
            "candidates": 200,
        },
        "models": {
            name: {**aggregate([metrics, metrics]), "params": {"p": 1}}
            for name in (
                "forecourt-served",
                "forecourt-exhaustive",
                "popularity",
                "lightfm-cf",
                "lightfm-hybrid",
                "als",
            )
        },
    }
    doc["models"]["als"]["map@5"] = 0.5
    files = evaluation_report.write(doc, tmp_path / "out")
    loaded = json.loads(files[0].read_text())
    assert set(loaded["models"]) == set(doc["models"]) and loaded["models"]["als"]["map@5"] == 0.5
    assert {"map@5", "ap@5", "recall@5", "ndcg@5", "map@5_std", "params"} <= set(
        loaded["models"]["forecourt-served"]
    )
    text = files[1].read_text()
    assert "best tuned baseline (als) 0.5000" in text and "| lightfm-hybrid |" in text
    assert files[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
