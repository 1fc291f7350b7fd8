"""A self-describing model artefact: weights, net config, feature space, profile prior and
config, the vehicle index, training window and metrics, in one file that loads with
``torch.load(weights_only=True)`` (plain containers and tensors only, nothing executable)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.features import FeatureSpace
from models.nets import NetConfig, Nets

FORMAT = 1


@dataclass
class Artefact:
    nets: Nets
    space: FeatureSpace
    vehicle_ids: np.ndarray  # [J] store ids of the vehicles, in the nets' item order
    item_ids: np.ndarray  # [J] id-embedding index per vehicle, 0 = unknown
    meta: dict[str, Any] = field(default_factory=dict)  # prior, profile config, window, metrics


def save(path: Path, artefact: Artefact) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "format": FORMAT,
        "net_config": artefact.nets.config.to_dict(),
        "state": artefact.nets.state_dict(),
        "feature_space": artefact.space.to_dict(),
        "vehicle_ids": torch.from_numpy(np.asarray(artefact.vehicle_ids, dtype=np.int64)),
        "item_ids": torch.from_numpy(np.asarray(artefact.item_ids, dtype=np.int64)),
        "meta": artefact.meta,
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(doc, tmp)
    tmp.replace(path)  # a reader never sees half a file
    return path


def load(path: Path) -> Artefact:
    doc = torch.load(path, map_location="cpu", weights_only=True)
    if doc.get("format") != FORMAT:
        raise ValueError(f"{path}: unknown artefact format {doc.get('format')!r}")
    nets = Nets(NetConfig.from_dict(doc["net_config"]))
    nets.load_state_dict(doc["state"])
    nets.train(False)
    return Artefact(
        nets,
        FeatureSpace.from_dict(doc["feature_space"]),
        doc["vehicle_ids"].numpy(),
        doc["item_ids"].numpy(),
        doc["meta"],
    )
