"""Parsers for the messy values real catalogues contain. Each raises ValueError with a reason."""

from __future__ import annotations

import codecs
import re
from datetime import UTC, datetime

KW_PER_HP = 0.745699872  # mechanical horsepower (cars.com "HP")
KW_PER_PS = 0.73549875  # metric horsepower (German "PS" and AutoScout24's "hp")
KM_PER_MILE = 1.609344

# Cells that mean "no value" in the staged catalogues: empty, dashes, explicit placeholders.
PLACEHOLDERS = frozenset(
    {"", "-", "–", "—", "n/a", "na", "none", "null", "not supported", "-/- (fuel)"}
)

_NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?")
_UNIX = re.compile(r"\d{9,11}(?:\.\d+)?")


def latin1_fallback(error: UnicodeDecodeError) -> tuple[str, int]:
    """Decode bytes that Windows-1252 leaves undefined as Latin-1 instead of failing the file."""
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error("forecourt-latin1", latin1_fallback)


def is_placeholder(raw: str | None) -> bool:
    return raw is None or raw.strip().lower() in PLACEHOLDERS


def parse_number(raw: str) -> float:
    """'$10,300' -> 10300.0, '51,000 mi.' -> 51000.0, '150,000km' -> 150000.0, '6800' -> 6800.0.

    Commas are thousands separators here: every staged source writes decimals with a dot.
    """
    match = _NUMBER.search(raw)
    if match is None:
        raise ValueError(f"no number in {raw!r}")
    return float(match.group().replace(",", ""))


def parse_money(raw: str) -> float:
    text = raw.strip()
    if not re.fullmatch(r"[$€£]?\s*[\d,]+(?:\.\d+)?\s*(?:[$€£]|eur|usd)?", text, re.IGNORECASE):
        raise ValueError(f"not an amount of money: {raw!r}")
    return parse_number(text)


def parse_distance_km(raw: str) -> float:
    """Odometer text to kilometres: '51,000 mi.' (miles), '150,000km', '235000' (km)."""
    text = raw.strip().lower()
    if not re.fullmatch(r"[\d,]+(?:\.\d+)?\s*(?:km|mi\.?|miles?)?", text):
        raise ValueError(f"not a distance: {raw!r}")
    value = parse_number(text)
    return value * KM_PER_MILE if "mi" in text else value


def parse_int(raw: str) -> int:
    text = raw.strip()
    if not re.fullmatch(r"[-+]?\d+", text):
        raise ValueError(f"not an integer: {raw!r}")
    return int(text)


def parse_float(raw: str) -> float:
    try:
        return float(raw.strip())
    except ValueError:
        raise ValueError(f"not a number: {raw!r}") from None


def horsepower_from_engine(raw: str) -> float | None:
    """'300.0HP 3.7L V6 ...' -> 300.0; None when the engine text states no power."""
    match = re.search(r"(\d+(?:\.\d+)?)\s*HP\b", raw, re.IGNORECASE)
    return float(match.group(1)) if match else None


def parse_timestamp(raw: str) -> datetime:
    """ISO 8601 (naive means UTC) or unix seconds, to an aware UTC datetime."""
    try:
        stamp = datetime.fromisoformat(raw)  # the common case first: it is on the import hot path
    except ValueError:
        text = raw.strip()
        if _UNIX.fullmatch(text):
            return datetime.fromtimestamp(float(text), tz=UTC)
        try:
            stamp = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not an ISO 8601 time or unix seconds: {raw!r}") from None
    if stamp.tzinfo is UTC:
        return stamp
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def slug(raw: str) -> str:
    """Canonical categorical value: 'Mercedes-Benz', 'mercedes_benz' -> 'mercedes-benz'."""
    return re.sub(r"[\s_]+", "-", raw.strip().lower())
