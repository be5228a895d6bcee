"""Every change of state in measurement-based care: submitting answers, risk alerts and their
acknowledgement and escalation, scheduling what is due and reminding members of it."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from circlecare.accounts.security import needs_mfa
from circlecare.audit.models import AuditAction
from circlecare.audit.services import record
from circlecare.enrollment import steps as join_steps
from circlecare.enrollment.errors import StepRequired
from circlecare.enrollment.models import Enrollment, EnrollmentStatus
from circlecare.errors import NotFound
from circlecare.measures import summaries, tasks
from circlecare.measures.errors import (
    AlreadyAcknowledged,
    AlreadySubmitted,
    AssessmentClosed,
    NoteRequired,
)
from circlecare.measures.instruments import Score, get
from circlecare.measures.models import (
    Assessment,
    AssessmentStatus,
    Occasion,
    RiskAlert,
)
from circlecare.measures.plans import (
    CHECKIN_CODE,
    CLOSES_AFTER,
    WEEKLY_OPENS_BEFORE,
    checkin_enabled,
    intake_codes,
    weekly_codes,
)
from circlecare.measures.steps import INTAKE_STEP, reusable_intake
from circlecare.meetings.models import AWAY, Attendance, Meeting
from circlecare.meetings.weeks import MeetingWeek, meeting_weeks
from circlecare.programs.models import ACTIVE, ENDED, Cohort, ProgramKind

logger = logging.getLogger(__name__)

NOTE_MAX_LENGTH = 2000


def escalate_after() -> timedelta:
    """How long an alert may stay unacknowledged before coordinators are told (default 1 h)."""
    value = getattr(settings, "RISK_ALERT_ESCALATE_AFTER", timedelta(hours=1))
    return value if isinstance(value, timedelta) else timedelta(hours=1)


def may_see_alerts(user: Any) -> bool:
    """Everyone the menu's "Alerts" link is shown to (the workspace's people): coordinators,
    clinicians and facilitators, on the page and through the API alike. The queue holds only the
    groups someone leads (every group for a coordinator), so for one who leads none yet it is
    empty, not missing."""
    return needs_mfa(user)


def may_handle_alert(user: Any, alert: RiskAlert) -> bool:
    """The cohort's lead or co-facilitator, or a coordinator."""
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_staff) or user.pk in {alert.cohort.lead_id, alert.cohort.co_facilitator_id}


# --- submitting -------------------------------------------------------------------------------


def _complete(
    row: Assessment, score: Score, *, now: datetime, answered_at: datetime | None = None
) -> RiskAlert | None:
    """Store a score on a locked, open assessment; fold it into the member's ``ScoreSummary``
    and raise the alert, all in the same transaction. ``answered_at``: when the answers were
    given, if not ``now`` (an intake shared from another group)."""
    assert connection.in_atomic_block
    if row.status == AssessmentStatus.COMPLETED:
        raise AlreadySubmitted()
    if row.status == AssessmentStatus.MISSED:
        raise AssessmentClosed.for_assessment(row)
    row.answers = json.dumps(list(score.answers) + list(score.unscored))
    row.total = score.total
    row.percentage = score.percentage
    row.band = score.band
    row.flags = list(score.flags)
    row.has_risk = score.has_risk
    row.status = AssessmentStatus.COMPLETED
    row.completed_at = answered_at or now
    row.save(
        update_fields=[
            "answers",
            "total",
            "percentage",
            "band",
            "flags",
            "has_risk",
            "status",
            "completed_at",
        ]
    )
    summaries.add(row)
    if not score.has_risk:
        return None
    return _raise_alert(row, now=now, answer_saved=True)


def _raise_alert(row: Assessment, *, now: datetime, answer_saved: bool) -> RiskAlert | None:
    """The alert for a risk answer on a locked assessment, once (None when it already has one;
    a stored answer then marks it saved). The e-mail and the escalation timer follow the
    commit."""
    assert connection.in_atomic_block
    existing = RiskAlert.objects.filter(assessment=row).first()
    if existing is not None:
        if answer_saved and not existing.answer_saved:
            RiskAlert.objects.filter(pk=existing.pk).update(answer_saved=True)
        return None
    return _new_alert(
        member_id=row.member_id,
        cohort=row.cohort,
        assessment=row,
        answer_saved=answer_saved,
        now=now,
    )


