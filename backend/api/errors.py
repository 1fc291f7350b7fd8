"""Every error as one JSON envelope: ``{"error": {"code", "message", "details"?}}``.
Domain errors map to 4xx here; nothing a client sends may produce a 500."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from backend.services.active_model import NoActiveModel
from backend.services.indexing import FilterError
from backend.services.recommender import UnknownUser, UnknownVehicle
from backend.services.task_queue import QueueUnavailable


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


def _body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    return [{"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]}
            for e in exc.errors(include_url=False)]  # fmt: skip


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):  # type: ignore[no-untyped-def]
        return jsonify(_body(exc.code, exc.message, exc.details)), exc.status

    @app.errorhandler(ValidationError)
    def invalid(exc: ValidationError):  # type: ignore[no-untyped-def]
        return jsonify(_body("invalid", "the request is not valid", validation_details(exc))), 400

    @app.errorhandler(FilterError)
    def bad_filter(exc: FilterError):  # type: ignore[no-untyped-def]
        return jsonify(_body("invalid-filter", str(exc))), 400

    @app.errorhandler(UnknownUser)
    @app.errorhandler(UnknownVehicle)
    def not_found(exc: LookupError):  # type: ignore[no-untyped-def]
        return jsonify(_body("not-found", exc.args[0] if exc.args else str(exc))), 404

    @app.errorhandler(NoActiveModel)
    def no_model(exc: NoActiveModel):  # type: ignore[no-untyped-def]
        return jsonify(_body("no-model", str(exc))), 503

    @app.errorhandler(QueueUnavailable)
    def no_queue(exc: QueueUnavailable):  # type: ignore[no-untyped-def]
        return jsonify(_body("queue-unavailable", str(exc))), 503

    from pymilvus.exceptions import MilvusException

    @app.errorhandler(MilvusException)
    def vector_store(exc: MilvusException):  # type: ignore[no-untyped-def]
        # The active version's collection missing, or Milvus away: the service is not
        # ready, the request was fine.
        app.logger.warning("Milvus: %s", exc)
        return jsonify(
            _body(
                "vector-store-unavailable",
                f"Milvus could not answer ({exc.message});"
                " check /readyz, or republish: POST /v1/admin/reindex",
            )
        ), 503

    @app.errorhandler(HTTPException)
    def http(exc: HTTPException):  # type: ignore[no-untyped-def]
        code = (exc.name or "error").lower().replace(" ", "-")
        return jsonify(_body(code, exc.description or exc.name)), exc.code or 500

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        app.logger.exception("unhandled error")
        return jsonify(_body("internal", "internal error; it has been logged")), 500
