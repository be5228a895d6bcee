"""Reads for the clinician workspace and the notes pages, each a fixed number of queries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils import timezone

from circlecare.accounts.models import User
from circlecare.care.queries import with_waiting_for_facilitators
from circlecare.clinic.models import GroupNote, IndividualNote, NoteStatus
from circlecare.enrollment.models import Enrollment, EnrollmentStatus
from circlecare.measures.models import Assessment, AssessmentStatus, RiskAlert
from circlecare.measures.plans import WEEKLY_OPENS_BEFORE
from circlecare.measures.queries import open_alerts
from circlecare.meetings.models import PRESENT, Attendance, AttendanceStatus, Meeting, over_by
from circlecare.programs.models import Cohort, CohortStatus

ROSTER_STATUSES = (EnrollmentStatus.CONFIRMED, EnrollmentStatus.COMPLETED)
#: How many open alerts and overdue questionnaires the workspace lists (the full queues link on).
ALERTS_SHOWN = 25
OVERDUE_SHOWN = 50
#: A questionnaire is overdue once it has been open this long unanswered: a weekly one opens
#: this long before its meeting (so it is overdue as the meeting begins), a check-in as its
#: meeting ends. One just opened is not late.
OVERDUE_AFTER = WEEKLY_OPENS_BEFORE
#: How many of the clinician's unsigned draft notes the workspace lists, oldest meeting first.
DRAFTS_SHOWN = 50


def may_use_workspace(user: User) -> bool:
    """Coordinators, facilitators, clinicians and anyone leading a cohort."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_staff or user.is_facilitator:
        return True
    if Cohort.objects.filter(Q(lead=user) | Q(co_facilitator=user)).exists():
        return True
    return hasattr(user, "clinician")


@dataclass
class RosterRow:
    enrollment: Enrollment
    counts: dict[str, int]
    #: The meetings held so far that the member could have been at: those held while they had a
    #: seat (the meetings whose attendance sheets list them), and any they are marked at.
    could_attend: int = 0

    @property
    def member(self) -> User:
        return self.enrollment.member

    @property
    def present(self) -> int:
        return self.counts.get(AttendanceStatus.ATTENDED, 0) + self.counts.get(
            AttendanceStatus.LATE, 0
        )


@dataclass
class CohortPanel:
    cohort: Cohort
    leads: bool
    held: int
    roster: list[RosterRow] = field(default_factory=list)


@dataclass
class Workspace:
    cohorts: list[CohortPanel]
    today: list[Meeting]
    week: list[Meeting]
    alerts: list[RiskAlert]
    overdue: list[Assessment]
    #: Whether more open alerts wait than ``alerts`` lists.
    more_alerts: bool = False
    #: The user's own notes still in draft, for meetings that have ended, oldest meeting first.
    drafts: list[GroupNote | IndividualNote] = field(default_factory=list)
    #: Whether more drafts wait than ``drafts`` lists.
    more_drafts: bool = False


def draft_notes(user: User, now: datetime) -> tuple[list[GroupNote | IndividualNote], bool]:
    """The notes ``user`` wrote that are still unsigned, for meetings that have ended (their
    time is up, or their leader ended them early), in groups they still lead; oldest meeting
    first, at most ``DRAFTS_SHOWN``, and whether there are more. Two queries (group and
    individual notes), however many drafts."""
    mine = (
        Q(author=user, status=NoteStatus.DRAFT)
        & over_by(now, via="meeting__")
        & (Q(meeting__cohort__lead=user) | Q(meeting__cohort__co_facilitator=user))
    )
    # The text is not shown here: deferring it keeps the list from decrypting every draft.
    order = ("meeting__starts_at", "meeting_id", "pk")
    group = list(
        GroupNote.objects.filter(mine)
        .select_related("meeting__cohort__program")
        .defer("text")
        .order_by(*order)[: DRAFTS_SHOWN + 1]
    )
    individual = list(
        IndividualNote.objects.filter(mine)
        .select_related("meeting__cohort__program", "member")
        .defer("text", "member__password")
        .order_by(*order)[: DRAFTS_SHOWN + 1]
    )
    drafts: list[GroupNote | IndividualNote] = sorted(
        [*group, *individual],
        key=lambda n: (n.meeting.starts_at, n.meeting_id, n.kind == "individual", n.pk),
    )
    return drafts[:DRAFTS_SHOWN], len(drafts) > DRAFTS_SHOWN


