"""The Milvus adapter. One code path for Milvus Lite (a local ``.db`` file, embedded) and a
Milvus server (``http://host:19530``, standalone or cluster).

pymilvus is pinned to 2.4.15 with milvus-lite 2.4.12: the last pymilvus line that talks to
both Milvus Lite and the 2.3.5 standalone server from PyPI (pymilvus 2.5 and later refuse
that server). Milvus Lite has no aliases, so the active version is switched in PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

VECTOR, PRIMARY = "embedding", "id"
_TYPES = {"float": "FLOAT", "int": "INT64", "str": "VARCHAR", "bool": "BOOL"}


def is_lite(uri: str) -> bool:
    return not uri.startswith(("http://", "https://", "tcp://", "unix:"))


class MilvusStore:
    def __init__(self, uri: str, *, token: str = "", index: str | None = None,
                 search_timeout_s: int | None = None) -> None:  # fmt: skip
        """``index``: the ANN index of new collections; None = FLAT on Milvus Lite, HNSW on a
        server (Milvus Lite shared over a URI builds FLAT only: say so).
        ``search_timeout_s``: how long a search may take, pymilvus' retries included (without
        it, a Milvus that is down holds a request for minutes of retries)."""
        from pymilvus import MilvusClient  # imported here: nothing connects at import time

        if is_lite(uri):
            Path(uri).parent.mkdir(parents=True, exist_ok=True)
        self.uri, self.lite, self.index = uri, is_lite(uri), index
        self.search_timeout_s = search_timeout_s
        self.client = MilvusClient(uri=uri, token=token)

    def create(
        self, name: str, dim: int, *, scalars: Mapping[str, str] | None = None,
        index: str | None = None,
    ) -> None:  # fmt: skip
        """A collection of (id, embedding, scalar fields for filtered search). The index is
        exact (FLAT) on Milvus Lite, which scans every row anyway, and HNSW on a server."""
        from pymilvus import DataType, MilvusClient

        if self.client.has_collection(name):
            self.client.drop_collection(name)
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field(PRIMARY, DataType.INT64, is_primary=True)
        schema.add_field(VECTOR, DataType.FLOAT_VECTOR, dim=dim)
        for field, kind in (scalars or {}).items():
            extra = {"max_length": 256} if kind == "str" else {}
            schema.add_field(field, getattr(DataType, _TYPES[kind]), nullable=False, **extra)
        params = self.client.prepare_index_params()
        index = index or self.index or ("FLAT" if self.lite else "HNSW")
        extra = {"params": {"M": 16, "efConstruction": 200}} if index == "HNSW" else {}
        params.add_index(field_name=VECTOR, index_type=index, metric_type="IP", **extra)
        self.client.create_collection(name, schema=schema, index_params=params)

    def insert(
        self, name: str, ids: np.ndarray, vectors: np.ndarray,
        scalars: Mapping[str, np.ndarray] | None = None, *, batch: int = 10_000,
    ) -> int:  # fmt: skip
        scalars = scalars or {}
        done = 0
        for start in range(0, len(ids), batch):
            stop = min(start + batch, len(ids))
            columns = {k: np.asarray(v[start:stop]).tolist() for k, v in scalars.items()}
            rows = [
                {PRIMARY: int(i), VECTOR: vec, **{k: col[n] for k, col in columns.items()}}
                for n, (i, vec) in enumerate(
                    zip(ids[start:stop].tolist(), vectors[start:stop].tolist(), strict=True)
                )
            ]
            done += self.client.upsert(name, rows)["upsert_count"]
        return done

    def delete(self, name: str, ids: np.ndarray) -> None:
        self.client.delete(name, ids=[int(i) for i in ids])

    def count(self, name: str) -> int:
        """Rows stored, after a flush: a server's statistics lag the inserts until then."""
        if not self.lite:
            self.client.flush(name)
        return int(self.client.get_collection_stats(name)["row_count"])

    def wait_indexed(self, name: str, *, timeout_s: float = 1800, poll_s: float = 1.0) -> bool:
        """Wait until a server has built the ANN index over every flushed row (it builds in
        the background; until then a search scans the unindexed segments, at many times the
        CPU). True when built, False after ``timeout_s``; Milvus Lite has nothing to wait for."""
        if self.lite:
            return True
        deadline = time.monotonic() + timeout_s
        while True:
            pending = 0
            for index in self.client.list_indexes(name, field_name=VECTOR):
                info = self.client.describe_index(name, index) or {}
                pending += int(info.get("pending_index_rows", 0))
                pending += info.get("state", "Finished") not in ("Finished", "IndexStateNone")
            if not pending:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll_s)

    def vectors(self, name: str, ids: np.ndarray) -> dict[int, np.ndarray]:
        """The stored embeddings of ``ids`` (those present)."""
        rows = self.client.get(name, ids=[int(i) for i in ids], output_fields=[VECTOR])
        return {int(r[PRIMARY]): np.asarray(r[VECTOR], np.float32) for r in rows}

    def search(
        self, name: str, vectors: np.ndarray, limit: int, *, filter: str = "",
        ef: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """Top ``limit`` ids and inner products per query row; -1 / -inf pad short pages."""
        params: dict[str, Any] = {"metric_type": "IP"}
        if not self.lite:  # HNSW needs ef >= limit; more buys recall for time
            params["params"] = {"ef": max(ef or 0, limit)}
        # pymilvus bounds its retries by ``timeout`` only when it is an int.
        timeout = None if self.search_timeout_s is None else int(self.search_timeout_s)
        hits = self.client.search(name, data=np.asarray(vectors, np.float32).tolist(),
                                  limit=limit, filter=filter, search_params=params,
                                  timeout=timeout)  # fmt: skip
        ids = np.full((len(hits), limit), -1, dtype=np.int64)
        scores = np.full((len(hits), limit), -np.inf, dtype=np.float32)
        for r, row in enumerate(hits):
            ids[r, : len(row)] = [h["id"] for h in row]
            scores[r, : len(row)] = [h["distance"] for h in row]
        return ids, scores

    def drop(self, name: str) -> None:
        if self.client.has_collection(name):
            self.client.drop_collection(name)

    def collections(self) -> list[str]:
        return list(self.client.list_collections())

    def close(self) -> None:
        self.client.close()
