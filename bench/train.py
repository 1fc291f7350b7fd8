"""Training throughput: examples/s and time per epoch, on generated inputs as wide as the
vehicle feature space (make, model, body, fuel, gearbox, colour vocabularies + 4 continuous).

    python bench/train.py [--examples 1000000] [--items 200000] [--negatives 1]

Prints one line per configuration and one JSON line. The figure is pure compute (the data is
in memory): the database side of a training run is timed by bench/e2e.py.
"""

from __future__ import annotations

import json
import time

import click
import numpy as np
import torch

from models.sampling import Availability
from models.train import Holdout, TrainingSet, train

CATEGORICAL, CONTINUOUS = 420, 4  # the vehicles schema on the AutoScout24 catalogue


def _data(examples: int, items: int, rng: np.random.Generator) -> tuple[TrainingSet, Holdout]:
    item_x = np.zeros((items, CATEGORICAL + 2 * CONTINUOUS), np.float32)
    for block, size in ((0, 60), (60, 200), (260, 10), (270, 8), (278, 4), (282, 14)):
        item_x[np.arange(items), block + rng.integers(0, size, items)] = 1.0
    item_x[:, CATEGORICAL:] = rng.normal(size=(items, 2 * CONTINUOUS))
    user_x = rng.random((examples, CATEGORICAL + 2 * CONTINUOUS + 2), dtype=np.float32)
    item = rng.integers(0, items, examples)
    data = TrainingSet(
        user_x=user_x, item=item, item_row=item, t=np.sort(rng.random(examples)) * 1e6,
        item_x=item_x, current_row=np.arange(items),
        availability=Availability(np.full(items, -np.inf), np.full(items, np.inf)),
        segment=rng.integers(0, 60, items),
    )  # fmt: skip
    users = 500
    holdout = Holdout(user_x[:users], [rng.integers(0, items, 5) for _ in range(users)],
                      [np.zeros(0, np.int64)] * users, 2e6)  # fmt: skip
    return data, holdout


@click.command()
@click.option("--examples", default=1_000_000, show_default=True)
@click.option("--items", default=200_000, show_default=True)
@click.option("--negatives", default=1, show_default=True)
@click.option("--batch-size", default=512, show_default=True)
def main(examples: int, items: int, negatives: int, batch_size: int) -> None:
    rng = np.random.default_rng(0)
    data, holdout = _data(examples, items, rng)
    print(f"{examples:,} examples, {items:,} vehicles, input width {data.item_x.shape[1]}, "
          f"{torch.get_num_threads()} torch threads")  # fmt: skip
    results: dict[str, float] = {"examples": examples, "items": items}
    for loss in ("softmax", "none"):
        started = time.perf_counter()
        result = train(data, holdout, epochs=1, neg_ratio=negatives, batch_size=batch_size,
                       retrieval_loss=loss, progress=True)  # fmt: skip
        epoch = result.history[0]["seconds"]
        total = time.perf_counter() - started
        results[f"epoch_s_{loss}"] = round(epoch, 1)
        results[f"examples_per_s_{loss}"] = round(examples / epoch)
        print(f"retrieval loss {loss:8s}: epoch {epoch:.1f}s ({examples / epoch:,.0f} examples/s"
              f" incl. validation on {len(holdout.relevant)} users), run {total:.1f}s")  # fmt: skip
    print(f"one epoch of 1M examples: {results['epoch_s_softmax'] * 1e6 / examples:.0f}s"
          " with the default losses")  # fmt: skip
    print(json.dumps(results))


if __name__ == "__main__":
    main()
