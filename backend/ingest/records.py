"""What sources yield and loaders take: one parsed row, before and after validation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from models.schema import FieldIssue


@dataclass
class VehicleRow:
    line: int
    external_id: str
    features: dict[str, Any]
    title: str | None = None
    status: str | None = None  # None: keep the stored status (new vehicles are available)
    listed_at: datetime | None = None
    observed_at: datetime | None = None  # when this state was seen; None = at import time
    issues: list[FieldIssue] = field(default_factory=list)  # problems found while parsing


@dataclass
class UserRow:
    line: int
    external_id: str
    attributes: dict[str, Any]
    issues: list[FieldIssue] = field(default_factory=list)


@dataclass(slots=True)
class EventRow:
    line: int
    key: str
    user: str
    vehicle: str
    type: str
    occurred_at: datetime
    value: float | None = None


@dataclass(frozen=True)
class Reject:
    """A row (or a field of it) that did not load, and why."""

    path: str
    line: int
    field: str
    value: Any
    reason: str
    action: str = "row rejected"  # or "field dropped"
