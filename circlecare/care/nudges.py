"""Just-because nudges: once a week, a gentle suggestion to reach out to someone in your group.

When they arrive
----------------
Each member's nudge arrives on Monday from `SEND_HOUR` (10:00) in their own time
zone (in that hour, or later the same day up to `SEND_UNTIL_HOUR` if the worker was behind) (`User.time_zone`; one that is empty or unknown counts as `settings.TIME_ZONE`). A week is
the member's local ISO week, Monday to Sunday in their zone, so nobody is nudged twice or skipped
because their Monday starts on a different UTC date, or because the clocks changed.

How it runs in production
-------------------------
The sweeps are idempotent: each member's nudge is claimed by inserting a
`NudgeSent(member, local ISO week)` row (unique) *before* the e-mail goes out, so running a sweep
twice, or in two workers at once, sends each member at most one nudge a week.

`send_due_nudges()` is the hourly sweep: it sends to the members for whom it is now Monday, from
`SEND_HOUR` to before `SEND_UNTIL_HOUR`, and who have not had this week's. It is driven by the task `circlecare.care.tasks.weekly_care_nudges`, which runs it
and then enqueues itself for the next whole hour (unless such a run is already queued). Start the
chain once after deploying with `python manage.py care_nudges --schedule` and keep at least one
`python manage.py db_worker` running. `python manage.py care_nudges --now` runs
`send_weekly_nudges()` at once: every member whose nudge for their current week is due (their
Monday `SEND_HOUR` has come) and not yet sent, whatever the hour.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

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
from circlecare.middleware import resolve_zone
from circlecare.programs.models import ACTIVE, Cohort, ProgramKind

log = logging.getLogger(__name__)

QUIET_DAYS = 14

#: Nudges arrive on a Monday in the hour from this one (10:00 to 10:59), in the member's own
#: time zone: a kind hour to read about reaching out, wherever they live.
SEND_HOUR = 10
#: A worker that was behind or down for a few hours still reaches them the same day, until this
#: hour (20:00); past it, a nudge would arrive in the evening, so the week's is left out.
SEND_UNTIL_HOUR = 20
MONDAY = 0


def iso_week(now: datetime, zone: ZoneInfo | None = None) -> str:
    """The ISO week ``now`` falls in, in ``zone`` (UTC when not given), e.g. "2026-W48"."""
    year, week, _ = now.astimezone(zone or UTC).isocalendar()
    return f"{year}-W{week:02d}"


def member_zone(name: str | None) -> ZoneInfo:
    """The zone a member's nudges follow: their own, else the practice's (``settings.TIME_ZONE``)."""
    return resolve_zone(name) or ZoneInfo(settings.TIME_ZONE)


def in_send_window(now: datetime, zone: ZoneInfo) -> bool:
    """Whether it is Monday, from ``SEND_HOUR`` to before ``SEND_UNTIL_HOUR``, in ``zone``."""
    local = now.astimezone(zone)
    return local.weekday() == MONDAY and SEND_HOUR <= local.hour < SEND_UNTIL_HOUR


def send_time(now: datetime, zone: ZoneInfo) -> datetime:
    """The moment a nudge becomes due in the week ``now`` falls in, in ``zone``: that week's
    Monday at ``SEND_HOUR`` local time, as an instant in UTC."""
    local = now.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    return datetime.combine(monday, time(SEND_HOUR), tzinfo=zone).astimezone(UTC)


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
    People never connected with come first, then the longest ago; ties rotate from week to week
    (the member's own week, as for the nudges).
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
    week = iso_week(now, member_zone(member.time_zone))
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


def _recipients(due: Callable[[ZoneInfo], bool]) -> list[User]:
    """Active members who want nudges and are in a group with a care board, whose zone is
    ``due``. The zones are looked at first, so an hour in which it is nobody's Monday morning
    loads nobody."""
    members = User.objects.filter(
        is_active=True,
        care_nudges=True,
        enrollments__status=EnrollmentStatus.CONFIRMED,
        enrollments__cohort__status__in=ACTIVE,
    ).filter(
        Q(enrollments__cohort__program__kind=ProgramKind.CARE_CIRCLE)
        | Q(enrollments__cohort__care_board_setting__enabled=True)
    )
    zones = set(members.values_list("time_zone", flat=True).distinct())
    due_zones = [name for name in zones if due(member_zone(name))]
    if not due_zones:
        return []
    return list(members.filter(time_zone__in=due_zones).defer("password").distinct().order_by("pk"))


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


def send_due_nudges(*, now: datetime | None = None) -> int:
    """The hourly sweep: nudge the members for whom it is Monday, from ``SEND_HOUR`` to before
    ``SEND_UNTIL_HOUR``, in their own zone, and who have not had this week's (so nearly always
    in the ``SEND_HOUR`` hour, and later that day only when the worker was behind). Safe to run twice or concurrently. Returns
    how many were sent."""
    now = now or timezone.now()
    return _sweep(now, lambda zone: in_send_window(now, zone))


def send_weekly_nudges(*, now: datetime | None = None) -> int:
    """Nudge, at once, every member whose nudge for their current week is due (their Monday
    ``SEND_HOUR`` has come in their zone) and not yet sent: ``care_nudges --now``, to catch up
    after the worker was down. Someone whose Monday morning is still to come is left to the
    hourly sweep. Safe to run twice or concurrently. Returns how many were sent."""
    now = now or timezone.now()
    return _sweep(now, lambda zone: now >= send_time(now, zone))


def _sweep(now: datetime, due: Callable[[ZoneInfo], bool]) -> int:
    sent = 0
    for member in _recipients(due):
        # The week is the member's own: a Monday in Sydney is still Sunday in UTC.
        week = iso_week(now, member_zone(member.time_zone))
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