def _new_alert(
    *,
    member_id: int,
    cohort: Cohort,
    assessment: Assessment | None,
    answer_saved: bool,
    now: datetime,
) -> RiskAlert:
    """Create the alert and, after the commit, its e-mail and its escalation timer."""
    assert connection.in_atomic_block
    # Coordinators hear at once for groups without a clinician, and for a therapy group whose
    # clinicians' accounts are closed: an alert must reach someone who can act on it today.
    led_by_someone_active = (
        get_user_model()
        .objects.filter(pk__in=[cohort.lead_id, cohort.co_facilitator_id], is_active=True)
        .exists()
    )
    alert = RiskAlert.objects.create(
        assessment=assessment,
        member_id=member_id,
        cohort=cohort,
        assignee_id=cohort.lead_id,
        coordinators_alerted=(
            cohort.program.kind != ProgramKind.THERAPY or not led_by_someone_active
        ),
        answer_saved=answer_saved,
        raised_at=now,
    )
    run_after = now + escalate_after()
    alert_id = alert.pk

    def _after_commit() -> None:
        tasks.notify_new_alert.enqueue(alert_id)
        tasks.escalate_alert_if_open.using(run_after=run_after).enqueue(alert_id)

    transaction.on_commit(_after_commit)
    # No clinical content in logs: the alert id is enough to find it.
    logger.info("risk alert %s raised", alert_id)
    return alert


def _score(code: str, answers: Sequence[int]) -> Score:
    return get(code).score(list(answers))


def submit_assessment(
    *, assessment: Assessment, answers: Sequence[int], actor: Any, now: datetime | None = None
) -> Assessment:
    """Score and store a member's answers to one due assessment, once.

    Invalid answers raise ``InvalidAnswers`` and change nothing. A second submission (for
    instance to change a risk answer) raises ``AlreadySubmitted``. A risk answer raises a
    ``RiskAlert`` in the same transaction; the e-mail and the escalation timer follow the commit.
    """
    now = now or timezone.now()
    score = _score(assessment.instrument, answers)
    with transaction.atomic(durable=True):
        row = _locked_own(assessment, actor)
        _complete(row, score, now=now)
    return row


def _locked_own(assessment: Assessment, actor: Any) -> Assessment:
    """The assessment locked for this transaction, if it is the actor's own (else NotFound)."""
    row = (
        Assessment.objects.select_for_update(of=("self",))
        .select_related("cohort__program")
        .filter(pk=assessment.pk)
        .first()
    )
    if row is None or row.member_id != getattr(actor, "pk", None):
        raise NotFound()
    return row


def risk_answer_not_saved(
    *, assessment: Assessment, actor: Any, now: datetime | None = None
) -> RiskAlert | None:
    """A member gave a risk answer on their questionnaire in a form that could not be stored
    (it was already sent, or other answers were missing): nothing about their scores changes,
    but the group's clinician is told, as for any risk answer, unless this questionnaire has
    raised an alert already. Returns the new alert, or None."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        row = _locked_own(assessment, actor)
        if row.cohort is None:
            raise NotFound()
        return _raise_alert(row, now=now, answer_saved=False)


def risk_answer_taken_back(
    *, member: Any, cohort_id: int, assessment_id: int, now: datetime | None = None
) -> RiskAlert | None:
    """A member gave a risk answer on a questionnaire that was taken back while its form was
    open (its meeting moved later, they were recorded as away, or they left the group): nothing
    is stored as answers, but the group's clinician is told, as for any risk answer, unless an
    alert about this member in this group is still waiting for them. Only for a group the member
    has or had a place in, and a questionnaire that is really gone (one that still exists raises
    its alert through ``risk_answer_not_saved``). Returns the alert the clinician has of it (new,
    or the one already waiting), or None when there is none to raise."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        # The group's row lock makes two sends of one form raise one alert.
        cohort = (
            Cohort.objects.select_for_update(of=("self",))
            .select_related("program")
            .filter(
                Exists(Enrollment.objects.filter(cohort=OuterRef("pk"), member_id=member.pk)),
                pk=cohort_id,
            )
            .first()
        )
        if cohort is None or Assessment.objects.filter(pk=assessment_id).exists():
            return None
        waiting = RiskAlert.objects.filter(
            member_id=member.pk, cohort=cohort, acknowledged_at__isnull=True
        ).first()
        if waiting is not None:
            return waiting
        return _new_alert(
            member_id=member.pk, cohort=cohort, assessment=None, answer_saved=False, now=now
        )


