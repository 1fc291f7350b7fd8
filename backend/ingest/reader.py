"""Streaming CSV reading with byte-based progress and header checks."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from pathlib import Path

from tqdm import tqdm

from backend.ingest import parsing  # noqa: F401 - registers the "forecourt-latin1" error handler
from backend.ingest.records import Reject

MAX_FIELD = 128 * 1024  # a longer cell is junk, not a title or an id
# The CSV reader's own limit is higher, so that an oversized quoted field is read whole and
# rejected as one record, instead of derailing the parse of the records after it.
csv.field_size_limit(16 * 1024 * 1024)


class FormatError(ValueError):
    """The file as a whole cannot be read (missing file, wrong header): nothing is loaded."""

    def __init__(self, path: Path | str, line: int, field: str | None, reason: str) -> None:
        where = f"{path}:{line}" + (f": {field}" if field else "")
        super().__init__(f"{where}: {reason}")
        self.path, self.line, self.field, self.reason = str(path), line, field, reason


class _Counting(io.RawIOBase):
    """Counts bytes for the progress bar and notices NUL bytes, so that rows are only searched
    for them in the rare file that has any."""

    def __init__(self, raw: io.RawIOBase) -> None:
        self.raw = raw
        self.count = 0
        self.nul = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = self.raw.readinto(buffer) or 0
        self.count += n
        if not self.nul and b"\x00" in bytes(buffer[:n]):
            self.nul = True
        return n


def resolve_file(path: Path) -> Path:
    """A CSV file, or a folder holding exactly one (as each catalogue folder in shared/data)."""
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.suffix.lower() == ".csv" and p.is_file())
        if len(found) != 1:
            raise FormatError(path, 0, None, f"expected one .csv in the folder, found {len(found)}")
        return found[0]
    if not path.exists():
        raise FormatError(path, 0, None, "no such file")
    if path.is_dir() or not (path.is_file() or path.is_char_device() or path.is_fifo()):
        raise FormatError(path, 0, None, "not a regular file")
    return path


def span(start: int, end: int) -> str:
    return f" (one record over lines {start}-{end}: an unclosed quote?)" if end > start else ""


def read_rows(
    path: Path,
    *,
    encoding: str = "utf-8",
    delimiter: str = ",",
    desc: str | None = None,
    progress: bool | None = None,
) -> Iterator[tuple[int, int, list[str]] | Reject]:
    """Yield (first line, last line, cells) per record; blank lines are skipped.

    Undecodable bytes fall back to Latin-1 so one odd byte never stops an import; a record
    the CSV reader cannot read, or one holding NUL bytes (PostgreSQL text cannot), becomes
    a Reject and reading goes on with the next record.
    """
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        encoding = "utf-8-sig"  # a byte-order mark is not part of the first column's name
    file = resolve_file(path)
    size = file.stat().st_size if file.is_file() else 0
    where = str(path)
    with file.open("rb", buffering=0) as raw:
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
            total=size or None, unit="B", unit_scale=True, desc=desc or file.name, disable=disable
        ) as bar:
            seen, end, i = 0, 0, 0
            while True:  # restarted after a record the CSV reader cannot read
                try:
                    for row in reader:  # hot loop: keep per-row work minimal
                        start, end = end + 1, reader.line_num
                        if not row:
                            continue
                        if counter.nul and any("\x00" in cell for cell in row):
                            yield Reject(where, start, "*", "", "NUL byte in the record")
                            continue
                        yield start, end, row
                        i += 1
                        if i & 0x3FFF == 0:
                            bar.update(counter.count - seen)
                            seen = counter.count
                    break
                except csv.Error as exc:
                    start, end = end + 1, reader.line_num
                    reason = f"unreadable CSV record: {exc}{span(start, end)}"
                    yield Reject(where, start, "*", "", reason)
            bar.update(counter.count - seen)


def header_index(
    path: Path,
    header: Sequence[str],
    required: Sequence[str],
    aliases: dict[str, str] | None = None,
) -> dict[str, int]:
    """Map column names (after aliases) to positions; a missing required column is a FormatError."""
    names = [h.strip() for h in header]
    index = {(aliases or {}).get(n, n): i for i, n in enumerate(names)}
    missing = [c for c in required if c not in index]
    if missing:
        raise FormatError(path, 1, ", ".join(missing), f"missing column(s); header is {names}")
    return index


def header_row(
    path: Path,
    rows: Iterator[tuple[int, int, list[str]] | Reject],
    allowed: Sequence[str] | None = None,
) -> list[str]:
    """The first record, which must be a header: named, unique columns; with ``allowed``,
    unknown columns are an error."""
    first = next(rows, None)
    if isinstance(first, Reject):
        raise FormatError(path, first.line, None, f"header: {first.reason}")
    if first is None or not any(cell.strip() for cell in first[2]):
        raise FormatError(path, 1, None, "empty file: expected a header row")
    header = [h.strip() for h in first[2]]
    if "" in header:
        raise FormatError(path, 1, f"column {header.index('') + 1}", "column without a name")
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise FormatError(path, 1, ", ".join(repeated), "column named twice")
    if allowed is not None:
        unknown = [h for h in header if h not in allowed]
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
    width, n = len(header), 0
    for record in rows:
        if isinstance(record, Reject):
            yield record
            continue
        line, end, cells = record
        n += 1
        if len(cells) != width:
            reason = f"expected {width} cells, got {len(cells)}{span(line, end)}"
            yield Reject(str(path), line, "*", len(cells), reason)
            continue
        if max(map(len, cells)) > MAX_FIELD:
            longest = max(range(width), key=lambda i: len(cells[i]))
            reason = f"{len(cells[longest]):,} characters; at most {MAX_FIELD:,}"
            yield Reject(str(path), line, header[longest], cells[longest][:40] + "...", reason)
            continue
        yield n, line, {name: cells[i] for name, i in col.items()}
