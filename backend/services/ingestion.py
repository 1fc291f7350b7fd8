"""Ingestion over HTTP: JSON records through the same validation and COPY loaders as file
imports, with a result per record (nothing valid is lost because a neighbour is bad)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from backend.db import catalogue_queries as cq
from backend.ingest import pipeline
from backend.ingest.records import EventRow, Reject, UserRow, VehicleRow
from backend.ingest.rejects import RejectLog
from models.schema import FeatureSchema


class _Collecting(RejectLog):
    def __init__(self) -> None:
        super().__init__(None, echo=False)
        self.found: list[Reject] = []

    def add(self, reject: Reject) -> None:
        super().add(reject)
        self.found.append(reject)


@dataclass
class Outcome:
    stats: pipeline.ImportStats
    results: list[dict[str, Any]] = field(default_factory=list)

    @property
    def accepted(self) -> list[str]:
        """Ids of the records that loaded."""
        return [r["id"] for r in self.results if r["status"] == "accepted"]

    def document(self, refused: list[dict[str, Any]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
        """Counts and a result per record, with ``refused`` (records that failed request
        validation before loading) merged in by index."""
        s = self.stats
        counts = {"loaded": s.loaded, "updated": s.updated, "unchanged": s.unchanged,
                  "duplicates": s.duplicates, "rejected": s.rejected + len(refused)}  # fmt: skip
        return {**counts, "results": sorted([*self.results, *refused], key=lambda r: r["index"])}


def _outcome(stats: pipeline.ImportStats, log: _Collecting,
             keys: Sequence[tuple[int, str]]) -> Outcome:  # fmt: skip
    """``keys``: (index in the request, id) per record loaded; rows carry the index as line."""
    problems: dict[int, list[dict[str, Any]]] = {}
    rejected: set[int] = set()
    for r in log.found:
        value = None if r.value is None else str(r.value)
        problem = {"field": r.field, "value": value, "problem": r.reason, "action": r.action}
        problems.setdefault(r.line, []).append(problem)
        if r.action == "row rejected":
            rejected.add(r.line)
    results = [
        {"index": i, "id": key, "status": "rejected" if i in rejected else "accepted",
         **({"problems": problems[i]} if i in problems else {})}
        for i, key in keys
    ]  # fmt: skip
    return Outcome(stats, results)


def vehicles(engine: Engine, schema: FeatureSchema, rows: Sequence[VehicleRow],
             source: str = "api") -> Outcome:  # fmt: skip
    log = _Collecting()
    stats = pipeline.import_vehicles(engine, list(rows), schema=schema, source=source,
                                     where="request", rejects=log)  # fmt: skip
    return _outcome(stats, log, [(r.line, r.external_id) for r in rows])


def users(engine: Engine, schema: FeatureSchema, rows: Sequence[UserRow]) -> Outcome:
    log = _Collecting()
    stats = pipeline.import_users(engine, list(rows), schema=schema, where="request", rejects=log)
    return _outcome(stats, log, [(r.line, r.external_id) for r in rows])


def events(engine: Engine, rows: Sequence[EventRow]) -> Outcome:
    log = _Collecting()
    stats = pipeline.import_events(engine, list(rows), where="request", rejects=log, writers=1)
    return _outcome(stats, log, [(r.line, r.key) for r in rows])


def vehicle_ids(engine: Engine, external_ids: Sequence[str]) -> dict[str, int]:
    with engine.connect() as conn:
        return cq.vehicle_ids(conn, list(external_ids))