def report_unsaved_risk_answer(*, assessment: Assessment, actor: Any) -> None:
    """``risk_answer_not_saved`` for a page or an API answer that is showing crisis resources:
    a failure here is logged, never raised, so it cannot take those resources away."""
    try:
        risk_answer_not_saved(assessment=assessment, actor=actor)
    except Exception:
        logger.exception("an unsaved risk answer could not raise an alert")


def submit_intake(
    *,
    member: Any,
    cohort: Cohort,
    instrument: str,
    answers: Sequence[int],
    now: datetime | None = None,
) -> Assessment:
    """Store one intake questionnaire for the group the member is joining, once. Refused while a
    step before it is unmet: answers are not taken for a group the member may not join (its
    clinician could not see them) or before they have signed its agreements."""
    now = now or timezone.now()
    if instrument not in intake_codes(cohort.program.kind):
        raise NotFound()
    earlier = join_steps.first_unmet(member, cohort, before=INTAKE_STEP)
    if earlier is not None:
        raise StepRequired(earlier.message, detail={"url": earlier.url})
    score = _score(instrument, answers)
    with transaction.atomic(durable=True):
        row = _locked_intake(member, cohort, instrument, now=now)
        _complete(row, score, now=now)
    return row


def _locked_intake(member: Any, cohort: Cohort, instrument: str, *, now: datetime) -> Assessment:
    """This member's intake row for ``instrument`` in ``cohort``, made if needed, locked."""
    assert connection.in_atomic_block
    try:
        with transaction.atomic():
            Assessment.objects.get_or_create(
                member=member,
                cohort=cohort,
                instrument=instrument,
                occasion=Occasion.INTAKE,
                meeting_week=0,
                defaults={"program_kind": cohort.program.kind, "due_at": now},
            )
    except IntegrityError:
        pass  # made at the same moment by a parallel request; the lock below settles it
    return (
        Assessment.objects.select_for_update(of=("self",))
        .select_related("cohort__program")
        .get(
            member=member,
            cohort=cohort,
            instrument=instrument,
            occasion=Occasion.INTAKE,
            meeting_week=0,
        )
    )


def share_intake(*, member: Any, cohort: Cohort, now: datetime | None = None) -> list[Assessment]:
    """Use the member's answers to this group's intake questionnaires given for another group in
    the last 30 days (``steps.reusable_intake``): each is copied into this group, as answered
    then, so that its clinician or facilitator can read it and its outcome figures have a
    baseline. A risk answer among them raises this group's alert: whoever leads it must know.
    The member chooses this on the intake page; refused, like ``submit_intake``, while a step
    before it is unmet. Returns the copies (none when there is nothing to share)."""
    now = now or timezone.now()
    earlier = join_steps.first_unmet(member, cohort, before=INTAKE_STEP)
    if earlier is not None:
        raise StepRequired(earlier.message, detail={"url": earlier.url})
    shared = []
    with transaction.atomic(durable=True):
        for source in reusable_intake(member, cohort, now=now):
            row = _locked_intake(member, cohort, source.instrument, now=now)
            if row.status == AssessmentStatus.COMPLETED:
                continue  # answered here at the same moment
            row.shared_from = source
            row.synthetic = source.synthetic  # the demo's made-up answers stay marked so
            row.save(update_fields=["shared_from", "synthetic"])
            score = _score(source.instrument, source.answer_list)
            _complete(row, score, now=now, answered_at=source.completed_at)
            shared.append(row)
    return shared


# --- alerts -----------------------------------------------------------------------------------


def acknowledge_alert(
    *, alert: RiskAlert, actor: Any, note: str, now: datetime | None = None
) -> RiskAlert:
    """Record that someone followed up, with a note of what was done. Only once."""
    note = (note or "").strip()
    if not note:
        raise NoteRequired()
    if len(note) > NOTE_MAX_LENGTH:
        raise NoteRequired(f"Please keep the note to {NOTE_MAX_LENGTH:,} characters or fewer.")
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        row = (
            RiskAlert.objects.select_for_update(of=("self",))
            .select_related("cohort")
            .filter(pk=alert.pk)
            .first()
        )
        if row is None or not may_handle_alert(actor, row):
            raise NotFound()
        if row.acknowledged_at is not None:
            raise AlreadyAcknowledged()
        row.acknowledged_at = now
        row.acknowledged_by = actor
        row.action_note = note
        row.save(update_fields=["acknowledged_at", "acknowledged_by", "action_note"])
        record(
            actor=actor,
            action=AuditAction.ALERT_CHANGED,
            target=row,
            subject=row.member,
            data={"status": "acknowledged"},
        )
    return row


