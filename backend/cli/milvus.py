"""``forecourt milvus``: a Milvus on loopback that several processes can share (the API and
the workers), without Docker."""

from __future__ import annotations

import signal
import threading
from contextlib import suppress
from pathlib import Path

import click

from backend.settings import Settings


@click.command("milvus")
@click.option("--lite", is_flag=True,
              help="Serve the Milvus Lite file (<home>/milvus.db) instead of the standalone"
              " server; it builds FLAT indexes only.")  # fmt: skip
@click.option("--port", type=click.IntRange(1, 65535), default=19530, show_default=True)
@click.option("--data", "data_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Where the server stores its data (default: <home>/milvus-server).")  # fmt: skip
@click.pass_obj
def milvus(settings: Settings, lite: bool, port: int, data_dir: Path | None) -> None:
    """Run Milvus on 127.0.0.1 until Ctrl-C: the standalone server of the `server` extra
    (milvus==2.3.5), or with --lite the Milvus Lite file. Point every process at it with
    FORECOURT_MILVUS_URI (Milvus Lite opens a file in one process only)."""
    stop = threading.Event()
    # SIGTERM (docker stop, a supervisor) ends the wait like Ctrl-C, so the server stops too.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if lite:
        from milvus_lite.server import Server

        settings.home.mkdir(parents=True, exist_ok=True)
        server = Server(str((settings.home / "milvus.db").resolve()), f"127.0.0.1:{port}")
        if not (server.init() and server.start()):
            raise click.ClickException(f"Milvus Lite could not start on 127.0.0.1:{port}")
        click.echo(
            f"Milvus Lite serving {settings.home / 'milvus.db'}: export "
            f"FORECOURT_MILVUS_URI=http://127.0.0.1:{port} FORECOURT_MILVUS_INDEX=FLAT"
        )
        # Served over TCP, the binary does not watch the lock file that stop() releases:
        # it must be ended by hand, or it outlives this command.
        process = server._p
        try:
            with suppress(KeyboardInterrupt):
                stop.wait()
        finally:
            server.stop()
            if process is not None:
                process.terminate()
                process.wait(10)
        return
    from backend.vectors.server import milvus_server

    data = data_dir or settings.home / "milvus-server"
    data.mkdir(parents=True, exist_ok=True)
    try:
        with milvus_server(data, port) as uri:
            click.echo(
                f"Milvus standalone at {uri} (data in {data}): export FORECOURT_MILVUS_URI={uri}"
            )
            with suppress(KeyboardInterrupt):
                stop.wait()
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
