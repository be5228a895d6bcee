"""Just-because nudges: once a week, a gentle suggestion to reach out to someone in your group.

How it runs in production
-------------------------
The sweep `send_weekly_nudges()` is idempotent: each member's nudge is claimed by inserting a
`NudgeSent(member, ISO week)` row (unique) *before* the e-mail goes out, so running the sweep twice,
or in two workers at once, sends each member at most one nudge a week.

It is driven by the task `circlecare.care.tasks.weekly_care_nudges`, which runs the sweep and then
enqueues itself for the next Monday at 15:00 UTC (unless such a run is already queued). Start the
chain once after deploying with `python manage.py care_nudges --schedule` and keep at least one
`python manage.py db_worker` running; `python manage.py care_nudges --now` runs the sweep at once.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from circlecare import emails
from circlecare.accounts.models import User
from circlecare.care.models import CareMatch, MatchStatus, MemberBlock, NudgeSent
from circlecare.emails import member_footer, site_link
from circlecare.enrollment.models import Enrollment, EnrollmentStatus
from circlecare.programs.models import ACTIVE, Cohort, ProgramKind

log = logging.getLogger(__name__)

QUIET_DAYS = 14


def iso_week(now: datetime) -> str:
    year, week, _ = now.astimezone(UTC).isocalendar()
    return f"{year}-W{week:02d}"


def _board_cohorts() -> Q:
    return Q(program__kind=ProgramKind.CARE_CIRCLE) | Q(care_board_setting__enabled=True)


@dataclass(frozen=True)
class Suggestion:
    member: User
    other: User
    cohort: Cohort


def choose(member: User, now: datetime) -> Suggestion | None:
    """Someone in one of ``member``'s circles they have not connected with for 14+ days.

    A connection is a care match between the two, either way round (called-off ones don't
    count). Never someone either of them blocked or muted, nor the partner they joined with.
    People never connected with come first, then the longest ago; ties rotate from week to week.
    """
    cohorts = list(
        Cohort.objects.filter(
            _board_cohorts(),
            status__in=ACTIVE,
            enrollments__member=member,
            enrollments__status=EnrollmentStatus.CONFIRMED,
        )
        .select_related("program")
        .distinct()
    )
    if not cohorts:
        return None
    excluded = {member.pk}
    # A partner who joined with them is the one person they need no nudge towards.
    excluded.update(
        Enrollment.objects.filter(
            pairing__in=Enrollment.objects.filter(
                member=member, cohort__in=cohorts, pairing__isnull=False
            ).values("pairing")
        ).values_list("member_id", flat=True)
    )
    for blocker_id, blocked_id in MemberBlock.objects.filter(
        Q(blocker=member) | Q(blocked=member)
    ).values_list("blocker_id", "blocked_id"):
        excluded.update((blocker_id, blocked_id))
    enrollments = (
        Enrollment.objects.filter(
            cohort__in=cohorts,
            status=EnrollmentStatus.CONFIRMED,
            member__is_active=True,
        )
        .exclude(member_id__in=excluded)
        .select_related("member")
        .defer("member__password")
        .order_by("cohort__first_meeting_date", "cohort_id", "pk")
    )
    by_cohort = {c.pk: c for c in cohorts}
    candidates: dict[int, tuple[User, Cohort]] = {}
    for enrollment in enrollments:
        candidates.setdefault(
            enrollment.member_id, (enrollment.member, by_cohort[enrollment.cohort_id])
        )
    if not candidates:
        return None
    last: dict[int, datetime] = {}
    for row in (
        CareMatch.objects.filter(Q(giver=member) | Q(receiver=member))
        .exclude(status=MatchStatus.CANCELLED)
        .values("giver_id", "receiver_id")
        .annotate(last=Max(Coalesce("done_at", "created_at")))
    ):
        other_id = row["receiver_id"] if row["giver_id"] == member.pk else row["giver_id"]
        if other_id not in last or row["last"] > last[other_id]:
            last[other_id] = row["last"]
    cutoff = now - timedelta(days=QUIET_DAYS)
    week = iso_week(now)
    quiet = [
        (last.get(other_id), _rotation(week, member.pk, other_id), other_id)
        for other_id in candidates
        if other_id not in last or last[other_id] <= cutoff
    ]
    if not quiet:
        return None
    floor = datetime.min.replace(tzinfo=now.tzinfo)
    quiet.sort(key=lambda item: (item[0] or floor, item[1]))
    other, cohort = candidates[quiet[0][2]]
    return Suggestion(member=member, other=other, cohort=cohort)


def _rotation(week: str, member_id: int, other_id: int) -> str:
    return hashlib.sha256(f"{week}:{member_id}:{other_id}".encode()).hexdigest()


def _recipients() -> list[User]:
    return list(
        User.objects.filter(
            is_active=True,
            care_nudges=True,
            enrollments__status=EnrollmentStatus.CONFIRMED,
            enrollments__cohort__status__in=ACTIVE,
        )
        .filter(
            Q(enrollments__cohort__program__kind=ProgramKind.CARE_CIRCLE)
            | Q(enrollments__cohort__care_board_setting__enabled=True)
        )
        .defer("password")
        .distinct()
        .order_by("pk")
    )


def _send(suggestion: Suggestion) -> None:
    member = suggestion.member
    link = site_link("care:nudge")
    # A therapy or skills group with its care board turned on is not a care circle, and an
    # e-mail, read in a shared inbox or on a lock screen, never says that someone is in therapy
    # (SECURITY.md D5): it says "group", and the page behind the link names the kind.
    is_circle = suggestion.cohort.program.kind == ProgramKind.CARE_CIRCLE
    group = "care circle" if is_circle else "group"
    send_mail(
        subject=emails.subject("a small idea for this week"),
        message=(
            f"Hello {member.display_name},\n\n"
            f"Just because: there's someone in your {group} you haven't connected with for a "
            "little while. If you feel like it, you could say hello or see what's on the "
            "care board this week. No pressure at all.\n\n"
            f"See the suggestion, after signing in:\n{link}\n\n"
            + member_footer("these suggestions")
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[member.email],
    )


def send_weekly_nudges(*, now: datetime | None = None) -> int:
    """Send this ISO week's nudges; safe to run twice or concurrently. Returns how many were sent."""
    now = now or timezone.now()
    week = iso_week(now)
    sent = 0
    for member in _recipients():
        if NudgeSent.objects.filter(member=member, week=week).exists():
            continue
        suggestion = choose(member, now)
        if suggestion is None:
            continue
        try:
            with transaction.atomic(durable=True):
                NudgeSent.objects.create(
                    member=member, week=week, suggested=suggestion.other, cohort=suggestion.cohort
                )
        except IntegrityError:
            # Another run claimed this member's nudge for the week first.
            continue
        try:
            _send(suggestion)
        except Exception:  # a mail failure for one member must not stop the others
            log.exception("care nudge e-mail failed for user %s", member.pk)
            continue
        sent += 1
    return sent
