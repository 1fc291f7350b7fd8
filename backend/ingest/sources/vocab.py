"""Source vocabularies mapped onto the vehicle schema's canonical categories."""

from __future__ import annotations

import re
from typing import Any

from backend.ingest.parsing import is_placeholder
from models.schema import FieldIssue, slug

FUEL = {
    # AutoScout24
    "gasoline": "gasoline",
    "diesel": "diesel",
    "electric": "electric",
    "electric/gasoline": "hybrid",
    "electric/diesel": "hybrid",
    "lpg": "lpg",
    "cng": "cng",
    "ethanol": "ethanol",
    "hydrogen": "hydrogen",
    "others": "other",
    # eBay Kleinanzeigen (German)
    "benzin": "gasoline",
    "elektro": "electric",
    "hybrid": "hybrid",
    "andere": "other",
    # cars.com
    "e85 flex fuel": "ethanol",
    "plug-in hybrid": "plug-in-hybrid",
}

GEARBOX = {
    "manual": "manual",
    "automatic": "automatic",
    "semi-automatic": "semi-automatic",
    "manuell": "manual",
    "automatik": "automatic",
}

BODY = {  # eBay Kleinanzeigen vehicleType
    "limousine": "sedan",
    "kleinwagen": "small",
    "kombi": "estate",
    "bus": "van",
    "cabrio": "convertible",
    "coupe": "coupe",
    "suv": "suv",
    "andere": "other",
}

BASE_COLOURS = (
    "black", "white", "silver", "grey", "blue", "red", "green", "brown", "beige",
    "gold", "orange", "yellow", "purple",
)  # fmt: skip

# Makes that some sources split over the make and model columns ("Land" + "Rover Defender").
TWO_WORD_MAKES = {"land": "rover", "aston": "martin", "alfa": "romeo"}
MAKE_ALIASES = {"sonstige-autos": "other", "others": "other", "mercedes": "mercedes-benz"}


def lookup(table: dict[str, str], raw: str) -> str:
    """Canonical value, or the raw value slugged so the schema's vocabulary check reports it."""
    key = raw.strip().lower()
    return table.get(key, slug(raw))


def make_and_model(make: str, model: str) -> tuple[str, str]:
    make_key, model_text = make.strip().lower(), model.strip()
    second = TWO_WORD_MAKES.get(make_key)
    if second and model_text.lower().startswith(second):
        make_key = f"{make_key} {second}"
        model_text = model_text[len(second) :].strip()
    canonical = slug(make_key)
    return MAKE_ALIASES.get(canonical, canonical), slug(model_text) if model_text else ""


def colour(raw: str) -> str:
    """'Granite Crystal Clearcoat Metallic' -> 'granite-crystal-clearcoat-metallic' is useless
    for matching users; reduce free-text paint names to a base colour where one is named."""
    words = set(re.findall(r"[a-z]+", raw.lower().replace("gray", "grey")))
    return next((c for c in BASE_COLOURS if c in words), slug(raw))


def put(features: dict[str, Any], name: str, raw: str | None, convert: Any) -> FieldIssue | None:
    """Set features[name] = convert(raw) unless raw is a placeholder; a failure is an issue."""
    if raw is None or is_placeholder(raw):
        return None
    try:
        features[name] = convert(raw)
    except ValueError as exc:
        return FieldIssue(name, raw, str(exc), fatal=False)
    return None
