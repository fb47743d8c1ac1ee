"""CSV for download, written a chunk at a time (a streamed response sends each chunk as it is made), with
cells that a spreadsheet would evaluate as a formula turned into text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str | None) -> str | None:
    """A cell starting like a formula becomes text (OWASP's advice against CSV injection)."""
    return "'" + value if value and value.startswith(FORMULA_STARTS) else value


class CsvChunks:
    """Rows go in; `drain()` hands out the text written since the last drain."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer)

    def row(self, cells: Iterable[object]) -> None:
        self._writer.writerow(cells)

    def drain(self) -> str:
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate(0)
        return text
