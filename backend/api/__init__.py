"""The REST API: ``create_app(settings)`` builds a Flask app over the store, Milvus and the
active model. Nothing connects at import time."""

from __future__ import annotations

from flask import Flask

from backend.api import errors, metrics
from backend.api.context import JobRunner, Services
from backend.api.requests import check_request_text
from backend.db.engine import make_engine
from backend.services.active_model import ModelCache
from backend.services.attention import Attention
from backend.services.recommender import Recommender
from backend.settings import Settings
from backend.vectors.milvus import MilvusStore
from models.schema import load_schema


def build_services(settings: Settings, *, jobs: JobRunner | None = None) -> Services:
    engine = make_engine(settings, pool_size=8, max_overflow=8)
    store = MilvusStore(
        settings.milvus,
        index=settings.milvus_index,
        search_timeout_s=settings.milvus_search_timeout_s,
    )
    models = ModelCache(engine, ttl_s=settings.serve_model_ttl_s,
                        embedding_cache=settings.serve_embedding_cache)  # fmt: skip
    attention = Attention(engine)
    recommender = Recommender(engine, store, models, attention,
                              exclude_viewed=settings.serve_exclude_viewed)  # fmt: skip
    return Services(settings, engine, store, load_schema(settings.feature_schema), models,
                    attention, recommender, jobs)  # fmt: skip


def create_app(settings: Settings | None = None, *, services: Services | None = None,
               jobs: JobRunner | None = None) -> Flask:  # fmt: skip
    from backend.api import admin, events, health, openapi, recommendations, users, vehicles

    settings = settings or (services.settings if services else Settings())
    app = Flask("forecourt")
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.config["MAX_CONTENT_LENGTH"] = 16 * 1024 * 1024
    app.url_map.merge_slashes = False  # "a%2F" in an id: a JSON 404, not an HTML redirect
    app.extensions["forecourt"] = services or build_services(settings, jobs=jobs)
    errors.register(app)
    app.before_request(check_request_text)
    metrics.init_app(app)
    for bp in (health.bp, recommendations.bp, vehicles.bp, users.bp, events.bp, admin.bp,
               openapi.bp):  # fmt: skip
        app.register_blueprint(bp)
    return app
