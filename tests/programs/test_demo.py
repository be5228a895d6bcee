from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from circlecare.accounts.models import User
from circlecare.enrollment.models import Enrollment
from circlecare.practice.models import CompactPrivilege, License
from circlecare.programs.models import Cohort, Program, ProgramWeek

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, ...]:
    return tuple(
        model.objects.count()
        for model in (User, Program, ProgramWeek, Cohort, Enrollment, License, CompactPrivilege)
    )


def test_demo_seeds_a_believable_practice_and_is_idempotent() -> None:
    out = io.StringIO()
    call_command("demo", stdout=out)
    first = counts()
    call_command("demo", stdout=io.StringIO())
    assert counts() == first

    kinds = set(Program.objects.values_list("kind", flat=True))
    assert kinds == {"therapy", "skills", "care_circle"}
    dbt = Program.objects.get(slug="dbt-skills")
    assert dbt.weeks >= 12
    modules = set(dbt.curriculum.values_list("module", flat=True))
    for module in (
        "Mindfulness",
        "Distress tolerance",
        "Emotion regulation",
        "Interpersonal effectiveness",
    ):
        assert any(module.lower() in m.lower() for m in modules), module
    assert {"FL", "NY", "NJ"} <= set(License.objects.values_list("state", flat=True))
    assert CompactPrivilege.objects.exists()
    assert Cohort.objects.values("time_zone").distinct().count() >= 3
    nearly_full = [c for c in Cohort.objects.all() if 0 < c.seats_left <= 2]
    assert nearly_full
    text = out.getvalue()
    assert "password" in text and "coordinator@" in text
    # Where each member lives, in words: not a code such as "XX".
    assert "member (lives outside the US)" in text and "member (lives in Florida)" in text
    assert "XX" not in text
