"""A reported post: its facilitators are e-mailed at once, without what was reported."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse

from circlecare.care import services
from circlecare.care.models import CareReport
from tests.care.factories import CarePostFactory, make_circle
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the real worker sends the e-mail

SECRET_TITLE = "Selling my old medication"
SECRET_REASON = "They say they are not safe tonight"


def report_on_the_web(**cohort: Any) -> Any:
    circle = make_circle(2, **cohort)
    author, reporter = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=author, title=SECRET_TITLE)
    client = Client()
    client.force_login(reporter)
    page = client.get(reverse("care:report_post", args=[post.pk])).content.decode()
    assert "they're e-mailed that there is one (not what it says)" in page
    response = client.post(reverse("care:report_post", args=[post.pk]), {"reason": SECRET_REASON})
    assert response.status_code == 302
    return circle


def test_the_facilitators_are_told_at_once_and_not_what_was_reported(run_worker: Any) -> None:
    co = UserFactory(display_name="Co-facilitator", is_facilitator=True)
    UserFactory(email="coordinator@example.org", is_staff=True)
    circle = report_on_the_web(co_facilitator=co)
    run_worker()
    [message] = mail.outbox
    assert sorted(message.to) == sorted([circle.lead.email, co.email])  # not the coordinators
    assert message.subject == "circlecare: a care-board post was reported"
    overview = settings.SITE_URL + reverse("care:facilitate", args=[circle.cohort.pk])
    assert overview in message.body
    for secret in (SECRET_TITLE, SECRET_REASON, *(m.display_name for m in circle.members)):
        assert secret not in message.body
    client = Client()
    client.force_login(circle.lead)
    assert SECRET_REASON in client.get(overview.removeprefix(settings.SITE_URL)).content.decode()


def test_a_report_resolved_before_the_email_goes_is_not_sent(run_worker: Any) -> None:
    circle = report_on_the_web()
    services.resolve_report(report=CareReport.objects.get(), note="", actor=circle.lead)
    run_worker()
    assert mail.outbox == []


def test_without_a_facilitator_to_reach_the_coordinators_are_asked_to_find_one(
    run_worker: Any,
) -> None:
    UserFactory(email="coordinator@example.org", is_staff=True)
    circle = report_on_the_web()
    circle.lead.is_active = False
    circle.lead.save()
    run_worker()
    [message] = mail.outbox
    assert message.to == ["coordinator@example.org"]
    assert "whose facilitators can't be reached" in message.body
    change = reverse("admin:programs_cohort_change", args=[circle.cohort.pk])
    assert settings.SITE_URL + change in message.body
    assert SECRET_TITLE not in message.body and SECRET_REASON not in message.body


def test_a_refused_report_sends_nothing(run_worker: Any) -> None:
    circle = make_circle(2)
    author = circle.members[0]
    post = CarePostFactory(cohort=circle.cohort, author=author)
    client = Client()
    client.force_login(author)
    client.post(reverse("care:report_post", args=[post.pk]), {"reason": "mine"})
    run_worker()
    assert not CareReport.objects.exists() and mail.outbox == []
