"""The one place where beat's periods live (each a setting, ``FORECOURT_BEAT_*``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from backend.settings import Settings


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    every = {
        # Events posted to the API update their users at once; this catches imported ones.
        "profiles.refresh": settings.beat_profile_refresh_s,
        # Vehicles changed by imports (the API mirrors its own writes at once).
        "index.sync_changed": settings.beat_catalogue_sync_s,
        "profiles.rebuild_all": settings.beat_profile_rebuild_s,
        # Weekly by default, as the original work refreshed its model.
        "pipeline.retrain": settings.beat_retrain_s,
        "maintenance.gc": settings.beat_gc_s,
    }
    return {name: {"task": name, "schedule": timedelta(seconds=s)} for name, s in every.items()}
