"""POST /v1/events: a batch of interactions, idempotent by event id; the users' profiles
then move incrementally (a ``profiles.update_user`` job per user)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Literal

from flask import Blueprint
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from backend.api.context import services
from backend.api.requests import batch_response, write_batch
from backend.ingest.records import EventRow
from backend.services import ingestion
from backend.services.task_queue import QueueUnavailable

bp = Blueprint("events", __name__)
# An event cannot happen after it arrives (beyond clock skew), nor before cars were sold
# online: either would move "now" for every user's recency weights and trend windows.
CLOCK_SKEW = timedelta(minutes=5)
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str | None = Field(None, min_length=1, max_length=200)  # the source's event id
    user_id: str = Field(min_length=1, max_length=200)
    vehicle_id: str = Field(min_length=1, max_length=200)
    type: Literal["view", "bookmark", "contact"]
    occurred_at: AwareDatetime | None = None  # default: now

    def key(self, at: datetime) -> str:
        """The idempotency key: the given id, or one derived from the content."""
        if self.id:
            return self.id
        raw = f"{self.user_id}\x1f{self.vehicle_id}\x1f{self.type}\x1f{at.isoformat()}"
        return "h:" + hashlib.sha1(raw.encode()).hexdigest()


class _Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    events: list[EventIn] = Field(min_length=1)


@bp.post("/v1/events")
def add():  # type: ignore[no-untyped-def]
    valid, refused = write_batch(EventIn, "events")
    s = services()
    now = datetime.now(UTC)
    rows, user_of = [], {}
    for i, e in valid:
        at = e.occurred_at or now
        if not (EARLIEST <= at <= now + CLOCK_SKEW):
            refused.append({"index": i, "id": e.id, "status": "rejected", "problems": [
                {"field": "occurred_at", "problem": f"{at.isoformat()} is in the future or"
                 " before 1900"}]})  # fmt: skip
            continue
        rows.append(EventRow(i, e.key(at), e.user_id, e.vehicle_id, e.type, at))
        user_of[rows[-1].key] = e.user_id
    outcome = ingestion.events(s.engine, rows)
    users = sorted({user_of[k] for k in outcome.accepted})
    extra: dict = {}
    try:
        jobs = [s.jobs.submit("profiles.update_user", user=u) for u in users] if s.jobs else []
    except QueueUnavailable as exc:  # the events are stored; beat's refresh catches up
        jobs, extra = [], {"warning": f"profiles not updated now: {exc}"}
    return batch_response({**outcome.document(refused), "profile_jobs": jobs, **extra})
