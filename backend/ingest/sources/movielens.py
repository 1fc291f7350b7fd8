"""MovieLens 100K (GroupLens files u.item, u.user, u.data): movies as items, ratings as views."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from backend.ingest.parsing import parse_int, parse_timestamp
from backend.ingest.reader import FormatError, read_rows
from backend.ingest.records import EventRow, Reject, UserRow, VehicleRow
from models.schema import FieldIssue

NAME = "movielens-100k"
SCHEMA = "movielens-100k"
FILES = ("u.item", "u.user", "u.data", "u.genre")
STARS = ("1", "2", "3", "4", "5")


def _genres(directory: Path) -> list[str]:
    rows = read_rows(directory / "u.genre", delimiter="|", progress=False)
    return [r[2][0] for r in rows if not isinstance(r, Reject)]


def age_band(age: int) -> str:
    for upper, band in ((18, "<18"), (25, "18-24"), (35, "25-34"), (45, "35-44"), (55, "45-54")):
        if age < upper:
            return band
    return "55+"


def check(directory: Path) -> None:
    missing = [f for f in FILES if not (directory / f).is_file()]
    if missing:
        raise FormatError(directory, 0, None, f"not a MovieLens 100K folder: missing {missing}")


def read_items(directory: Path) -> Iterator[VehicleRow | Reject]:
    genres = _genres(directory)
    path = directory / "u.item"
    for record in read_rows(path, encoding="latin-1", delimiter="|", desc="u.item"):
        if isinstance(record, Reject):
            yield record
            continue
        line, _, cells = record
        if len(cells) != 5 + len(genres):
            yield Reject(str(path), line, "*", len(cells), f"expected {5 + len(genres)} cells")
            continue
        flags = cells[5:]
        features: dict[str, object] = {
            "genres": [g for g, f in zip(genres, flags, strict=True) if f == "1"]
        }
        issues = []
        if cells[2].strip():
            try:
                features["release_year"] = datetime.strptime(cells[2], "%d-%b-%Y").year
            except ValueError:
                issues.append(FieldIssue("release_year", cells[2], "not a dd-Mon-yyyy date", False))
        yield VehicleRow(
            line=line, external_id=cells[0], title=cells[1], features=features, issues=issues
        )


def read_users(directory: Path) -> Iterator[UserRow | Reject]:
    path = directory / "u.user"
    for record in read_rows(path, delimiter="|", desc="u.user"):
        if isinstance(record, Reject):
            yield record
            continue
        line, _, cells = record
        if len(cells) != 5:
            yield Reject(str(path), line, "*", len(cells), "expected 5 cells")
            continue
        attributes: dict[str, object] = {"gender": cells[2], "occupation": cells[3]}
        issues = []
        try:
            age = parse_int(cells[1])
            if not 5 <= age <= 100:
                raise ValueError(f"age {age} is implausible")
            attributes.update(age=age, age_band=age_band(age))
        except ValueError as exc:
            issues.append(FieldIssue("age", cells[1], str(exc), False))
        yield UserRow(line=line, external_id=cells[0], attributes=attributes, issues=issues)


def read_events(directory: Path) -> Iterator[EventRow | Reject]:
    path = directory / "u.data"
    where = str(path)
    for record in read_rows(path, delimiter="\t", desc="u.data"):
        if isinstance(record, Reject):
            yield record
            continue
        line, _, cells = record
        if len(cells) != 4:
            yield Reject(where, line, "*", len(cells), "expected 4 cells")
            continue
        user, item, rating, stamp = cells
        try:
            occurred = parse_timestamp(stamp)
        except ValueError as exc:
            yield Reject(where, line, "timestamp", stamp, str(exc))
            continue
        value = float(rating) if rating.strip() in STARS else None
        if value is None:
            yield Reject(where, line, "rating", rating, "not 1-5 stars", "field dropped")
        # Any rating is an implicit interaction (the user chose to watch); keep the stars as value.
        yield EventRow(line, f"{NAME}:{user}:{item}:{stamp}", user, item, "view", occurred, value)