def lead_changed(*, cohort: Cohort, actor: Any) -> int:
    """The group has a new lead: its open alerts are assigned to them, as a new alert would be,
    and they are e-mailed about each after the commit; the one they replace no longer sees the
    group's alerts, and could not act on them. An acknowledged alert keeps whom it was assigned
    to. Runs inside the change's transaction; returns how many alerts moved."""
    assert connection.in_atomic_block
    rows = list(
        RiskAlert.objects.select_for_update(of=("self",))
        .select_related("member")
        .defer("member__password")
        .filter(cohort_id=cohort.pk, acknowledged_at__isnull=True)
        .exclude(assignee_id=cohort.lead_id)
        .order_by("pk")
    )
    for row in rows:
        was = row.assignee_id
        row.assignee_id = cohort.lead_id
        row.save(update_fields=["assignee"])
        record(
            actor=actor,
            action=AuditAction.ALERT_CHANGED,
            target=row,
            subject=row.member,
            data={"status": "reassigned", "assignee": cohort.lead_id, "was": was},
        )
    handed = [row.pk for row in rows]

    def _after_commit() -> None:
        for alert_id in handed:
            tasks.notify_handed_alert.enqueue(alert_id)

    if handed:
        # The new lead hears of them, as a lead hears of a new alert.
        transaction.on_commit(_after_commit)
    return len(rows)


def _escalate(row: RiskAlert, now: datetime) -> None:
    assert connection.in_atomic_block
    row.escalated_at = now
    row.save(update_fields=["escalated_at"])
    record(
        actor=None,
        action=AuditAction.ALERT_CHANGED,
        target=row,
        subject=row.member,
        data={"status": "escalated"},
    )
    alert_id = row.pk
    transaction.on_commit(lambda: tasks.notify_escalation.enqueue(alert_id))


def escalate_alert(*, alert_id: int, now: datetime | None = None) -> bool:
    """Escalate one alert if it is still open and its time is up. Safe to run more than once."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        row = (
            RiskAlert.objects.select_for_update(skip_locked=True)
            .filter(
                pk=alert_id,
                acknowledged_at__isnull=True,
                escalated_at__isnull=True,
                raised_at__lte=now - escalate_after(),
            )
            .first()
        )
        if row is None:
            return False
        _escalate(row, now)
    return True


def escalate_overdue_alerts(*, now: datetime | None = None, limit: int = 500) -> int:
    """Escalate every alert past its time: the sweep behind the per-alert delayed task."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        rows = list(
            RiskAlert.objects.select_for_update(skip_locked=True)
            .filter(
                acknowledged_at__isnull=True,
                escalated_at__isnull=True,
                raised_at__lte=now - escalate_after(),
            )
            .order_by("raised_at", "pk")[:limit]
        )
        for row in rows:
            _escalate(row, now)
    return len(rows)


# --- scheduling and reminders -----------------------------------------------------------------

#: Enrollment statuses whose members are asked the weekly questionnaires.
_ASKED = (EnrollmentStatus.CONFIRMED, EnrollmentStatus.COMPLETED)


def planned_assessments(cohort: Cohort) -> list[tuple[str, str, int, datetime]]:
    """Every weekly, final and check-in occasion of a cohort: (code, occasion, week, due_at).

    Times follow the group's meetings as they are (skips, moves and new patterns included), by
    the weekly pattern only before meetings exist. Week 1 has no weekly questionnaire: the
    intake is the baseline. Weeks 2 to the last but one are weekly, due from 48 hours before
    the meeting; the last week's is the final one. A check-in is due at the end of every
    meeting that is not cancelled (as its leader ended it, when that was early); a cancelled
    week's questionnaires stay due by its date, so measurement keeps its weekly rhythm.
    """
    return _plan(cohort, meeting_weeks(cohort))


def _plan(cohort: Cohort, weeks: list[MeetingWeek]) -> list[tuple[str, str, int, datetime]]:
    program = cohort.program
    codes = weekly_codes(program)
    checkin = checkin_enabled(program)
    last = weeks[-1].number if weeks else 0
    plan: list[tuple[str, str, int, datetime]] = []
    for meeting in weeks:
        week = meeting.number
        if week > 1 or last == 1:
            occasion = Occasion.FINAL if week == last else Occasion.WEEKLY
            opens = meeting.starts_at - WEEKLY_OPENS_BEFORE
            plan.extend((code, occasion, week, opens) for code in codes)
        if checkin and not meeting.cancelled:
            plan.append((CHECKIN_CODE, Occasion.CHECKIN, week, meeting.over_at))
    return plan


