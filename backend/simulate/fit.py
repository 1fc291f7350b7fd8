"""Fitting the catalogue simulator to real listings (AutoScout24 for makes, models, fuels,
gearboxes, years, prices, mileages and power; eBay Kleinanzeigen for body types; cars.com
for colours), through the same importers a user runs. The result is a small JSON file of
counts and regression coefficients, kept in the repository; the data itself never is.

    python -m backend.simulate.fit ../shared/data    # rewrites marketplace_fit.json
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from backend.ingest import catalogues
from backend.ingest.reader import resolve_file
from models.schema import load_schema

FIT_FILE = Path(__file__).with_name("marketplace_fit.json")
MODELS_PER_MAKE = 25  # the long tail of rare models adds size, not realism
BASE_YEAR = 2016


def _rows(folder: Path) -> list[dict[str, Any]]:
    file = resolve_file(folder)
    fmt = catalogues.detect(file)
    reader = catalogues.FORMATS[fmt](file, schema=load_schema("vehicles"), usd_to_eur=0.92)
    return [r.features for r in reader if not r.issues or r.features.get("price")]


def _counts(values: list[Any]) -> dict[str, int]:
    return dict(Counter(v for v in values if v).most_common())


def fit(data_dir: Path) -> dict[str, Any]:
    cars = [r for r in _rows(data_dir / "autoscout24-germany")
            if r.get("price") and r.get("make") and r.get("first_registration_year")]  # fmt: skip
    by_make: dict[str, list[dict]] = defaultdict(list)
    for r in cars:
        by_make[r["make"]].append(r)
    makes = _counts([r["make"] for r in cars])

    # log price = b0 + b_year (year - 2016) + b_km log1p(km) + b_kw log(kW) + make offset + e
    full = [r for r in cars if r.get("mileage_km") is not None and r.get("power_kw")]
    x = np.array([[1.0, r["first_registration_year"] - BASE_YEAR, np.log1p(r["mileage_km"]),
                   np.log(r["power_kw"])] for r in full])  # fmt: skip
    y = np.log([r["price"] for r in full])
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    offsets: dict[str, float] = {}
    for make in makes:
        mine = np.array([resid[i] for i, r in enumerate(full) if r["make"] == make])
        # Shrunk toward 0 like a random effect: a make with few listings says little.
        offsets[make] = float(mine.sum() / (len(mine) + 20)) if len(mine) else 0.0
    resid_sd = float(np.std(resid - np.array([offsets[r["make"]] for r in full])))

    # log1p(km) ~ normal(a + b * log1p(age), sd), age in years before the newest listing
    newest = max(r["first_registration_year"] for r in cars)
    km = [(np.log1p(newest - r["first_registration_year"] + 0.5), np.log1p(r["mileage_km"]))
          for r in cars if r.get("mileage_km") is not None]  # fmt: skip
    a_km = np.polyfit([k[0] for k in km], [k[1] for k in km], 1)
    km_sd = float(np.std([k[1] - np.polyval(a_km, k[0]) for k in km]))

    power = {}
    for make, rows in by_make.items():
        kw = np.log([r["power_kw"] for r in rows if r.get("power_kw")])
        if len(kw) >= 3:
            power[make] = [float(kw.mean()), float(max(kw.std(), 0.1))]
    all_kw = np.log([r["power_kw"] for r in cars if r.get("power_kw")])

    ebay = _rows(data_dir / "ebay-kleinanzeigen-autos-partial")
    body_by_model: dict[str, Counter] = defaultdict(Counter)
    body_by_make: dict[str, Counter] = defaultdict(Counter)
    for r in ebay:
        if r.get("body_type") and r.get("make"):
            body_by_make[r["make"]][r["body_type"]] += 1
            if r.get("model"):
                body_by_model[f"{r['make']}/{r['model']}"][r["body_type"]] += 1
    # Paint names the importer could not reduce to a base colour are one-offs: left out.
    colours = {c: n for c, n in _counts([r.get("colour") for r in
                                         _rows(data_dir / "cars-com-used-cars")]).items()
               if n >= 10}  # fmt: skip

    return {
        "source": "AutoScout24 Germany (makes, models, fuel, gearbox, years, price, mileage,"
                  " power), eBay Kleinanzeigen (body types), cars.com (colours)",
        "listings": len(cars),
        "newest_year": newest,
        "makes": makes,
        "models": {m: dict(Counter(r.get("model") for r in rows if r.get("model"))
                           .most_common(MODELS_PER_MAKE)) for m, rows in by_make.items()},
        "fuel": {m: _counts([r.get("fuel") for r in rows]) for m, rows in by_make.items()},
        "gearbox": {m: _counts([r.get("gearbox") for r in rows]) for m, rows in by_make.items()},
        "years": {str(k): v for k, v in sorted(Counter(
            r["first_registration_year"] for r in cars).items())},
        "price_quantiles": {q: float(np.quantile([r["price"] for r in cars], float(q)))
                            for q in ("0.1", "0.5", "0.9")},
        "price": {"base_year": BASE_YEAR, "beta": beta.round(5).tolist(),
                  "make_offset": {k: round(v, 4) for k, v in offsets.items()},
                  "resid_sd": round(resid_sd, 4)},
        "mileage": {"poly": np.round(a_km, 5).tolist(), "sd": round(km_sd, 4)},
        "power": {"make": {k: [round(a, 4), round(b, 4)] for k, (a, b) in power.items()},
                  "all": [round(float(all_kw.mean()), 4), round(float(all_kw.std()), 4)]},
        "body": {"model": {k: dict(c) for k, c in body_by_model.items() if sum(c.values()) >= 5},
                 "make": {k: dict(c) for k, c in body_by_make.items()},
                 "all": _counts([r.get("body_type") for r in ebay])},
        "colour": colours,
    }  # fmt: skip


def load_fit(path: Path = FIT_FILE) -> dict[str, Any]:
    return json.loads(path.read_text())


if __name__ == "__main__":
    doc = fit(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data"))
    FIT_FILE.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    print(
        f"{FIT_FILE}: {doc['listings']} listings, {len(doc['makes'])} makes,"
        f" price beta {doc['price']['beta']}, resid sd {doc['price']['resid_sd']}"
    )
