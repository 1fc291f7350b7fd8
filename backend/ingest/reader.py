"""Streaming CSV reading with byte-based progress and header checks."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from pathlib import Path

from tqdm import tqdm

from backend.ingest import parsing  # noqa: F401 - registers the "forecourt-latin1" error handler
from backend.ingest.records import Reject


class FormatError(ValueError):
    """The file as a whole cannot be read (missing file, wrong header): nothing is loaded."""

    def __init__(self, path: Path | str, line: int, field: str | None, reason: str) -> None:
        where = f"{path}:{line}" + (f": {field}" if field else "")
        super().__init__(f"{where}: {reason}")
        self.path, self.line, self.field, self.reason = str(path), line, field, reason


class _Counting(io.RawIOBase):
    def __init__(self, raw: io.RawIOBase) -> None:
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = self.raw.readinto(buffer) or 0
        self.count += n
        return n


def read_rows(
    path: Path,
    *,
    encoding: str = "utf-8",
    delimiter: str = ",",
    desc: str | None = None,
    progress: bool | None = None,
) -> Iterator[tuple[int, list[str]]]:
    """Yield (line number, cells) for every record; line numbers are 1-based physical lines.

    Undecodable bytes fall back to Latin-1 so one odd byte never stops an import.
    """
    if not path.is_file():
        raise FormatError(path, 0, None, "no such file")
    size = path.stat().st_size
    with path.open("rb", buffering=0) as raw:
        counter = _Counting(raw)  # type: ignore[arg-type]
        text = io.TextIOWrapper(
            io.BufferedReader(counter, 1 << 20),
            encoding=encoding,
            errors="forecourt-latin1",
            newline="",
        )
        reader = csv.reader(text, delimiter=delimiter)
        disable = None if progress is None else not progress
        with tqdm(
            total=size, unit="B", unit_scale=True, desc=desc or path.name, disable=disable
        ) as bar:
            seen = 0
            for i, row in enumerate(reader):
                yield reader.line_num, row
                if i & 0x3FFF == 0:
                    bar.update(counter.count - seen)
                    seen = counter.count
            bar.update(counter.count - seen)


def header_index(
    path: Path,
    header: Sequence[str],
    required: Sequence[str],
    aliases: dict[str, str] | None = None,
) -> dict[str, int]:
    """Map column names (after aliases) to positions; a missing required column is a FormatError."""
    names = [h.strip().lstrip("\ufeff") for h in header]
    index = {(aliases or {}).get(n, n): i for i, n in enumerate(names)}
    missing = [c for c in required if c not in index]
    if missing:
        raise FormatError(path, 1, ", ".join(missing), f"missing column(s); header is {names}")
    return index


def header_row(
    path: Path, rows: Iterator[tuple[int, list[str]]], allowed: Sequence[str] | None = None
) -> list[str]:
    """The first row, which must be a header; with ``allowed``, unknown columns are an error."""
    first = next(rows, None)
    if first is None or not any(cell.strip() for cell in first[1]):
        raise FormatError(path, 1, None, "empty file: expected a header row")
    header = first[1]
    if allowed is not None:
        unknown = [h for h in header if h.strip().lstrip("\ufeff") not in allowed]
        if unknown:
            raise FormatError(
                path, 1, ", ".join(unknown), f"unknown column(s); allowed: {', '.join(allowed)}"
            )
    return header


def records(
    path: Path,
    columns: Sequence[str],
    *,
    encoding: str = "utf-8",
    delimiter: str = ",",
    desc: str | None = None,
    aliases: dict[str, str] | None = None,
    allowed: Sequence[str] | None = None,
) -> Iterator[tuple[int, int, dict[str, str]] | Reject]:
    """(row number, line, {column: cell}) per data row of a CSV with a header; a row with the
    wrong number of cells becomes a Reject. ``columns`` must be present; with ``allowed`` set,
    any other column is a FormatError (a misspelt feature would otherwise vanish)."""
    rows = read_rows(path, encoding=encoding, delimiter=delimiter, desc=desc)
    header = header_row(path, rows, allowed)
    col = header_index(path, header, columns, aliases)
    width = len(header)
    for n, (line, cells) in enumerate(rows, start=1):
        if len(cells) != width:
            yield Reject(str(path), line, "*", len(cells), f"expected {width} cells")
            continue
        yield n, line, {name: cells[i] for name, i in col.items()}
