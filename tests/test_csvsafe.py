"""CSV the project writes opens in a spreadsheet as text, never as a formula."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

import circlecare
from circlecare import csvsafe


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("https://example.com","x")', '\'=HYPERLINK("https://example.com","x")'),
        ("+1-555-0100", "'+1-555-0100"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Closer: relationships", "Closer: relationships"),
        ("a=b", "a=b"),
        ("", ""),
        (-3, "-3"),
        (-0.5, "-0.5"),
        (12, "12"),
    ],
)
def test_text_that_could_run_as_a_formula_is_quoted_and_numbers_stay_numbers(
    cell: Any, written: str
) -> None:
    out = io.StringIO()
    csvsafe.writer(out).writerow([cell, 7])
    assert next(csv.reader(io.StringIO(out.getvalue()))) == [written, "7"]


def test_every_csv_the_project_writes_goes_through_the_guard() -> None:
    root = Path(circlecare.__file__).parent
    raw = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.name != "csvsafe.py"
        and any(w in path.read_text() for w in ("csv.writer(", "csv.DictWriter("))
    ]
    assert raw == [], f"write CSV with circlecare.csvsafe.writer, not csv directly: {raw}"
