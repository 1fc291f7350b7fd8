"""The REST API end to end on a small generated marketplace: real PostgreSQL, a trained
model published to Milvus Lite, the Flask app from create_app."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from backend.api import build_services, create_app
from backend.api.context import Services
from backend.settings import Settings
from tests.integration.market import marketplace
from workers.jobs.publish import publish
from workers.runner import InProcessRunner

ADMIN, INGEST = {"Authorization": "Bearer admin-t"}, {"Authorization": "Bearer ingest-t"}


@pytest.fixture(scope="module")
def market(server_url: str, template_db: str,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:  # fmt: skip
    """600 vehicles, 60 users, 6,000 events; profiles; two trained versions, v1 published
    and active."""
    tmp = tmp_path_factory.mktemp("market")
    trainings = (("--epochs", "2", "--dim", "16", "--seed", "0"),
                 ("--epochs", "1", "--dim", "16", "--seed", "1"))  # fmt: skip
    for env in marketplace(server_url, template_db, tmp, trainings=trainings):
        settings = Settings(database_url=env["FORECOURT_DATABASE_URL"], home=tmp / "var",
                            ingest_token="ingest-t", admin_token="admin-t",
                            serve_model_ttl_s=0)  # fmt: skip
        yield {"env": env, "settings": settings}


@pytest.fixture(scope="module")
def services(market: dict[str, Any]) -> Iterator[Services]:
    s = build_services(market["settings"])
    s.jobs = InProcessRunner(market["settings"], s.engine, s.store)
    publish(s.engine, s.store, 1, progress=False)
    yield s
    s.store.close()
    s.engine.dispose()


@pytest.fixture(scope="module")
def client(services: Services) -> FlaskClient:
    return create_app(services=services).test_client()


def _contacted(services: Services, user: str) -> set[str]:
    with services.engine.connect() as conn:
        return set(conn.execute(text(
            "SELECT v.external_id FROM events e JOIN users u ON u.id = e.user_id"
            " JOIN vehicles v ON v.id = e.vehicle_id WHERE u.external_id = :u"
            " AND e.type = 'contact'"), {"u": user}).scalars())  # fmt: skip


def test_recommendations_for_a_user(client: FlaskClient, services: Services) -> None:
    r = client.get("/v1/users/u3/recommendations?k=5")
    assert r.status_code == 200, r.json
    doc = r.json
    assert doc["user_id"] == "u3" and doc["model_version"] == 1 and doc["fallback"] is None
    items = doc["items"]
    assert len(items) == 5 and len({i["vehicle_id"] for i in items}) == 5
    scores = [i["score"] for i in items]
    assert scores == sorted(scores, reverse=True) and all(0 < s < 1 for s in scores)
    assert not {i["vehicle_id"] for i in items} & _contacted(services, "u3")
    assert all(i["features"]["make"] for i in items)
    assert any(i["reasons"] for i in items)  # explained from the profile


def test_filters_are_respected(client: FlaskClient) -> None:
    r = client.get("/v1/users/u3/recommendations?k=10&max_price=15000&fuel=diesel,hybrid")
    assert r.status_code == 200, r.json
    items = r.json["items"]
    assert items and all(i["features"]["price"] <= 15000 for i in items)
    assert all(i["features"]["fuel"] in ("diesel", "hybrid") for i in items)


def test_users_without_history_get_the_flagged_fallback(client: FlaskClient) -> None:
    r = client.post("/v1/users", json={"users": [{"id": "newcomer"}]}, headers=INGEST)
    assert r.status_code == 200, r.json
    doc = client.get("/v1/users/newcomer/recommendations?k=3").json
    assert doc["fallback"] == "no-history" and len(doc["items"]) == 3


def test_anonymous_visitor_gets_neighbours_of_what_they_viewed(client: FlaskClient) -> None:
    r = client.post("/v1/recommendations", json={"viewed": ["sim-10", "sim-11"], "k": 5})
    assert r.status_code == 200, r.json
    ids = [i["vehicle_id"] for i in r.json["items"]]
    assert len(ids) == 5 and not {"sim-10", "sim-11"} & set(ids)


def test_similar_and_profile(client: FlaskClient) -> None:
    doc = client.get("/v1/vehicles/sim-5/similar?k=4").json
    assert len(doc["items"]) == 4 and "sim-5" not in [i["vehicle_id"] for i in doc["items"]]
    prof = client.get("/v1/users/u3/profile").json
    assert (
        prof["user_id"] == "u3" and prof["events"] > 0 and "make" in prof["summary"]["categories"]
    )


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "status", "code"),
    [
        ("get", "/v1/users/nobody/recommendations", {}, 404, "not-found"),
        ("get", "/v1/users/u3/recommendations?k=0", {}, 400, "invalid"),
        ("get", "/v1/users/u3/recommendations?k=abc", {}, 400, "invalid"),
        ("get", "/v1/users/u3/recommendations?k=1000", {}, 400, "invalid"),
        ("get", "/v1/users/u3/recommendations?colour_of_dreams=red", {}, 400, "invalid-filter"),
        ("get", "/v1/users/u3/recommendations?max_price=cheap", {}, 400, "invalid-filter"),
        ("get", "/v1/vehicles/nope/similar", {}, 404, "not-found"),
        ("get", "/v1/users/nobody/profile", {}, 404, "not-found"),
        ("post", "/v1/recommendations", {"data": "{not json", "content_type": "application/json"},
         400, "malformed-json"),
        ("post", "/v1/recommendations", {"json": {"viewed": "sim-1"}}, 400, "invalid"),
        ("post", "/v1/recommendations", {"json": {"viewed": ["ghost"]}}, 404, "not-found"),
        ("post", "/v1/events", {"json": {"events": []}, "headers": INGEST}, 400, "invalid"),
        ("post", "/v1/events", {"json": [{"user_id": "u1"}], "headers": INGEST}, 400, "invalid"),
        ("get", "/v1/users/a%00b/recommendations", {}, 400, "invalid"),
        ("get", "/v1/vehicles/%00/similar", {}, 400, "invalid"),
        ("get", "/v1/users/u3%2F/recommendations", {}, 404, "not-found"),
        ("get", "/v1/users/u3/recommendations?fuel=diesel&fuel=hybrid", {}, 400, "invalid-filter"),
        ("post", "/v1/recommendations", {"json": {"viewed": ["sim-1\u0000"]}}, 400, "invalid"),
        ("post", "/v1/recommendations", {"json": {"viewed": ["sim-1"], "k": True}}, 400, "invalid"),
        ("post", "/v1/recommendations", {"data": "[" * 100_000 + "]" * 100_000,
         "content_type": "application/json"}, 400, "malformed-json"),
        ("get", "/v1/no-such-thing", {}, 404, "not-found"),
        ("delete", "/v1/users/u3/recommendations", {}, 405, "method-not-allowed"),
    ],
)  # fmt: skip
def test_bad_requests_get_json_4xx(client: FlaskClient, method: str, url: str, kwargs: dict,
                                   status: int, code: str) -> None:  # fmt: skip
    r = getattr(client, method)(url, **kwargs)
    assert r.status_code == status, r.data
    assert r.json["error"]["code"] == code and r.json["error"]["message"]


def test_oversized_batches_are_refused(client: FlaskClient, services: Services) -> None:
    limit = services.settings.serve_max_batch
    events = [{"user_id": "u1", "vehicle_id": "sim-1", "type": "view"}] * (limit + 1)
    r = client.post("/v1/events", json={"events": events}, headers=INGEST)
    assert r.status_code == 413 and r.json["error"]["code"] == "batch-too-large"


def test_admin_and_ingestion_need_their_tokens(client: FlaskClient) -> None:
    assert client.get("/v1/admin/models").status_code == 401
    assert client.get("/v1/admin/models", headers=INGEST).status_code == 403
    assert client.post("/v1/vehicles", json={"vehicles": []}).status_code == 401
    assert (
        client.post("/v1/events", json={}, headers={"Authorization": "Bearer x"}).status_code == 403
    )
    doc = client.get("/v1/admin/models", headers={"Authorization": "bearer admin-t"}).json
    assert [m["version"] for m in doc["models"]] == [1, 2]  # the scheme in any case
    assert doc["models"][0]["status"] == "active" and doc["models"][0]["vectors"] == 600


def test_batches_keep_the_valid_part_and_report_each_record(client: FlaskClient) -> None:
    vehicles = [
        {"id": "api-good", "title": "good", "features": {"price": 9000, "make": "skoda"}},
        {"id": "api-bad", "features": {"price": -5, "make": "skoda"}},  # implausible price
    ]
    r = client.post("/v1/vehicles", json={"vehicles": vehicles}, headers=INGEST)
    assert r.status_code == 207, r.json
    results = {x["id"]: x for x in r.json["results"]}
    assert results["api-good"]["status"] == "accepted"
    assert results["api-bad"]["status"] == "rejected"
    assert results["api-bad"]["problems"][0]["field"] == "price"
    assert client.get("/v1/vehicles/api-good/similar?k=1").status_code == 200
    assert client.get("/v1/vehicles/api-bad/similar?k=1").status_code == 404


def test_a_bad_record_costs_only_itself(client: FlaskClient) -> None:
    """Records failing request validation, storage (a NUL) or the schema (a number beyond
    any float) are rejected one by one; their neighbours load."""
    vehicles = [
        {"id": "ok-1", "features": {"price": 9000, "make": "skoda"}},
        {"id": "bad-extra", "features": {"price": 9000, "make": "skoda"}, "colour": "red"},
        {"id": "bad-nul", "features": {"price": 9000, "make": "sk\u0000oda"}},
        {"id": "bad-huge", "features": {"price": 10**400, "make": "skoda"}},
        {"id": "bad/slash", "features": {"price": 9000, "make": "skoda"}},
    ]
    r = client.post("/v1/vehicles", json={"vehicles": vehicles}, headers=INGEST)
    assert r.status_code == 207, r.json
    assert [x["status"] for x in r.json["results"]] == ["accepted"] + ["rejected"] * 4
    assert r.json["loaded"] == 1 and r.json["rejected"] == 4
    assert client.get("/v1/vehicles/ok-1/similar?k=1").status_code == 200
    events = [
        {"id": "ok-e", "user_id": "u11", "vehicle_id": "sim-3", "type": "view",
         "occurred_at": "2024-03-30T10:00:00Z"},
        {"id": "future", "user_id": "u11", "vehicle_id": "sim-3", "type": "view",
         "occurred_at": "2999-01-01T00:00:00Z"},
        {"id": "naive", "user_id": "u11", "vehicle_id": "sim-3", "type": "view",
         "occurred_at": "2024-03-30T10:00:00"},
    ]  # fmt: skip
    r = client.post("/v1/events", json={"events": events}, headers=INGEST)
    assert r.status_code == 207 and r.json["loaded"] == 1, r.json
    assert [x["status"] for x in r.json["results"]] == ["accepted", "rejected", "rejected"]
    assert r.json["results"][1]["problems"][0]["field"] == "occurred_at"


def test_a_new_vehicle_is_served_in_similar_at_once(client: FlaskClient) -> None:
    base = client.get("/v1/vehicles/sim-7/similar?k=1").json["items"][0]["features"]
    twin = {"id": "api-twin", "title": "twin of sim-7", "features": dict(base)}
    r = client.post("/v1/vehicles", json={"vehicles": [twin]}, headers=INGEST)
    assert r.status_code == 200 and r.json["index"]["upserted"] == 1
    # Same features as sim-7's nearest neighbour: the new listing is among sim-7's nearest.
    ids = [i["vehicle_id"] for i in client.get("/v1/vehicles/sim-7/similar?k=5").json["items"]]
    assert "api-twin" in ids


def test_a_sold_vehicle_never_appears_again(client: FlaskClient) -> None:
    top = client.get("/v1/users/u5/recommendations?k=3").json["items"][0]["vehicle_id"]
    r = client.patch(f"/v1/vehicles/{top}", json={"status": "sold"}, headers=INGEST)
    assert r.status_code == 200 and r.json["index"]["deleted"] == 1, r.json

    def served(_: int) -> set[str]:
        a = client.get("/v1/users/u5/recommendations?k=20").json["items"]
        b = client.get("/v1/vehicles/sim-1/similar?k=20").json["items"]
        return {i["vehicle_id"] for i in a + b}

    with ThreadPoolExecutor(4) as pool:
        seen = set().union(*pool.map(served, range(12)))
    assert top not in seen
    assert client.delete("/v1/vehicles/sim-2", headers=INGEST).status_code == 200
    assert "sim-2" not in served(0)


def test_availability_is_checked_in_postgres_even_if_milvus_lags(
    client: FlaskClient, services: Services
) -> None:
    """A sale the index has not heard of yet (still in Milvus): never served either."""
    items = client.get("/v1/users/u6/recommendations?k=5").json["items"]
    gone = items[0]["vehicle_id"]
    with services.engine.begin() as conn:
        conn.execute(text("UPDATE vehicles SET status = 'sold' WHERE external_id = :e"),
                     {"e": gone})  # fmt: skip
    again = client.get("/v1/users/u6/recommendations?k=5").json["items"]
    assert gone not in [i["vehicle_id"] for i in again] and len(again) == 5


def test_events_are_idempotent_and_move_the_profile(client: FlaskClient,
                                                    services: Services) -> None:  # fmt: skip
    before = client.get("/v1/users/u9/profile").json["events"]
    batch = {"events": [
        {"id": "api-e1", "user_id": "u9", "vehicle_id": "sim-20", "type": "contact",
         "occurred_at": "2024-03-31T12:00:00Z"},
        {"id": "api-e2", "user_id": "u9", "vehicle_id": "ghost", "type": "view",
         "occurred_at": "2024-03-31T12:00:00Z"},
    ]}  # fmt: skip
    r = client.post("/v1/events", json=batch, headers=INGEST)
    assert r.status_code == 207, r.json
    assert [x["status"] for x in r.json["results"]] == ["accepted", "rejected"]
    services.jobs.wait(30)  # type: ignore[union-attr]
    assert client.get("/v1/users/u9/profile").json["events"] == before + 1
    again = client.post("/v1/events", json=batch, headers=INGEST).json
    assert again["loaded"] == 0 and again["duplicates"] == 1
    # Contacted: never recommended to that user.
    ids = [i["vehicle_id"] for i in client.get("/v1/users/u9/recommendations?k=50").json["items"]]
    assert "sim-20" not in ids


def test_activating_another_version_switches_results(client: FlaskClient,
                                                     services: Services) -> None:  # fmt: skip
    r = client.post("/v1/admin/models/2/activate", headers=ADMIN)
    assert r.status_code == 409  # v2 is trained but not published
    publish(services.engine, services.store, 2, progress=False)
    doc = client.get("/v1/users/u3/recommendations?k=5").json
    assert doc["model_version"] == 2
    r = client.post("/v1/admin/models/1/activate", headers=ADMIN)  # rollback: one call
    assert r.status_code == 200
    assert client.get("/v1/users/u3/recommendations?k=5").json["model_version"] == 1
    assert client.post("/v1/admin/models/9/activate", headers=ADMIN).status_code == 404


def test_health_readiness_metrics_and_openapi(client: FlaskClient) -> None:
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["checks"]["database"] == "ok"
    text_ = client.get("/metrics").get_data(as_text=True)
    assert "forecourt_request_seconds_bucket" in text_
    assert 'forecourt_recommendations_total{source="model"}' in text_
    assert 'forecourt_stage_seconds_count{stage="ann"}' in text_
    spec = client.get("/openapi.json").json
    assert (
        spec["openapi"].startswith("3.") and "/v1/users/{user_id}/recommendations" in spec["paths"]
    )
    assert client.get("/docs").status_code == 200


def test_admin_jobs_run_and_report(client: FlaskClient, services: Services) -> None:
    r = client.post("/v1/admin/reindex", headers=ADMIN)
    assert r.status_code == 202
    job = r.json["job_id"]
    services.jobs.wait(120)  # type: ignore[union-attr]
    status = client.get(f"/v1/admin/jobs/{job}", headers=ADMIN).json
    assert status["status"] == "succeeded", status
    assert status["summary"]["collection"].startswith("vehicles_v")
    assert client.get("/v1/admin/jobs/nope", headers=ADMIN).status_code == 404


def test_paths_are_not_served_from_the_worker_package() -> None:
    import ast

    for path in Path("backend").rglob("*.py"):
        tree = ast.parse(path.read_text())
        names = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        names += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not any(n.split(".")[0] == "workers" for n in names), path


def test_not_found_names_the_id(client: FlaskClient) -> None:
    r = client.get("/v1/users/nope/recommendations")
    assert r.status_code == 404 and r.json["error"]["message"] == "no user 'nope'"


def test_a_missing_collection_is_a_503_until_republished(client: FlaskClient,
                                                         services: Services) -> None:  # fmt: skip
    """Last in the module: it takes the active version's collection away (Milvus lost it)."""
    active = client.get("/v1/users/u3/recommendations?k=3").json["model_version"]
    services.store.drop(f"vehicles_v{active}")
    r = client.get("/v1/users/u3/recommendations?k=3")
    assert r.status_code == 503 and r.json["error"]["code"] == "vector-store-unavailable"
    assert "reindex" in r.json["error"]["message"]
    publish(services.engine, services.store, active, progress=False)
    assert client.get("/v1/users/u3/recommendations?k=3").status_code == 200
