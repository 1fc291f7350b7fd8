"""Reporting of rows that did not load: to stderr and to a CSV file next to the import."""

from __future__ import annotations

import csv
import sys
from collections import Counter
from pathlib import Path
from typing import TextIO

from tqdm import tqdm

from backend.ingest.records import Reject

MAX_ECHO = 20  # stderr shows the first few; the file has all of them


class RejectLog:
    def __init__(self, path: Path | None, echo: bool = True) -> None:
        self.path = path
        self.echo = echo
        self.rows_rejected = 0
        self.fields_dropped = 0
        self.reasons: Counter[str] = Counter()
        self._echoed = 0
        self._fh: TextIO | None = None
        self._writer: csv.DictWriter | None = None  # type: ignore[type-arg]

    def __enter__(self) -> RejectLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, reject: Reject) -> None:
        if reject.action == "row rejected":
            self.rows_rejected += 1
        else:
            self.fields_dropped += 1
        self.reasons[f"{reject.field}: {reject.action}"] += 1
        if self.echo and self._echoed < MAX_ECHO:
            self._echoed += 1
            tqdm.write(
                f"{reject.path}:{reject.line}: {reject.field}={reject.value!r}: "
                f"{reject.reason} ({reject.action})",
                file=sys.stderr,
            )
        if self.path is not None:
            if self._writer is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fh = self.path.open("w", newline="", encoding="utf-8")
                self._writer = csv.DictWriter(
                    self._fh, ["file", "line", "field", "value", "reason", "action"]
                )
                self._writer.writeheader()
            self._writer.writerow(
                {
                    "file": reject.path,
                    "line": reject.line,
                    "field": reject.field,
                    "value": "" if reject.value is None else str(reject.value),
                    "reason": reject.reason,
                    "action": reject.action,
                }
            )

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self.echo and self._echoed < self.rows_rejected + self.fields_dropped:
            hidden = self.rows_rejected + self.fields_dropped - self._echoed
            where = f"; all in {self.path}" if self.path else ""
            tqdm.write(f"... {hidden} more not shown{where}", file=sys.stderr)
