"""Running the ``forecourt`` CLI in-process, as the integration tests do."""

from __future__ import annotations

from click.testing import CliRunner, Result

from workers.cli import main  # the entry point: all commands


def invoke(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def ok(env: dict[str, str], *args: str) -> str:
    """Run a command that must succeed; its standard output."""
    result = invoke(env, *args)
    assert result.exit_code == 0, result.output
    return result.stdout
