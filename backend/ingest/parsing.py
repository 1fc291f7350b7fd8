"""Parsers for the messy values real catalogues contain. Each raises ValueError with a reason."""

from __future__ import annotations

import codecs
import math
import re
from datetime import UTC, datetime

KW_PER_HP = 0.745699872  # mechanical horsepower (cars.com "HP")
KW_PER_PS = 0.73549875  # metric horsepower (German "PS" and AutoScout24's "hp")
KM_PER_MILE = 1.609344

# Cells that mean "no value" in the staged catalogues: empty, dashes, explicit placeholders.
PLACEHOLDERS = frozenset(
    {"", "-", "–", "—", "n/a", "na", "none", "null", "not supported", "-/- (fuel)"}
)

_AMOUNT = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_FLOAT = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
YEARS = (1900, 2100)  # outside these, a timestamp in marketplace data is a fault, not a fact
_UNIX = re.compile(r"\d{9,11}(?:\.\d+)?")


def latin1_fallback(error: UnicodeDecodeError) -> tuple[str, int]:
    """Decode bytes that Windows-1252 leaves undefined as Latin-1 instead of failing the file."""
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error("forecourt-latin1", latin1_fallback)


def is_placeholder(raw: str | None) -> bool:
    return raw is None or raw.strip().lower() in PLACEHOLDERS


def _finite(value: float, raw: str) -> float:
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {raw!r}")
    return value


def parse_number(raw: str) -> float:
    """'6800' -> 6800.0, '10,300' -> 10300.0, '-3.5' -> -3.5. The whole cell must be the number:
    '69OO', '1.5e5' or '12abc34' are errors, not 69, 1.5 and 12.

    Commas are thousands separators here: every staged source writes decimals with a dot.
    """
    text = raw.strip()
    if not re.fullmatch(rf"[-+]?(?:{_AMOUNT})", text):
        raise ValueError(f"not a number: {raw!r}")
    return _finite(float(text.replace(",", "")), raw)


def parse_money(raw: str, symbol: str = "$") -> float:
    """'$10,300' -> 10300.0 where the source writes amounts with ``symbol`` (or none)."""
    sym = re.escape(symbol)
    match = re.fullmatch(rf"(?:{sym}\s*)?({_AMOUNT})(?:\s*{sym})?", raw.strip())
    if match is None:
        raise ValueError(f"not an amount in {symbol}: {raw!r}")
    return _finite(float(match.group(1).replace(",", "")), raw)


def parse_distance_km(raw: str) -> float:
    """Odometer text to kilometres: '51,000 mi.' (miles), '150,000km', '235000' (km)."""
    match = re.fullmatch(rf"({_AMOUNT})\s*(km|mi\.?|miles?)?", raw.strip().lower())
    if match is None:
        raise ValueError(f"not a distance: {raw!r}")
    value = _finite(float(match.group(1).replace(",", "")), raw)
    return value * KM_PER_MILE if match.group(2) and match.group(2).startswith("mi") else value


def parse_int(raw: str) -> int:
    text = raw.strip()
    if not re.fullmatch(r"[-+]?\d{1,18}", text):
        raise ValueError(f"not an integer: {raw!r}")
    return int(text)


def parse_float(raw: str) -> float:
    """A plain decimal or scientific number; 'nan', 'inf' and '9_500' are errors."""
    text = raw.strip()
    if not _FLOAT.fullmatch(text):
        raise ValueError(f"not a number: {raw!r}")
    return _finite(float(text), raw)


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
            stamp = datetime.fromtimestamp(float(text), tz=UTC)
        else:
            try:
                stamp = datetime.fromisoformat(text)
            except ValueError:
                raise ValueError(f"not an ISO 8601 time or unix seconds: {raw!r}") from None
    if stamp.tzinfo is not UTC:
        try:
            stamp = stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)
        except OverflowError:
            raise ValueError(f"time out of range: {raw!r}") from None
    if not YEARS[0] <= stamp.year < YEARS[1]:
        raise ValueError(f"time outside the years {YEARS[0]}-{YEARS[1] - 1}: {raw!r}")
    return stamp
