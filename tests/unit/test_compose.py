"""docker-compose.yml, the Dockerfile and .env.example kept honest without Docker: the
services, images, commands and settings keys they name must exist in the code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from backend.settings import Settings
from workers.cli import main

REPO = Path(__file__).resolve().parents[2]
OURS = ("migrate", "api", "worker", "beat")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def _settings_keys() -> set[str]:
    return {f"FORECOURT_{name.upper()}" for name in Settings.model_fields}


def test_services_and_images(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "etcd", "minio", "milvus", *OURS}
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    assert services["milvus"]["image"] == "milvusdb/milvus:v2.3.5"
    assert services["milvus"]["environment"] == {"ETCD_ENDPOINTS": "etcd:2379",
                                                 "MINIO_ADDRESS": "minio:9000"}  # fmt: skip
    # One image, built from the repository's Dockerfile, for every process of ours.
    assert {(services[s]["build"], services[s]["image"]) for s in OURS} == {
        (".", "forecourt:latest")
    }
    for name in ("postgres", "redis", "etcd", "minio", "milvus", "api"):
        assert services[name]["healthcheck"]["test"], name
    for name, service in services.items():
        for needed in service.get("depends_on", {}):
            assert needed in services, (name, needed)
        for volume in service.get("volumes", []):
            assert volume.split(":")[0] in compose["volumes"], (name, volume)


def test_commands_are_forecourt_commands(compose: dict[str, Any]) -> None:
    services = compose["services"]
    expected = {"migrate": ["db", "upgrade"], "api": ["serve"], "worker": ["worker"],
                "beat": ["beat"]}  # fmt: skip
    for name, words in expected.items():
        command = services[name]["command"]
        assert command[0] == "forecourt" and command[1 : 1 + len(words)] == words, command
        group, ctx = main, None
        for word in words:  # every word resolves to a command of the real CLI ...
            group = group.get_command(ctx, word)  # type: ignore[union-attr,assignment]
            assert group is not None, (name, word)
        options = {o for p in group.params for o in p.opts}  # ... and every option too
        assert {w for w in command if w.startswith("--")} <= options, (name, command)
    migrate = services["migrate"]["depends_on"]["postgres"]["condition"]
    assert migrate == "service_healthy"
    for name in ("api", "worker", "beat"):
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully"


def test_environment_keys_are_settings(compose: dict[str, Any]) -> None:
    keys = _settings_keys()
    for name in OURS:
        env = compose["services"][name]["environment"]
        assert set(env) <= keys, set(env) - keys
        assert env["FORECOURT_BROKER_URL"].startswith("redis://redis:")
        assert env["FORECOURT_MILVUS_URI"] == "http://milvus:19530"
        assert "@postgres:5432/" in env["FORECOURT_DATABASE_URL"]
        Settings(_env_file=None, **{k[10:].lower(): v for k, v in env.items()})  # type: ignore[arg-type]


def test_env_example_documents_every_setting() -> None:
    text = (REPO / ".env.example").read_text()
    named = set(re.findall(r"^#? ?(FORECOURT_[A-Z_]+)=", text, flags=re.M))
    assert named == _settings_keys()
    values = dict(re.findall(r"^(FORECOURT_[A-Z_]+)=(.*)$", text, flags=re.M))
    # The uncommented defaults are valid settings.
    Settings(_env_file=None, **{k[10:].lower(): v for k, v in values.items()})  # type: ignore[arg-type]


def test_dockerfile_copies_what_exists() -> None:
    lines = (REPO / "Dockerfile").read_text().splitlines()
    copied = [w for line in lines if line.startswith("COPY ") for w in line.split()[1:-1]]
    assert copied and all((REPO / path).exists() for path in copied), copied
    assert any("pip install" in line and ".[server]" in line for line in lines)
