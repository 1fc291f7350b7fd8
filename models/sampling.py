"""Negative sampling: for each observed interaction, vehicles the user did not pick.

Every strategy only draws vehicles that were on sale at the interaction's time (listed
before it, not yet sold), so a negative is something the user could have chosen.
- ``uniform``: any such vehicle.
- ``popularity``: in proportion to training interactions^0.75 (as word2vec does), so
  popular vehicles are not learnt as good for everyone.
- ``hard``: a vehicle of the same segment (e.g. make) that other users interacted with in the
  same period: close to the positive, so the model must learn finer preferences.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLERS = ("uniform", "popularity", "hard")
WEEK = 7 * 86_400.0


@dataclass
class Availability:
    start: np.ndarray  # [J] unix seconds the vehicle was listed (-inf: always)
    end: np.ndarray  # [J] unix seconds it was sold or removed (+inf: still on sale)

    def at(self, items: np.ndarray, t: np.ndarray) -> np.ndarray:
        return (self.start[items] <= t) & (t < self.end[items])


class NegativeSampler:
    def __init__(
        self,
        strategy: str,
        availability: Availability,
        pos_item: np.ndarray,
        pos_t: np.ndarray,
        segment: np.ndarray,
        *,
        period: float = WEEK,
    ) -> None:
        if strategy not in SAMPLERS:
            raise ValueError(f"unknown negative sampler {strategy!r}; one of {SAMPLERS}")
        self.strategy, self.availability = strategy, availability
        self.n_items = len(availability.start)
        self.pos_item, self.pos_t = pos_item, pos_t
        counts = np.bincount(pos_item, minlength=self.n_items).astype(np.float64)
        self.cdf = np.cumsum(counts**0.75)
        if strategy == "hard":
            # Positives grouped by (period, segment of the positive's vehicle).
            key = np.floor(pos_t / period).astype(np.int64) * (int(segment.max(initial=0)) + 2)
            key += segment[pos_item] + 1
            self.order = np.argsort(key, kind="stable")
            self.sorted_key = key[self.order]
            self.key = key

    def _base(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if self.strategy == "popularity" and self.cdf[-1] > 0:
            return np.searchsorted(self.cdf, rng.random(n) * self.cdf[-1], side="right")
        return rng.integers(0, self.n_items, n)

    def sample(self, examples: np.ndarray, ratio: int, rng: np.random.Generator) -> np.ndarray:
        """[len(examples), ratio] vehicle indices, none equal to the example's own vehicle and
        all on sale at its time (up to a few rejection rounds)."""
        n = len(examples) * ratio
        idx = np.repeat(examples, ratio)
        t, own = self.pos_t[idx], self.pos_item[idx]
        if self.strategy == "hard":
            lo = np.searchsorted(self.sorted_key, self.key[idx], side="left")
            hi = np.searchsorted(self.sorted_key, self.key[idx], side="right")
            pick = lo + (rng.random(n) * (hi - lo)).astype(np.int64)
            out = self.pos_item[self.order[np.minimum(pick, len(self.order) - 1)]]
            bad = out == own  # a segment with one vehicle: fall back to uniform
            out[bad] = rng.integers(0, self.n_items, int(bad.sum()))
        else:
            out = self._base(n, rng)
        for _ in range(8):
            bad = (out == own) | ~self.availability.at(out, t)
            if not bad.any():
                break
            out[bad] = self._base(int(bad.sum()), rng)
        return out.reshape(len(examples), ratio)
