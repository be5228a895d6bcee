"""What waits for a group's facilitators on its care overview is counted where they start:
the care home's "Groups you facilitate" and the clinician's workspace."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from circlecare.care import services
from circlecare.care.models import CareReport, Reflection
from circlecare.programs.models import CohortStatus
from tests.care.factories import CarePostFactory, ReflectionFactory, make_circle
from tests.clinic.factories import coordinator

pytestmark = pytest.mark.django_db


def page(user: Any, name: str) -> str:
    client = Client()
    client.force_login(user)
    return client.get(reverse(name)).content.decode()


def busy_circle() -> Any:
    circle = make_circle(3, status=CohortStatus.RUNNING)
    author, first, second = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=author)
    for reporter in (first, second):
        CareReport.objects.create(post=post, reporter=reporter, reason="Worrying")
    ReflectionFactory(member=first, cohort=circle.cohort, shared_with_facilitator=True)
    ReflectionFactory(member=second, cohort=circle.cohort)  # private: not counted
    return circle


@pytest.mark.parametrize("where", ["care:home", "clinic:home"])
def test_the_lead_sees_open_reports_and_shared_reflections_counted(where: str) -> None:
    circle = busy_circle()
    body = page(circle.lead, where)
    assert "2 open reports" in body and "1 shared reflection to read" in body
    assert reverse("care:facilitate", kwargs={"cohort_id": circle.cohort.pk}) in body
    for report in CareReport.objects.all():
        services.resolve_report(report=report, note="", actor=circle.lead)
    body = page(circle.lead, where)
    assert "No open reports" in body and "open report" not in body.replace("No open reports", "")
    # Once a facilitator has read it, it no longer waits.
    [shared] = Reflection.objects.filter(shared_with_facilitator=True)
    services.read_shared_reflection(
        cohort=circle.cohort, reflection_id=shared.pk, actor=circle.lead
    )
    assert "no shared reflections to read" in page(circle.lead, where)


def test_a_coordinator_who_does_not_lead_the_group_is_not_shown_them() -> None:
    """Only a group's facilitators may open its care overview, so only they see its counts."""
    circle = busy_circle()
    body = page(coordinator(), "clinic:home")
    assert f'id="cohort-{circle.cohort.pk}"' in body  # the group is on the page
    assert "open report" not in body and "reflections to read" not in body


@pytest.mark.parametrize("where", ["care:home", "clinic:home"])
def test_what_still_waits_in_a_finished_group_is_counted_on_both_pages(where: str) -> None:
    """Open reports and unread shared reflections of a finished group still need its lead: both
    pages count them, as long as something waits."""
    circle = busy_circle()
    circle.cohort.status = CohortStatus.FINISHED
    circle.cohort.save(update_fields=["status"])
    body = page(circle.lead, where)
    assert "2 open reports" in body and "1 shared reflection to read" in body
    assert reverse("care:facilitate", kwargs={"cohort_id": circle.cohort.pk}) in body


def test_a_finished_group_with_nothing_waiting_leaves_the_workspace() -> None:
    circle = make_circle(2, status=CohortStatus.FINISHED)
    running = make_circle(2, status=CohortStatus.RUNNING)
    running.cohort.lead = circle.lead
    running.cohort.save(update_fields=["lead"])
    body = page(circle.lead, "clinic:home")
    assert f'id="cohort-{running.cohort.pk}"' in body
    assert f'id="cohort-{circle.cohort.pk}"' not in body
