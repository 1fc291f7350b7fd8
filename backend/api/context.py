"""What the request handlers share, built once per app from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from flask import current_app
from sqlalchemy import Engine

from backend.services.active_model import ModelCache
from backend.services.attention import Attention
from backend.services.recommender import Recommender
from backend.settings import Settings
from backend.vectors.milvus import MilvusStore
from models.schema import FeatureSchema


class JobRunner(Protocol):
    """Queues a named job (``index.publish``, ``training.train``...) and returns its id; the
    run is recorded in the ``jobs`` table. The API knows jobs by name only: a Celery client
    (backend/services/task_queue.py) or the in-process runner, chosen by the entry point,
    never imported from workers/ here."""

    def submit(self, name: str, **kwargs: Any) -> str: ...


@dataclass
class Services:
    settings: Settings
    engine: Engine
    store: MilvusStore
    schema: FeatureSchema
    models: ModelCache
    attention: Attention
    recommender: Recommender
    jobs: JobRunner | None = None


def services() -> Services:
    return current_app.extensions["forecourt"]
