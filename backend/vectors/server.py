"""A real Milvus standalone server without Docker, from the ``milvus`` PyPI package (2.3.5,
the ``server`` extra): for catalogues Milvus Lite would scan row by row. Started as a child
process on loopback; the code talks to it through the same URI path as to docker Milvus."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

# Every component advertises loopback instead of the first external address.
LOOPBACK = ("rootCoord", "proxy", "queryCoord", "queryNode", "indexNode", "dataCoord",
            "dataNode")  # fmt: skip


@contextlib.contextmanager
def milvus_server(data_dir: Path, port: int = 19530) -> Iterator[str]:
    """Start a server storing under ``data_dir``; yields its URI; stops it on exit."""
    try:
        from milvus import MilvusServer
    except ImportError as exc:
        raise RuntimeError("the Milvus server needs the `server` extra: pip install "
                           "'forecourt[server]' (milvus==2.3.5)") from exc  # fmt: skip
    server = MilvusServer(wait_for_started=True)
    server.set_base_dir(str(data_dir))
    server.listen_port = port
    for component in LOOPBACK:
        server.config.set(f"{component}.ip", "127.0.0.1")
    server.start()
    try:
        yield f"http://127.0.0.1:{server.listen_port}"
    finally:
        server.stop()
