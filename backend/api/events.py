"""POST /v1/events: a batch of interactions, idempotent by event id; the users' profiles
then move incrementally (a ``profiles.update_user`` job per user)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Literal

from flask import Blueprint, jsonify
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from backend.api.context import services
from backend.api.errors import ApiError
from backend.api.requests import bearer, body
from backend.ingest.records import EventRow
from backend.services import ingestion

bp = Blueprint("events", __name__)


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
    s = services()
    bearer(s.settings.ingest_token, s.settings.admin_token)
    data = body(_Batch)
    if len(data.events) > s.settings.serve_max_batch:
        raise ApiError(413, "batch-too-large", f"at most {s.settings.serve_max_batch} events")
    now = datetime.now(UTC)
    rows = []
    for i, e in enumerate(data.events):
        at = e.occurred_at or now
        rows.append(EventRow(i, e.key(at), e.user_id, e.vehicle_id, e.type, at))
    outcome = ingestion.events(s.engine, rows)
    users = sorted({data.events[i].user_id for i in outcome.accepted})
    jobs = [s.jobs.submit("profiles.update_user", user=u) for u in users] if s.jobs else []
    doc = {**outcome.document(), "profile_jobs": jobs}
    return jsonify(doc), 200 if not doc["rejected"] else 207