def workspace(user: User, zone: ZoneInfo, now: datetime | None = None) -> Workspace:
    """Everything on the workspace page: eight queries, however many cohorts, members and
    drafts. Its groups are those not cancelled nor finished, and finished ones while something
    still waits for their facilitators."""
    now = now or timezone.now()
    cohorts_qs = (
        Cohort.objects.select_related("program", "lead", "co_facilitator")
        .defer("lead__password", "co_facilitator__password")
        .exclude(status=CohortStatus.CANCELLED)
        .order_by("first_meeting_date", "pk")
    )
    if not user.is_staff:
        cohorts_qs = cohorts_qs.filter(Q(lead=user) | Q(co_facilitator=user))
    # A finished group stays while an open report or an unread shared reflection still waits
    # for its facilitators: the care home counts those for every group not cancelled, and the
    # two pages must not disagree about what still needs attention.
    cohorts = list(
        with_waiting_for_facilitators(cohorts_qs).exclude(
            Q(status=CohortStatus.FINISHED) & Q(open_reports=0) & Q(unread_reflections=0)
        )
    )
    ids = [c.pk for c in cohorts]

    today_start = datetime.combine(timezone.localdate(now, zone), time.min, tzinfo=zone)
    tomorrow = today_start + timedelta(days=1)
    # Every meeting up to a week ahead: this week's are listed, the ones held so far count
    # towards each member's attendance.
    meetings = list(
        Meeting.objects.filter(cohort_id__in=ids, starts_at__lt=today_start + timedelta(7))
        .select_related("cohort__program")
        # A row names its group; the programme's long texts stay in the database.
        .defer("cohort__program__description", "cohort__program__audience")
        .order_by("starts_at", "pk")
    )
    held: dict[int, list[Meeting]] = defaultdict(list)
    for meeting in meetings:
        # Held once it has begun, or once its leader ended it (in its early window, perhaps).
        if not meeting.is_cancelled and (meeting.starts_at <= now or meeting.is_over_at(now)):
            held[meeting.cohort_id].append(meeting)
    # One more than is shown says whether the whole queue holds more.
    alerts = list(open_alerts(user)[: ALERTS_SHOWN + 1])
    more_alerts = len(alerts) > ALERTS_SHOWN
    alerts = alerts[:ALERTS_SHOWN]
    overdue = list(
        Assessment.objects.filter(
            cohort_id__in=ids,
            status=AssessmentStatus.DUE,
            due_at__lt=now - OVERDUE_AFTER,
            synthetic=False,
        )
        .select_related("member", "cohort__program")
        .defer("member__password")
        .order_by("due_at", "pk")[:OVERDUE_SHOWN]
    )
    drafts, more_drafts = draft_notes(user, now)
    # The roster's seats, and every seat ever taken in these groups: a member who left and came
    # back had a seat for the meetings of both stays.
    enrollments = list(
        Enrollment.objects.filter(cohort_id__in=ids)
        .filter(Q(status__in=ROSTER_STATUSES) | Q(confirmed_at__isnull=False))
        .select_related("member")
        .defer("member__password")
        .order_by("member__display_name", "member_id", "pk")
    )
    seats: dict[tuple[int, int], list[Enrollment]] = defaultdict(list)
    for enrollment in enrollments:
        if enrollment.confirmed_at is not None:
            seats[(enrollment.cohort_id, enrollment.member_id)].append(enrollment)
    counts: dict[tuple[int, int], dict[str, int]] = defaultdict(dict)
    marked: dict[tuple[int, int], set[int]] = defaultdict(set)
    for row in (
        Attendance.objects.filter(meeting__cohort_id__in=ids)
        .values_list("meeting__cohort_id", "member_id", "meeting_id", "status")
        .order_by()
    ):
        key = (row[0], row[1])
        counts[key][row[3]] = counts[key].get(row[3], 0) + 1
        marked[key].add(row[2])

    def could_attend(key: tuple[int, int]) -> int:
        """Held meetings the member had a seat for (the attendance sheet's rule,
        ``Enrollment.held_seat_during``), and any they are marked at."""
        mine = marked.get(key, set())
        return len(mine) + sum(
            1
            for meeting in held[key[0]]
            if meeting.pk not in mine
            and any(
                seat.held_seat_during(meeting.starts_at, meeting.over_at)
                for seat in seats.get(key, [])
            )
        )

    panels = {
        c.pk: CohortPanel(cohort=c, leads=c.is_led_by(user), held=len(held[c.pk])) for c in cohorts
    }
    for enrollment in enrollments:
        if enrollment.status not in ROSTER_STATUSES:
            continue
        key = (enrollment.cohort_id, enrollment.member_id)
        panels[enrollment.cohort_id].roster.append(
            RosterRow(
                enrollment=enrollment, counts=counts.get(key, {}), could_attend=could_attend(key)
            )
        )
    return Workspace(
        cohorts=list(panels.values()),
        today=[m for m in meetings if today_start <= m.starts_at < tomorrow],
        week=[m for m in meetings if m.starts_at >= tomorrow],
        alerts=alerts,
        overdue=overdue,
        more_alerts=more_alerts,
        drafts=drafts,
        more_drafts=more_drafts,
    )


