"""Every e-mail the product sends has a subject of one shape: "circlecare: " and what happened,
in plain words, without a group's title, a person's name or anything clinical."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from circlecare.care.nudges import send_weekly_nudges
from circlecare.care.tasks import tell_author_of_response, tell_of_call_off
from circlecare.enrollment.models import Enrollment, EnrollmentStatus, PartnerInvite
from circlecare.enrollment.tasks import (
    check_minimum_size,
    send_enrollment_email,
    send_partner_invite,
    send_partner_invite_called_off,
)
from circlecare.inquiries.tasks import notify_new_inquiry
from circlecare.measures.models import RiskAlert
from circlecare.measures.notifications import send_due_reminder, send_escalation, send_new_alert
from circlecare.measures.services import submit_assessment
from circlecare.meetings import reminders
from circlecare.meetings.models import ReminderKind
from circlecare.meetings.tasks import SUBJECTS, notify_meetings_changed
from circlecare.programs.models import ProgramKind
from tests.care.factories import CarePostFactory, make_circle, make_match
from tests.factories import CohortFactory, InquiryFactory, ProgramFactory
from tests.measures.factories import AssessmentFactory, answers_for
from tests.meetings.factories import meeting_at, member_of

pytestmark = pytest.mark.django_db

TITLE = "Living with depression"
NAME = "Ana Quintero"
SHAPE = re.compile(r"circlecare: [a-z][a-z' -]+")
CLINICAL = ("phq", "gad", "depress", "score", "risk", "suicid", "crisis", "therapy")


def _meetings(cohort: Any) -> list[str]:
    soon = meeting_at(cohort, timezone.now() + timedelta(minutes=55))
    later = meeting_at(cohort, timezone.now() + timedelta(days=3), number=2)
    reminders.send_reminders(soon.pk, ReminderKind.HOUR)
    reminders.send_reminders(
        later.pk, ReminderKind.DAY, now=reminders.due_at(later, ReminderKind.DAY)
    )
    for change in [*SUBJECTS, "something else"]:
        notify_meetings_changed.call([later.pk], change)
    return [
        "circlecare: your group meets in about an hour",
        "circlecare: your group meets tomorrow",
        "circlecare: your group's meeting has moved",
        "circlecare: a meeting of your group is cancelled",
        "circlecare: your group is skipping a week",
        "circlecare: your group has new meeting times",
        "circlecare: your group's meetings have changed",
    ]


def test_every_email_subject_has_the_same_shape_and_no_clinical_content(settings: Any) -> None:
    settings.COORDINATOR_EMAILS = ["coordinators@example.org"]
    program = ProgramFactory(kind=ProgramKind.THERAPY, title=TITLE, for_couples=True)
    cohort = CohortFactory(program=program, time_zone="America/New_York")
    member = member_of(cohort, display_name=NAME, time_zone="America/New_York")
    expected = _meetings(cohort)

    enrollment = Enrollment.objects.get(member=member, cohort=cohort)
    send_enrollment_email.call(enrollment.pk, "confirmed")
    Enrollment.objects.filter(pk=enrollment.pk).update(status=EnrollmentStatus.REMOVED)
    send_enrollment_email.call(enrollment.pk, "removed")
    expected += [
        "circlecare: your seat is confirmed",
        "circlecare: your place in a group has ended",
    ]

    invite = PartnerInvite.objects.create(
        cohort=cohort,
        inviter=member,
        email="partner@example.org",
        token_hash="0" * 64,
        expires_at=timezone.now() + timedelta(days=3),
    )
    send_partner_invite.call(invite.pk)
    send_partner_invite_called_off.call(invite.pk)
    expected += [
        "circlecare: an invitation to join a group together",
        "circlecare: your invitation to your partner was called off",
    ]

    a = AssessmentFactory(cohort=cohort, member=member)
    submit_assessment(assessment=a, answers=answers_for("PHQ9", 9, risk=2), actor=member)
    alert = RiskAlert.objects.select_related("cohort__program", "cohort__lead").get()
    send_new_alert(alert)
    send_escalation(alert)
    send_due_reminder(member, 2)
    expected += [
        "circlecare: a member needs follow-up",
        "circlecare: a follow-up alert is still open",
        "circlecare: short check-ins are waiting",
    ]

    circle = make_circle(2)
    # Monday 10:00 in New York, where the members live: their nudges are due.
    send_weekly_nudges(now=datetime(2026, 11, 23, 15, 0, tzinfo=UTC))
    author, helper = circle.members
    match = make_match(CarePostFactory(cohort=circle.cohort, author=author), helper)
    tell_author_of_response.call(match.pk)
    match.status, match.cancel_reason = "cancelled", "by_one"
    match.save()
    tell_of_call_off.call([match.pk])
    expected += [
        "circlecare: a small idea for this week",
        "circlecare: someone responded to your care-board post",
        "circlecare: a plan on the care board was called off",
    ]

    notify_new_inquiry.call(InquiryFactory().pk)
    soon = CohortFactory(first_meeting_date=timezone.localdate() + timedelta(days=3), min_size=4)
    check_minimum_size.call(soon.pk)
    expected += ["circlecare: a new inquiry", "circlecare: a group is under its minimum size"]

    Client().post("/accounts/password/reset/", {"email": member.email})
    expected.append("circlecare: reset your password")

    subjects = {message.subject for message in mail.outbox}
    assert set(expected) <= subjects
    for subject in subjects:
        assert SHAPE.fullmatch(subject), subject
        assert not any(word in subject.lower() for word in CLINICAL), subject
        assert TITLE not in subject and NAME not in subject
