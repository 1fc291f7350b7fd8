"""Garbage collection: Milvus collections and artefacts of versions no one can roll back to.

Kept: the active version and the ``keep`` newest other published versions (collection and
artefact: a rollback is one activation), and every artefact of a version not yet published.
Dropped: older collections (their versions then need publishing again before activation),
collections no version owns (a publish that crashed half-way; a ready version's
own name is spared, it may be publishing now), artefacts of failed versions
and of versions whose collection went. Idempotent: a second run finds nothing to do."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from backend.services.indexing import collection_name
from backend.vectors.milvus import MilvusStore

OURS = re.compile(r"^vehicles_v\d+$")


def collect_garbage(engine: Engine, store: MilvusStore, *, keep: int = 2) -> dict[str, Any]:
    with engine.begin() as conn:
        rows = conn.execute(text(
            "SELECT id, status, collection, artefact FROM model_versions ORDER BY id DESC"
        )).all()  # fmt: skip
        published = [r for r in rows if r.collection and r.status != "active"]
        stale = [r for r in published[keep:] if r.status != "training"]
        for r in stale:
            conn.execute(text("UPDATE model_versions SET collection = NULL, vectors = NULL,"
                              " synced_at = NULL, updated_at = now() WHERE id = :id"),
                         {"id": r.id})  # fmt: skip
        owned = {r.collection for r in rows if r.collection} - {r.collection for r in stale}
        # A ready version may be publishing right now; its collection is not garbage yet.
        owned |= {collection_name(r.id) for r in rows if r.status in ("training", "ready")}
        doomed = [r for r in rows if r.artefact and (r.status == "failed" or r in stale)]
        for r in doomed:
            conn.execute(
                text("UPDATE model_versions SET artefact = NULL WHERE id = :id"), {"id": r.id}
            )
    dropped = [n for n in store.collections() if OURS.match(n) and n not in owned]
    for name in dropped:
        store.drop(name)
    for r in doomed:
        Path(r.artefact).unlink(missing_ok=True)
    return {"collections_dropped": sorted(dropped),
            "artefacts_removed": [r.id for r in doomed]}  # fmt: skip
