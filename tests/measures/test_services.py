"""Submitting answers once, risk alerts, acknowledgement and escalation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from circlecare.audit.models import AuditAction, AuditEvent
from circlecare.errors import NotFound
from circlecare.measures.errors import AlreadyAcknowledged, AlreadySubmitted, NoteRequired
from circlecare.measures.instruments import InvalidAnswers
from circlecare.measures.models import Assessment, AssessmentStatus, RiskAlert
from circlecare.measures.notifications import first_recipients
from circlecare.measures.services import (
    acknowledge_alert,
    escalate_overdue_alerts,
    submit_assessment,
    submit_intake,
)
from circlecare.programs.models import ProgramKind
from tests.factories import (
    PASSWORD,
    CohortFactory,
    EnrollmentFactory,
    LicenseFactory,
    ProgramFactory,
    UserFactory,
)
from tests.measures.factories import AssessmentFactory, answers_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def therapy_cohort() -> Any:
    lead = LicenseFactory(state="NY").clinician.user  # licensed where the members live
    return CohortFactory(program=ProgramFactory(kind=ProgramKind.THERAPY, weeks=8), lead=lead)


def test_submit_stores_the_score_and_encrypts_the_answers(therapy_cohort: Any) -> None:
    a = AssessmentFactory(cohort=therapy_cohort)
    answers = answers_for("PHQ9", 12)
    submit_assessment(assessment=a, answers=answers, actor=a.member)
    a.refresh_from_db()
    assert (a.status, a.total, a.band, a.has_risk) == ("completed", 12, "moderate", False)
    assert a.answer_list == answers
    with connection.cursor() as cursor:
        cursor.execute("SELECT answers FROM measures_assessment WHERE id = %s", [a.pk])
        raw = cursor.fetchone()[0]
    assert raw.startswith("v2:")
    assert str(answers) not in raw


def test_invalid_answers_change_nothing(therapy_cohort: Any) -> None:
    a = AssessmentFactory(cohort=therapy_cohort)
    with pytest.raises(InvalidAnswers, match="item 3"):
        submit_assessment(assessment=a, answers=[0, 0, 4, 0, 0, 0, 0, 0, 0], actor=a.member)
    with pytest.raises(InvalidAnswers, match="needs 9 answers"):
        submit_assessment(assessment=a, answers=[0, 0], actor=a.member)
    a.refresh_from_db()
    assert a.status == AssessmentStatus.DUE and a.total is None


def test_an_assessment_is_submitted_once_and_a_risk_answer_cannot_be_withdrawn(
    therapy_cohort: Any,
) -> None:
    a = AssessmentFactory(cohort=therapy_cohort)
    submit_assessment(assessment=a, answers=answers_for("PHQ9", 5, risk=1), actor=a.member)
    with pytest.raises(AlreadySubmitted):
        submit_assessment(assessment=a, answers=answers_for("PHQ9", 4), actor=a.member)
    a.refresh_from_db()
    assert a.has_risk and a.total == 5
    assert RiskAlert.objects.filter(assessment=a).count() == 1


def test_someone_else_cannot_submit_a_members_assessment(therapy_cohort: Any) -> None:
    a = AssessmentFactory(cohort=therapy_cohort)
    with pytest.raises(NotFound):
        submit_assessment(assessment=a, answers=answers_for("PHQ9", 3), actor=UserFactory())


def test_risk_answer_raises_an_alert_for_the_lead_and_emails_only_a_link(
    therapy_cohort: Any, django_capture_on_commit_callbacks: Any
) -> None:
    a = AssessmentFactory(cohort=therapy_cohort)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        submit_assessment(assessment=a, answers=answers_for("PHQ9", 2, risk=1), actor=a.member)
    alert = RiskAlert.objects.get()
    assert alert.assignee == therapy_cohort.lead and alert.member == a.member
    assert not alert.coordinators_alerted
    assert len(callbacks) == 1  # the e-mail and the escalation timer wait for the commit


def test_total_of_one_on_item_nine_alone_is_still_a_risk(therapy_cohort: Any) -> None:
    a = AssessmentFactory(cohort=therapy_cohort)
    submit_assessment(assessment=a, answers=[0, 0, 0, 0, 0, 0, 0, 0, 1], actor=a.member)
    assert RiskAlert.objects.filter(assessment=a).exists()


def test_acknowledge_needs_a_note_and_happens_once(therapy_cohort: Any) -> None:
    a = AssessmentFactory(cohort=therapy_cohort)
    submit_assessment(assessment=a, answers=answers_for("PHQ9", 9, risk=2), actor=a.member)
    alert = RiskAlert.objects.get()
    lead = therapy_cohort.lead
    with pytest.raises(NoteRequired):
        acknowledge_alert(alert=alert, actor=lead, note="   ")
    with pytest.raises(NotFound):
        acknowledge_alert(alert=alert, actor=UserFactory(), note="I called")
    acknowledge_alert(alert=alert, actor=lead, note="Called; safety plan reviewed.")
    with pytest.raises(AlreadyAcknowledged):
        acknowledge_alert(alert=alert, actor=lead, note="again")
    alert.refresh_from_db()
    assert alert.acknowledged_by == lead and alert.action_note == "Called; safety plan reviewed."
    assert AuditEvent.objects.filter(
        action=AuditAction.ALERT_CHANGED, target_id=str(alert.pk), subject=a.member
    ).exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT action_note FROM measures_riskalert WHERE id = %s", [alert.pk])
        assert "safety plan" not in cursor.fetchone()[0]
    # Acknowledged in time: the sweep leaves it alone.
    assert escalate_overdue_alerts(now=timezone.now() + timedelta(hours=2)) == 0


def test_sweep_escalates_only_overdue_open_alerts_once(therapy_cohort: Any) -> None:
    a = AssessmentFactory(cohort=therapy_cohort)
    submit_assessment(assessment=a, answers=answers_for("PHQ9", 9, risk=2), actor=a.member)
    now = timezone.now()
    assert escalate_overdue_alerts(now=now + timedelta(minutes=59)) == 0
    assert escalate_overdue_alerts(now=now + timedelta(minutes=61)) == 1
    assert escalate_overdue_alerts(now=now + timedelta(minutes=90)) == 0
    assert RiskAlert.objects.get().escalated_at is not None


def test_skills_and_care_circles_alert_facilitator_and_coordinators() -> None:
    cohort = CohortFactory(program=ProgramFactory(kind=ProgramKind.CARE_CIRCLE))
    a = AssessmentFactory(cohort=cohort)
    submit_assessment(assessment=a, answers=answers_for("PHQ9", 3, risk=1), actor=a.member)
    alert = RiskAlert.objects.get()
    assert alert.assignee == cohort.lead and alert.coordinators_alerted


def test_a_therapy_alert_reaches_both_clinicians_who_can_still_act() -> None:
    co = LicenseFactory(state="NY").clinician.user
    cohort = CohortFactory(program=ProgramFactory(kind=ProgramKind.THERAPY), co_facilitator=co)
    a = AssessmentFactory(cohort=cohort)
    submit_assessment(assessment=a, answers=answers_for("PHQ9", 3, risk=1), actor=a.member)
    alert = RiskAlert.objects.select_related("cohort__program", "cohort__lead").get()
    assert not alert.coordinators_alerted
    assert first_recipients(alert) == sorted([cohort.lead.email, co.email])
    # A closed account is not told: only those who can still act.
    get_user_model().objects.filter(pk=co.pk).update(is_active=False)
    alert = RiskAlert.objects.select_related("cohort__program", "cohort__lead").get()
    assert first_recipients(alert) == [cohort.lead.email]


def test_an_alert_in_a_group_whose_clinicians_are_gone_goes_to_coordinators_at_once(
    settings: Any,
) -> None:
    settings.COORDINATOR_EMAILS = ["coordinators@example.org"]
    coordinator = UserFactory(is_staff=True)
    cohort = CohortFactory(program=ProgramFactory(kind=ProgramKind.THERAPY))
    get_user_model().objects.filter(pk=cohort.lead_id).update(is_active=False)
    a = AssessmentFactory(cohort=cohort)
    submit_assessment(assessment=a, answers=answers_for("PHQ9", 3, risk=1), actor=a.member)
    alert = RiskAlert.objects.select_related("cohort__program", "cohort__lead").get()
    assert alert.coordinators_alerted
    assert first_recipients(alert) == sorted(["coordinators@example.org", coordinator.email])


def test_intake_is_stored_once_per_instrument(therapy_cohort: Any) -> None:
    member = UserFactory()
    submit_intake(
        member=member, cohort=therapy_cohort, instrument="PHQ9", answers=answers_for("PHQ9", 11)
    )
    with pytest.raises(AlreadySubmitted):
        submit_intake(
            member=member, cohort=therapy_cohort, instrument="PHQ9", answers=answers_for("PHQ9", 1)
        )
    with pytest.raises(NotFound):  # not part of a therapy intake
        submit_intake(
            member=member, cohort=therapy_cohort, instrument="WHO5", answers=[3, 3, 3, 3, 3]
        )
    assert Assessment.objects.get(member=member).total == 11


@pytest.mark.django_db(transaction=True)
def test_risk_path_end_to_end_with_the_worker(
    run_worker: Callable[[], None], settings: Any
) -> None:
    """Member answers item 9 → crisis page → alert e-mail to the lead → unacknowledged in time,
    the worker escalates to the coordinators. No clinical content in any e-mail."""
    settings.RISK_ALERT_ESCALATE_AFTER = timedelta(0)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.COORDINATOR_EMAILS = ["coordinators@example.org"]
    cohort = CohortFactory(program=ProgramFactory(kind=ProgramKind.THERAPY))
    enrollment = EnrollmentFactory(cohort=cohort)
    member = enrollment.member
    a = AssessmentFactory(cohort=cohort, member=member)
    client = Client()
    assert client.login(email=member.email, password=PASSWORD)
    answers = answers_for("PHQ9", 14, risk=2)
    post = {f"item_{i + 1}": str(v) for i, v in enumerate(answers)}
    response = client.post(f"/measures/questionnaire/{a.pk}/", post, follow=True)
    assert response.status_code == 200
    body = response.content.decode()
    assert "tel:988" in body and "sms:988" in body and "tel:911" in body
    alert = RiskAlert.objects.get()

    run_worker()
    subjects = {m.subject: m for m in mail.outbox}
    first = subjects["circlecare: a member needs follow-up"]
    assert first.to == [cohort.lead.email]
    assert f"/measures/alerts/{alert.pk}/" in first.body
    # Read by the group's clinicians and, for some groups, by coordinators who lead none.
    assert "A member of a group you lead or oversee needs follow-up today." in first.body
    escalation = subjects["circlecare: a follow-up alert is still open"]
    assert "coordinators@example.org" in escalation.to
    for message in mail.outbox:
        # The alert's own link may hold any number; the score must appear nowhere else.
        text = (message.subject + message.body).replace(f"/measures/alerts/{alert.pk}/", "")
        assert "PHQ" not in text and "14" not in text and member.display_name not in text
    alert.refresh_from_db()
    assert alert.escalated_at is not None
    # Running the worker and the sweep again sends nothing new.
    count = len(mail.outbox)
    run_worker()
    assert escalate_overdue_alerts() == 0
    assert len(mail.outbox) == count


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("escalated", [False, True])
def test_no_alert_email_once_the_alert_is_acknowledged_before_the_worker_runs(
    run_worker: Callable[[], None], settings: Any, escalated: bool
) -> None:
    """The e-mails are queued with the alert; a clinician who follows up first leaves nothing
    for them to ask, so the worker sends none and every task still ends well."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.COORDINATOR_EMAILS = ["coordinators@example.org"]
    cohort = CohortFactory(program=ProgramFactory(kind=ProgramKind.THERAPY))
    a = AssessmentFactory(cohort=cohort)
    submit_assessment(assessment=a, answers=answers_for("PHQ9", 9, risk=2), actor=a.member)
    alert = RiskAlert.objects.get()
    if escalated:
        assert escalate_overdue_alerts(now=timezone.now() + timedelta(hours=2)) == 1
    queued = {"notify_new_alert"} | ({"notify_escalation"} if escalated else set())
    assert {
        path.rsplit(".", 1)[1]
        for path in DBTaskResult.objects.ready().values_list("task_path", flat=True)
    } >= queued
    acknowledge_alert(alert=alert, actor=cohort.lead, note="Called; safety plan reviewed.")

    run_worker()
    assert mail.outbox == []
    done = DBTaskResult.objects.filter(task_path__regex=r"notify_(new_alert|escalation)$")
    assert {row.task_path.rsplit(".", 1)[1] for row in done} == queued
    assert {row.status for row in done} == {"SUCCESSFUL"}