def _follow_meetings(
    cohort: Cohort,
    plan: list[tuple[str, str, int, datetime]],
    weeks: list[MeetingWeek],
    now: datetime,
) -> None:
    """Bring unanswered assessments in line with the meetings as they are now.

    Each takes its occasion's due time. One that is not due yet (its meeting moved later) is
    taken back until it comes due again, so nothing opens early; one marked missed before its
    window really closed is open again; a cancelled meeting's check-in is no longer asked.
    Answered ones keep everything. An assessment that raised a risk alert is never removed.
    """
    assert connection.in_atomic_block
    due_at = {(code, occasion, week): due for code, occasion, week, due in plan}
    cancelled = {w.number for w in weeks if w.cancelled}
    rows = list(
        Assessment.objects.select_for_update(of=("self",))
        .filter(cohort=cohort, status__in=[AssessmentStatus.DUE, AssessmentStatus.MISSED])
        .exclude(occasion=Occasion.INTAKE)
        .select_related("risk_alert")
    )
    withdrawn: list[int] = []
    changed: list[Assessment] = []
    for row in rows:
        due = due_at.get((row.instrument, row.occasion, row.meeting_week))
        no_longer_asked = row.occasion == Occasion.CHECKIN and row.meeting_week in cancelled
        if due is None and not no_longer_asked:
            continue  # an occasion the plan no longer names (e.g. its instruments changed)
        has_alert = hasattr(row, "risk_alert")
        if not has_alert and (no_longer_asked or (due is not None and due > now)):
            withdrawn.append(row.pk)
            continue
        if due is None:
            continue
        status = AssessmentStatus.MISSED if due < now - CLOSES_AFTER else AssessmentStatus.DUE
        if (row.due_at, row.status) != (due, status):
            row.due_at, row.status = due, status
            changed.append(row)
    if withdrawn:
        Assessment.objects.filter(pk__in=withdrawn).delete()
    if changed:
        Assessment.objects.bulk_update(changed, ["due_at", "status"], batch_size=500)


def withdraw_checkin(*, meeting: Meeting, member_id: int) -> int:
    """A member recorded as absent or excused is not asked how that meeting went: take back the
    meeting's check-in if it is unanswered. Runs inside the attendance change's transaction; a
    mark changed back to attended lets the next sweep ask it again, while it is still open."""
    assert connection.in_atomic_block
    deleted, _ = (
        Assessment.objects.filter(
            member_id=member_id,
            cohort_id=meeting.cohort_id,
            occasion=Occasion.CHECKIN,
            meeting_week=meeting.number,
            status__in=[AssessmentStatus.DUE, AssessmentStatus.MISSED],
        )
        .filter(risk_alert__isnull=True)
        .delete()
    )
    return deleted


def member_left(*, member_id: int, cohort_id: int) -> int:
    """A member's seat ended before the group did (they left, or were removed): the group's
    questionnaires and check-ins still open to them are taken back, so they are not reminded of,
    or asked about, a group they are no longer in. Answers given, the intake and anything that
    raised a risk alert stay. Runs inside the transaction that ends the seat; returns how many
    were taken back."""
    assert connection.in_atomic_block
    deleted, _ = (
        Assessment.objects.filter(
            member_id=member_id, cohort_id=cohort_id, status=AssessmentStatus.DUE
        )
        .exclude(occasion=Occasion.INTAKE)
        .filter(risk_alert__isnull=True)
        .delete()
    )
    return deleted


def follow_meetings(*, cohort: Cohort, now: datetime | None = None) -> None:
    """Re-time the cohort's unanswered assessments after its meetings changed (a skip, a move,
    a new pattern or a cancellation). Runs inside the change's transaction."""
    now = now or timezone.now()
    weeks = meeting_weeks(cohort)
    _follow_meetings(cohort, _plan(cohort, weeks), weeks, now)


def _seated_after(confirmed_at: datetime | None, meeting_ended: datetime) -> bool:
    return confirmed_at is not None and confirmed_at >= meeting_ended


