"""Which losses and negative samplers win on validation: one real dataset, one split, every
combination side by side (same seed, same epochs budget, early stopping on validation).

    python -m bench.train_ablation [--dataset movielens-100k] [--epochs 12] [--seeds 1]

Imports the dataset into a scratch database on FORECOURT_DATABASE_URL's server (or the
embedded one), rebuilds profiles, prepares the examples once, then trains each variant.
Prints validation precision@5 of the served path (and popularity's) per variant, the ratio to
the default, and one JSON line.
"""

from __future__ import annotations

import json
import time

import click
import numpy as np
from sqlalchemy import create_engine

from backend.db import migrate
from backend.ingest import datasets
from backend.ingest.rejects import RejectLog
from backend.settings import Settings
from bench.import_events import scratch_database
from models.profiles import ProfileConfig
from models.schema import load_schema
from models.train import train
from workers.jobs.profiles import rebuild_profiles
from workers.jobs.training import popularity_precision, prepare

FOLDERS = {"movielens-100k": "movielens-100k", "taobao": "taobao-userbehavior-partial"}
VARIANTS = {
    "bce + softmax, uniform (default)": {},
    "bce only, uniform": {"retrieval_loss": "none"},
    "bce + softmax, popularity": {"sampler": "popularity"},
    "bce + softmax, hard": {"sampler": "hard"},
    "bce + softmax, uniform, 4 negatives": {"neg_ratio": 4},
    "bce + softmax, no id embeddings": {"id_embeddings": False},
}


@click.command()
@click.option("--dataset", type=click.Choice(sorted(FOLDERS)), default="movielens-100k")
@click.option("--epochs", default=12, show_default=True)
@click.option("--seeds", default=1, show_default=True)
def main(dataset: str, epochs: int, seeds: int) -> None:
    settings = Settings()
    engine = create_engine(scratch_database(settings, "forecourt_bench_ablation"))
    migrate.upgrade(engine)
    datasets.import_dataset(engine, dataset, settings.data_dir / FOLDERS[dataset],
                            RejectLog(None, echo=False))  # fmt: skip
    schema = load_schema(dataset)
    cfg = ProfileConfig()
    rebuild_profiles(engine, schema, cfg=cfg)
    prepared = prepare(engine, schema, cfg)
    popularity = popularity_precision(prepared, 5)
    print(f"{dataset}: {len(prepared.data.item):,} examples, "
          f"{len(prepared.validation.relevant):,} validation users; popularity precision@5 "
          f"{popularity:.4f}")  # fmt: skip
    results: dict[str, dict[str, float]] = {}
    for name, kw in VARIANTS.items():
        scores, started = [], time.perf_counter()
        for seed in range(seeds):
            result = train(prepared.data, prepared.validation, epochs=epochs, seed=seed,
                           progress=False, **kw)  # type: ignore[arg-type]  # fmt: skip
            scores.append(result.metrics["val_precision@5"])
        results[name] = {"precision@5": float(np.mean(scores)), "std": float(np.std(scores)),
                         "seconds": time.perf_counter() - started}  # fmt: skip
        base = results[next(iter(VARIANTS))]["precision@5"]
        print(f"{name:40s} precision@5 {np.mean(scores):.4f} ± {np.std(scores):.4f}"
              f"  ({np.mean(scores) / base:.2f}x default, {np.mean(scores) / popularity:.2f}x"
              f" popularity)  {results[name]['seconds']:.0f}s")  # fmt: skip
    print(json.dumps({"dataset": dataset, "popularity": popularity, "variants": results}))


if __name__ == "__main__":
    main()
