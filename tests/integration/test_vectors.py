"""The Milvus adapter against a real Milvus Lite file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from backend.vectors.milvus import MilvusStore, is_lite


def test_milvus_lite_create_insert_search_filter_delete(tmp_path: Path) -> None:
    store = MilvusStore(str(tmp_path / "milvus" / "v.db"))
    assert store.lite and is_lite("./x.db") and not is_lite("http://127.0.0.1:19530")
    vectors = np.eye(4, dtype=np.float32)
    scalars = {"price": np.array([1e4, 2e4, 3e4, 4e4]), "make": np.array(["vw", "bmw"] * 2)}
    store.create("vehicles_v1", 4, scalars={"price": "float", "make": "str"})
    assert store.insert("vehicles_v1", np.array([10, 11, 12, 13]), vectors, scalars) == 4
    assert store.count("vehicles_v1") == 4 and store.collections() == ["vehicles_v1"]
    ids, scores = store.search("vehicles_v1", vectors[[1]], 2)
    assert ids[0, 0] == 11 and scores[0, 0] == np.float32(1.0)
    ids, _ = store.search("vehicles_v1", vectors[[0]], 4, filter='make == "bmw" and price < 3e4')
    assert ids[0].tolist() == [11, -1, -1, -1]  # a short page is padded
    store.delete("vehicles_v1", np.array([11]))
    ids, _ = store.search("vehicles_v1", vectors[[1]], 4)
    assert 11 not in ids[0] and store.count("vehicles_v1") in (3, 4)  # stats lag deletes
    store.drop("vehicles_v1")
    assert store.collections() == []
    store.close()
