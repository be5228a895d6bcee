"""``circlecare.prebuilt``: built once, and each caller gets its own copy."""

from __future__ import annotations

import pytest
from django.db.models import QuerySet

from circlecare.prebuilt import prebuilt
from circlecare.programs.models import Program
from tests.factories import ProgramFactory

pytestmark = pytest.mark.django_db


def test_builds_once_and_hands_out_fresh_copies() -> None:
    built = []

    @prebuilt
    def programs() -> QuerySet[Program]:
        built.append(1)
        return Program.objects.order_by("title")

    first = programs()
    assert list(first) == []
    ProgramFactory(title="B")
    ProgramFactory(title="A")
    # The first copy was evaluated before the programs existed; later copies are not affected.
    assert list(first) == []
    assert [p.title for p in programs()] == ["A", "B"]
    assert [p.title for p in programs().filter(title="B")] == ["B"]
    assert programs() is not programs()
    assert len(built) == 1
