"""The serving model's embedding cache: a version's features are read and embedded once while
it is cached, and the cache keeps at most its size (the oldest entries go first)."""

from __future__ import annotations

import numpy as np

from backend.services.active_model import ActiveModel
from models import checkpoint
from models.features import FeatureSpace
from models.inputs import item_matrix
from models.nets import NetConfig, Nets
from models.schema import parse_schema

SCHEMA = parse_schema({"name": "cache-test", "item_features": [
    {"name": "fuel", "kind": "categorical"},
    {"name": "price", "kind": "continuous", "log": True},
]})  # fmt: skip
ITEMS = [{"fuel": "diesel" if j % 2 else "petrol", "price": 4000.0 + 500 * j} for j in range(8)]


def _model(cache_size: int) -> ActiveModel:
    space = FeatureSpace.fit(SCHEMA, ITEMS, min_count=1)
    width = item_matrix(space.encode(ITEMS[:1])).shape[1]
    nets = Nets(NetConfig(user_width=4, item_width=width, dim=8, hidden=(16,), rank_hidden=(8,)))
    ids = np.arange(1, len(ITEMS) + 1)
    artefact = checkpoint.Artefact(nets, space, ids, np.zeros(len(ITEMS), np.int64))
    return ActiveModel(1, "vehicles_v1", artefact, cache_size=cache_size)


def test_cached_versions_are_not_read_again_and_the_oldest_go_first() -> None:
    model, reads = _model(cache_size=3), []

    def features_of(versions: list[int]) -> dict[int, dict]:
        reads.append(versions)
        return {v: ITEMS[v % len(ITEMS)] for v in versions}

    def embed(vehicles: list[int], versions: list[int]) -> np.ndarray:
        return model.embed_versions(np.array(vehicles), np.array(versions), features_of)

    first = embed([1, 2], [10, 11])
    assert reads == [[10, 11]] and first.shape == (2, 8)
    assert np.array_equal(embed([2, 1], [11, 10]), first[::-1]) and reads == [[10, 11]]
    embed([3, 4], [12, 13])  # four versions in a cache of three: 10 goes
    assert reads[-1] == [12, 13]
    again = embed([1, 3], [10, 12])
    assert reads[-1] == [10]
    assert np.allclose(again[0], first[0], atol=1e-6)
