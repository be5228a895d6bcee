"""Error reports never carry what someone submitted, nor the failing code's variables (D5)."""

from __future__ import annotations

import sys

from django.test import RequestFactory
from django.views.debug import ExceptionReporter

#: Built at run time, so the report's lines of source code (which it may show) never spell it.
CANARY = "-".join(["canary", "error", "report", "7e1f"])


def _report() -> str:
    request = RequestFactory().post("/measures/questionnaire/1/", {"answer_9": CANARY})
    try:
        note_text = CANARY  # a variable in the failing code
        raise ValueError("could not save")
    except ValueError:
        assert note_text
        reporter = ExceptionReporter(request, *sys.exc_info())
    return reporter.get_traceback_text() + reporter.get_traceback_html()


def test_an_error_report_hides_submitted_values_and_variables(settings: object) -> None:
    settings.DEBUG = False  # type: ignore[attr-defined]
    report = _report()
    assert "answer_9" in report and "note_text" in report  # the names help; the values may not
    assert CANARY not in report
