from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from circlecare.measures.models import Assessment, RiskAlert

pytestmark = pytest.mark.django_db


def test_demo_history_is_synthetic_and_idempotent() -> None:
    call_command("demo", stdout=io.StringIO())
    count = Assessment.objects.count()
    assert count > 0
    assert not Assessment.objects.filter(synthetic=False).exists()
    assert RiskAlert.objects.count() == 1
    call_command("demo", stdout=io.StringIO())
    assert Assessment.objects.count() == count


def test_demo_history_follows_each_groups_calendar() -> None:
    """No score from a meeting that has not happened: a group yet to start has intakes only,
    a running group has scores for its meetings held but the latest, whose are still to come."""
    from django.utils import timezone

    from circlecare.measures.models import Occasion
    from circlecare.programs.models import Cohort

    call_command("demo", stdout=io.StringIO())
    now = timezone.now()
    assert not Assessment.objects.filter(completed_at__gt=now).exists()
    today = timezone.localdate()
    for cohort in Cohort.objects.select_related("program"):
        rows = Assessment.objects.filter(cohort=cohort)
        if cohort.first_meeting_date > today:
            assert not rows.exclude(occasion=Occasion.INTAKE).exists(), cohort
        else:
            held = (today - cohort.first_meeting_date).days // 7 + 1
            latest = max(rows.values_list("meeting_week", flat=True), default=0)
            assert latest < held, (cohort, latest, held)
    assert Assessment.objects.exclude(occasion=Occasion.INTAKE).exists()  # the running group's


def test_the_outcome_report_on_demo_data_says_so_before_its_figures() -> None:
    from django.test import Client

    from circlecare.accounts.models import User
    from circlecare.programs.models import Program

    call_command("demo", stdout=io.StringIO())
    client = Client()
    client.force_login(User.objects.filter(is_staff=True).first())
    program = Program.objects.get(slug="closer-relationships-therapy")
    page = client.get(
        "/measures/reports/", {"program": program.pk, "start": "2000-01-01", "end": "2100-01-01"}
    ).content.decode()
    assert page.index("Demo data: these figures include made-up scores") < page.index("<table")