@pytest.mark.parametrize("how", ["left", "removed"])
def test_a_member_whose_seat_ends_is_no_longer_asked_or_reminded_about_that_group(
    how: str,
) -> None:
    from circlecare.enrollment import services as seats
    from circlecare.measures.models import Occasion
    from circlecare.measures.services import send_due_reminders

    seat = EnrollmentFactory(cohort=CohortFactory(program=ProgramFactory(kind=ProgramKind.SKILLS)))
    member, cohort = seat.member, seat.cohort
    elsewhere = EnrollmentFactory(member=member).cohort
    earlier = timezone.now() - timedelta(hours=2)

    def row(**kw: Any) -> Assessment:
        return AssessmentFactory(member=member, cohort=cohort, due_at=earlier, **kw)

    open_weekly = row(instrument="WHO5", meeting_week=3)
    open_checkin = row(instrument="CHECKIN", occasion=Occasion.CHECKIN, meeting_week=2)
    answered = row(
        instrument="WHO5", meeting_week=2, status=AssessmentStatus.COMPLETED,
        completed_at=earlier, total=15,
    )  # fmt: skip
    missed = row(instrument="WHO5", meeting_week=1, status=AssessmentStatus.MISSED)
    other_group = AssessmentFactory(member=member, cohort=elsewhere, due_at=earlier)

    if how == "left":
        client = Client()
        client.force_login(member)
        page = client.get(reverse("enrollment:withdraw", args=[seat.pk])).content.decode()
        assert "You won't be asked this group's questionnaires or check-ins" in page
        seats.withdraw(enrollment=seat)
    else:
        seats.remove(enrollment=seat, actor=cohort.lead, reason="Asked to leave.")

    kept = set(Assessment.objects.filter(member=member).values_list("pk", flat=True))
    assert open_weekly.pk not in kept and open_checkin.pk not in kept
    assert {answered.pk, missed.pk, other_group.pk} <= kept
    # The reminder that follows is about the group they are still in, and that one only.
    assert send_due_reminders() == 1
    assert list(
        Assessment.objects.filter(member=member, reminded_at__isnull=False).values_list(
            "pk", flat=True
        )
    ) == [other_group.pk]
