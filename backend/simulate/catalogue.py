"""Vehicles drawn from the fitted marketplace: make by its share, model, fuel and gearbox
given the make, body type given the model (else the make), a registration year, mileage
given the age, power given the make, and a price from the fitted regression on all of them
plus the make's offset. Listings appear over the simulated period and sell after a while."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

DAY = 86_400.0


@dataclass
class Catalogue:
    make: np.ndarray  # [N] str
    model: np.ndarray
    body: np.ndarray
    fuel: np.ndarray
    gearbox: np.ndarray
    colour: np.ndarray
    year: np.ndarray  # [N] int
    mileage_km: np.ndarray  # [N] float
    power_kw: np.ndarray
    price: np.ndarray
    listed_at: np.ndarray  # [N] unix seconds
    sold_at: np.ndarray  # [N] unix seconds, inf = still on sale at the end

    def __len__(self) -> int:
        return len(self.make)


def _pick(rng: np.random.Generator, counts: dict[str, int], n: int) -> np.ndarray:
    keys = list(counts)
    p = np.asarray([counts[k] for k in keys], dtype=np.float64)
    return np.asarray(keys, dtype=object)[rng.choice(len(keys), size=n, p=p / p.sum())]


def _given(rng: np.random.Generator, parent: np.ndarray, table: dict[str, dict[str, int]],
           fallback: dict[str, int] | None) -> np.ndarray:  # fmt: skip
    """A value per row drawn from ``table[parent]``, else from ``fallback``, else None."""
    out = np.empty(len(parent), dtype=object)
    for key in np.unique(parent):
        counts = table.get(key) or fallback
        if counts:
            rows = np.flatnonzero(parent == key)
            out[rows] = _pick(rng, counts, len(rows))
    return out


def sample_catalogue(fit: dict[str, Any], n: int, rng: np.random.Generator, *, start: float,
                     days: float, lifetime_days: float = 45.0,
                     on_sale_at_start: float = 0.5) -> Catalogue:  # fmt: skip
    """``n`` listings over ``days`` from ``start``: a share ``on_sale_at_start`` is on sale
    from the start, the rest appear uniformly; each sells after an exponential lifetime."""
    make = _pick(rng, fit["makes"], n)
    model = _given(rng, make, fit["models"], {"other": 1})
    fuel = _given(rng, make, fit["fuel"], {"gasoline": 1, "diesel": 1})
    gearbox = _given(rng, make, fit["gearbox"], {"manual": 1, "automatic": 1})
    model_key = np.asarray([f"{a}/{b}" for a, b in zip(make, model, strict=True)], dtype=object)
    body = _given(rng, model_key, fit["body"]["model"], None)
    missing = np.asarray([b is None for b in body])
    body[missing] = _given(rng, make[missing], fit["body"]["make"], fit["body"]["all"])
    colour = _pick(rng, fit["colour"], n)
    year = _pick(rng, fit["years"], n).astype(int)
    age = fit["newest_year"] - year + 0.5
    a, b = fit["mileage"]["poly"]
    mileage = np.expm1(a * np.log1p(age) + b + rng.normal(0, fit["mileage"]["sd"], n))
    mileage = np.clip(np.round(mileage, -2), 0, 400_000)
    mu_sd = np.asarray([fit["power"]["make"].get(m, fit["power"]["all"]) for m in make])
    power = np.clip(np.round(np.exp(rng.normal(mu_sd[:, 0], mu_sd[:, 1]))), 20, 600)
    p = fit["price"]
    b0, b_year, b_km, b_kw = p["beta"]
    offset = np.asarray([p["make_offset"].get(m, 0.0) for m in make])
    log_price = (b0 + b_year * (year - p["base_year"]) + b_km * np.log1p(mileage)
                 + b_kw * np.log(power) + offset + rng.normal(0, p["resid_sd"], n))  # fmt: skip
    price = np.clip(np.round(np.exp(log_price), -1), 500, 1_000_000)
    early = rng.random(n) < on_sale_at_start
    listed = np.where(early, start - rng.random(n) * 30 * DAY, start + rng.random(n) * days * DAY)
    sold = listed + rng.exponential(lifetime_days * DAY, n)
    sold[sold > start + days * DAY] = np.inf
    return Catalogue(make, model, body, fuel, gearbox, colour, year, mileage, power, price,
                     listed, sold)  # fmt: skip


def catalogue_of(features: list[dict[str, Any]], rng: np.random.Generator, *, start: float,
                 days: float, lifetime_days: float = 45.0) -> Catalogue:  # fmt: skip
    """A real catalogue's vehicles (their stored features) for users to browse: all on sale
    at the start, each selling after an exponential lifetime."""

    def col(name: str, default: Any = "") -> np.ndarray:
        return np.asarray([f.get(name) or default for f in features], dtype=object)

    n = len(features)
    sold = start + rng.exponential(lifetime_days * 86_400, n)
    sold[sold > start + days * 86_400] = np.inf
    return Catalogue(
        col("make"), col("model"), col("body_type"), col("fuel"), col("gearbox"), col("colour"),
        col("first_registration_year", 0).astype(int), col("mileage_km", 0).astype(float),
        col("power_kw", 0).astype(float), col("price", 1).astype(float),
        np.full(n, start - 86_400.0), sold,
    )  # fmt: skip