def schedule_due_assessments(*, cohort: Cohort, now: datetime | None = None) -> int:
    """Create the assessments that have become due for the cohort's members; close old ones.

    Idempotent: the unique constraint on (member, cohort, instrument, occasion, week) makes a
    second run create nothing.
    """
    now = now or timezone.now()
    weeks = meeting_weeks(cohort)
    plan = _plan(cohort, weeks)
    due = [p for p in plan if p[3] <= now]
    seated = dict(
        Enrollment.objects.filter(cohort=cohort, status__in=_ASKED).values_list(
            "member_id", "confirmed_at"
        )
    )
    member_ids = list(seated)
    ended = {w.number: w.over_at for w in weeks}
    away = set(
        Attendance.objects.filter(meeting__cohort=cohort, status__in=AWAY).values_list(
            "member_id", "meeting__number"
        )
    )
    rows = [
        Assessment(
            member_id=member_id,
            cohort=cohort,
            program_kind=cohort.program.kind,
            instrument=code,
            occasion=occasion,
            meeting_week=week,
            due_at=due_at,
        )
        for member_id in member_ids
        for code, occasion, week, due_at in due
        # Nothing is made already closed: an occasion a week past due is not asked any more.
        if due_at > now - CLOSES_AFTER
        # Nobody is asked how a meeting went that they were recorded as missing, or that was
        # over before they had a seat (an offer made before the group started, accepted after).
        and not (
            occasion == Occasion.CHECKIN
            and ((member_id, week) in away or _seated_after(seated[member_id], ended[week]))
        )
    ]
    with transaction.atomic():
        # Rows made before a change to the meetings take the new times first, so none is
        # closed by a meeting date that no longer holds.
        _follow_meetings(cohort, plan, weeks, now)
        before = Assessment.objects.filter(cohort=cohort).count()
        Assessment.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
        created = Assessment.objects.filter(cohort=cohort).count() - before
        Assessment.objects.filter(
            cohort=cohort, status=AssessmentStatus.DUE, due_at__lt=now - CLOSES_AFTER
        ).exclude(occasion=Occasion.INTAKE).update(status=AssessmentStatus.MISSED)
    return created


def schedule_all_cohorts(*, now: datetime | None = None) -> int:
    """Schedule every cohort that meets now or soon (open, full or running), and every group
    that has ended (finished or cancelled) but may still have something to ask or to close: a
    meeting that ended within the last ``CLOSES_AFTER`` (the last meeting's check-in), or a
    questionnaire still open. A group finishes as its last meeting ends, and its final
    questionnaire must still close a week after it opened, not stay open for good."""
    now = now or timezone.now()
    # First meeting dates are local to each group's zone, up to a day ahead of UTC's (UTC+14):
    # a day's margin keeps a group far east from being picked up only after its first occasion.
    horizon = (now + WEEKLY_OPENS_BEFORE).date() + timedelta(days=1)
    still_open = Assessment.objects.filter(
        cohort=OuterRef("pk"), status=AssessmentStatus.DUE
    ).exclude(occasion=Occasion.INTAKE)
    met_lately = Meeting.objects.filter(cohort=OuterRef("pk"), ends_at__gt=now - CLOSES_AFTER)
    cohorts = Cohort.objects.select_related("program").filter(
        Q(status__in=ACTIVE, first_meeting_date__lte=horizon)
        | Q(status__in=ENDED) & (Exists(still_open) | Exists(met_lately))
    )
    return sum(schedule_due_assessments(cohort=c, now=now) for c in cohorts)


def send_due_reminders(*, now: datetime | None = None, limit: int = 2000) -> int:
    """E-mail each member once about what has become due (one e-mail per member per run).

    Each assessment is reminded about at most once (``reminded_at``), under a skip-locked row
    lock, so two workers running this at once never send the same reminder twice.
    """
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        rows = list(
            Assessment.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                status=AssessmentStatus.DUE,
                reminded_at__isnull=True,
                due_at__lte=now,
                member__email_reminders=True,
                member__is_active=True,
            )
            .exclude(occasion=Occasion.INTAKE)
            .order_by("pk")[:limit]
        )
        if not rows:
            return 0
        Assessment.objects.filter(pk__in=[r.pk for r in rows]).update(reminded_at=now)
        per_member = Counter(r.member_id for r in rows)
        for member_id, count in per_member.items():
            transaction.on_commit(
                lambda m=member_id, c=count: tasks.send_reminder.enqueue(m, c)  # type: ignore[misc]
            )
    return len(per_member)
