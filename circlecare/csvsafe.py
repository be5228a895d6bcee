"""CSV that is safe to open in a spreadsheet: the one way the project writes CSV.

Text from people (a program's title, a cohort's name) can start with ``=``, ``+``, ``-`` or ``@``;
a spreadsheet would run it as a formula (CSV injection). As OWASP recommends, a text cell that
starts with one of those, a tab or a carriage return gets a leading single quote, so it is shown
as the text it is. Numbers are written as numbers, a negative one included: only text is
guarded. Every CSV response goes through :func:`writer` (a test keeps it so).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO, Any

#: First characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def guard(value: Any) -> Any:
    """`value` as a spreadsheet will show it: text that could run as a formula is quoted."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """``csv.writer`` whose every text cell passes through :func:`guard`."""

    def __init__(self, out: IO[str]) -> None:
        self._writer = csv.writer(out)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([guard(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out: IO[str]) -> SafeWriter:
    return SafeWriter(out)
