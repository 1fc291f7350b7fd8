"""What one batch write reports back."""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass
class BatchResult:
    loaded: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    # Rows the database refused: (line, field, value, reason).
    rejects: list[tuple[int, str, object, str]] = field(default_factory=list)


def dumps(obj: object) -> str:
    """JSON for jsonb columns, with sorted keys so equal features compare equal as text too."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False)