def meeting_for_notes(pk: int, user: User) -> tuple[Meeting, bool] | None:
    """The meeting and whether ``user`` may write its notes; None for anyone who may not read them."""
    if not user.is_authenticated or not user.is_active:
        return None
    meeting = (
        Meeting.objects.select_related("cohort__program", "cohort__lead", "cohort__co_facilitator")
        .defer("cohort__lead__password", "cohort__co_facilitator__password")
        .filter(pk=pk)
        .first()
    )
    if meeting is None:
        return None
    if meeting.cohort.is_led_by(user):
        return meeting, True
    if user.is_staff:
        return meeting, False
    return None


@dataclass
class MemberNotes:
    member: User
    attended: str | None
    versions: list[IndividualNote]

    @property
    def latest(self) -> IndividualNote | None:
        return self.versions[-1] if self.versions else None

    @property
    def earlier(self) -> list[IndividualNote]:
        return self.versions[:-1]


@dataclass
class MeetingNotes:
    group_versions: list[GroupNote]
    members: list[MemberNotes]

    @property
    def group(self) -> GroupNote | None:
        return self.group_versions[-1] if self.group_versions else None

    @property
    def group_earlier(self) -> list[GroupNote]:
        return self.group_versions[:-1]

    @property
    def without_note(self) -> list[MemberNotes]:
        return [m for m in self.members if not m.versions]

    @property
    def with_note(self) -> list[MemberNotes]:
        return [m for m in self.members if m.versions]

    def shown(self) -> list[GroupNote | IndividualNote]:
        """The versions whose text the notes page displays (the latest of each note)."""
        latest: list[GroupNote | IndividualNote] = []
        if self.group is not None:
            latest.append(self.group)
        latest.extend(m.latest for m in self.members if m.latest is not None)
        return latest


def meeting_notes(meeting: Meeting) -> MeetingNotes:
    """The group note's versions, and each attendee (or member with a note) with theirs: 3 queries."""
    group = list(
        GroupNote.objects.filter(meeting=meeting)
        .select_related("author", "signed_by")
        .defer("author__password", "signed_by__password")
        .order_by("version")
    )
    marks = list(
        Attendance.objects.filter(meeting=meeting, status__in=PRESENT)
        .select_related("member")
        .defer("member__password")
    )
    notes = list(
        IndividualNote.objects.filter(meeting=meeting)
        .select_related("member", "signed_by")
        .defer("member__password", "signed_by__password")
        .order_by("member_id", "version")
    )
    members: dict[int, MemberNotes] = {
        m.member_id: MemberNotes(member=m.member, attended=m.status, versions=[]) for m in marks
    }
    for note in notes:
        entry = members.get(note.member_id)
        if entry is None:
            entry = members[note.member_id] = MemberNotes(
                member=note.member, attended=None, versions=[]
            )
        entry.versions.append(note)
    ordered = sorted(members.values(), key=lambda m: (m.member.display_name.lower(), m.member.pk))
    return MeetingNotes(group_versions=group, members=ordered)


def note_for_viewer(
    kind: str, pk: int, user: User
) -> tuple[GroupNote | IndividualNote, bool] | None:
    """One note version and whether ``user`` may write it; None for anyone who may not read it."""
    if not user.is_authenticated or not user.is_active:
        return None
    note: GroupNote | IndividualNote | None
    related = ("meeting__cohort__program", "signed_by", "author")
    hashes = ("signed_by__password", "author__password")
    if kind == "group":
        note = GroupNote.objects.select_related(*related).defer(*hashes).filter(pk=pk).first()
    elif kind == "individual":
        note = (
            IndividualNote.objects.select_related(*related, "member")
            .defer(*hashes, "member__password")
            .filter(pk=pk)
            .first()
        )
    else:
        return None
    if note is None:
        return None
    if note.meeting.cohort.is_led_by(user):
        return note, True
    if user.is_staff:
        return note, False
    return None
