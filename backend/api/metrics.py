"""Prometheus metrics: request latency by endpoint, recommendations served, fallbacks, and
the time of each recommendation stage. One registry per app (tests build many apps)."""

from __future__ import annotations

import time

from flask import Flask, Response, current_app, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from backend.services.recommender import Result

BUCKETS = (0.002, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram("forecourt_request_seconds", "HTTP request latency",
                                 ["endpoint", "method", "status"], buckets=BUCKETS,
                                 registry=self.registry)  # fmt: skip
        self.served = Counter("forecourt_recommendations_total", "Recommendation responses",
                              ["source"], registry=self.registry)  # fmt: skip
        self.items = Counter("forecourt_recommended_items_total", "Vehicles recommended",
                             registry=self.registry)  # fmt: skip
        self.stage = Histogram("forecourt_stage_seconds", "Time per recommendation stage",
                               ["stage"], buckets=BUCKETS, registry=self.registry)  # fmt: skip


def init_app(app: Flask) -> None:
    metrics = Metrics()
    app.extensions["forecourt_metrics"] = metrics

    @app.before_request
    def start() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def record(response: Response) -> Response:
        if "started" in g:
            endpoint = request.url_rule.rule if request.url_rule else "unmatched"
            metrics.latency.labels(endpoint, request.method, str(response.status_code)).observe(
                time.perf_counter() - g.started
            )
        return response

    @app.get("/metrics")
    def expose() -> Response:
        return Response(generate_latest(metrics.registry), mimetype=CONTENT_TYPE_LATEST)


def observe_recommendation(result: Result) -> None:
    metrics: Metrics = current_app.extensions["forecourt_metrics"]
    metrics.served.labels("fallback" if result.fallback else "model").inc()
    metrics.items.inc(len(result.items))
    for stage, ms in result.timings_ms.items():
        metrics.stage.labels(stage).observe(ms / 1e3)
