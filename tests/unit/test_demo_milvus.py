"""Which Milvus `forecourt demo` publishes to: Lite for small catalogues, the standalone
server for large ones (when installed), a configured URI always."""

from __future__ import annotations

import pytest

from backend.settings import Settings
from workers.demo import milvus_kind


@pytest.mark.parametrize(
    ("uri", "on_sale", "choice", "installed", "want"),
    [
        (None, 1_000, "auto", True, "lite"),
        (None, 200_000, "auto", True, "lite"),  # at the threshold: still Lite
        (None, 200_001, "auto", True, "server"),
        (None, 1_700_000, "auto", False, "lite"),  # not installed: Lite, with a hint
        (None, 10, "server", True, "server"),
        (None, 10, "server", False, "server"),  # asked for: an error names the extra
        (None, 1_700_000, "lite", True, "lite"),
        ("http://milvus:19530", 1_700_000, "auto", True, "uri"),
        ("http://milvus:19530", 10, "server", True, "uri"),
    ],
)
def test_demo_picks_milvus(uri: str | None, on_sale: int, choice: str, installed: bool,
                           want: str) -> None:  # fmt: skip
    settings = Settings(milvus_uri=uri, milvus_server_above=200_000)
    assert milvus_kind(settings, on_sale, choice, installed) == want
