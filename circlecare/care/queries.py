"""Reads for relational care: who may see what, this week's programme, the board, the flow of care."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from circlecare.accounts.models import User
from circlecare.care.models import (
    BlockKind,
    CareBoardSetting,
    CareMatch,
    CarePost,
    CareReport,
    CohortWeek,
    MatchStatus,
    MemberBlock,
    NudgeSent,
    PostKind,
    PostStatus,
    Reflection,
    unread_by_facilitators,
)
from circlecare.enrollment.models import Enrollment, EnrollmentStatus
from circlecare.meetings.models import Meeting, MeetingStatus
from circlecare.meetings.weeks import MeetingWeek, first_start, meeting_weeks
from circlecare.programs.models import Cohort, ProgramKind, ProgramWeek

# --- who may see what ------------------------------------------------------------------------


def is_member(user: object, cohort: Cohort) -> bool:
    """A confirmed member of the cohort."""
    user_id = getattr(user, "pk", None)
    if user_id is None:
        return False
    return Enrollment.objects.filter(
        member_id=user_id, cohort=cohort, status=EnrollmentStatus.CONFIRMED
    ).exists()


def board_enabled(cohort: Cohort) -> bool:
    """Care circles always have a board; other groups have one if their lead turned it on."""
    if cohort.program.kind == ProgramKind.CARE_CIRCLE:
        return True
    try:
        setting = cohort.care_board_setting
    except CareBoardSetting.DoesNotExist:
        return False
    return setting.enabled


def can_see_board(user: object, cohort: Cohort) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if not board_enabled(cohort):
        return False
    return cohort.is_led_by(user) or is_member(user, cohort)


def cohort_for_board(user: object, cohort_id: int) -> Cohort:
    """The cohort whose board ``user`` may see, or 404 (never 403: do not confirm it exists)."""
    cohort = (
        Cohort.objects.select_related("program", "lead", "co_facilitator", "care_board_setting")
        .defer("lead__password", "co_facilitator__password")
        .filter(pk=cohort_id)
        .first()
    )
    if cohort is None or not can_see_board(user, cohort):
        raise Http404
    return cohort


def cohort_led_by(user: object, cohort_id: int) -> Cohort:
    cohort = (
        Cohort.objects.select_related("program", "lead", "co_facilitator", "care_board_setting")
        .defer("lead__password", "co_facilitator__password")
        .filter(pk=cohort_id)
        .first()
    )
    if cohort is None or not cohort.is_led_by(user):
        raise Http404
    return cohort


def cohort_for_programme(user: object, cohort_id: int) -> Cohort:
    """A cohort's programme is for its confirmed members and its facilitators."""
    cohort = Cohort.objects.select_related("program").filter(pk=cohort_id).first()
    if cohort is None or not (cohort.is_led_by(user) or is_member(user, cohort)):
        raise Http404
    return cohort


def hidden_author_ids(user: object) -> set[int]:
    """Authors whose posts ``user`` does not see: people they blocked or muted, and people who
    blocked them."""
    user_id = getattr(user, "pk", None)
    if user_id is None:
        return set()
    rows = MemberBlock.objects.filter(
        Q(blocker_id=user_id) | Q(blocked_id=user_id, kind=BlockKind.BLOCK)
    ).values_list("blocker_id", "blocked_id")
    return {blocked if blocker == user_id else blocker for blocker, blocked in rows}


def blocked_author_ids(user: object) -> set[int]:
    """People ``user`` blocked or who blocked them: unlike a mute, a block hides posts both ways
    whatever the two had agreed."""
    user_id = getattr(user, "pk", None)
    if user_id is None:
        return set()
    rows = MemberBlock.objects.filter(
        Q(blocker_id=user_id) | Q(blocked_id=user_id), kind=BlockKind.BLOCK
    ).values_list("blocker_id", "blocked_id")
    return {blocked if blocker == user_id else blocker for blocker, blocked in rows}


def blocked_between(a_id: int, b_id: int) -> bool:
    return MemberBlock.objects.filter(
        Q(blocker_id=a_id, blocked_id=b_id) | Q(blocker_id=b_id, blocked_id=a_id),
        kind=BlockKind.BLOCK,
    ).exists()


def board_posts(user: User, cohort: Cohort, *, limit: int | None = 200) -> list[CarePost]:
    """The board as ``user`` sees it, newest first, in a fixed number of queries (the newest
    ``limit`` posts, or all for None)."""
    posts = (
        CarePost.objects.filter(cohort=cohort)
        .select_related("author")
        .defer("author__password")
        .annotate(
            live_matches=Count("matches", filter=~Q(matches__status=MatchStatus.CANCELLED)),
            # A post whose author has left the group is no longer open to responses.
            author_here=Exists(
                Enrollment.objects.filter(
                    member_id=OuterRef("author_id"),
                    cohort=cohort,
                    status=EnrollmentStatus.CONFIRMED,
                )
            ),
        )
    )
    if not cohort.is_led_by(user):
        posts = posts.filter(Q(hidden_at__isnull=True) | Q(author=user)).exclude(
            author_id__in=hidden_author_ids(user)
        )
    # The aggregate drops the model's default ordering: say "newest first" before cutting.
    posts = posts.order_by("-created_at", "-pk")
    return list(posts if limit is None else posts[:limit])


def visible_post(user: User, post_id: int) -> CarePost:
    post = (
        CarePost.objects.select_related(
            "author",
            "cohort",
            "cohort__program",
            "cohort__lead",
            "cohort__co_facilitator",
            "cohort__care_board_setting",
            "hidden_by",
        )
        .defer(
            "author__password",
            "cohort__lead__password",
            "cohort__co_facilitator__password",
            "hidden_by__password",
        )
        .filter(pk=post_id)
        .first()
    )
    if post is None or not can_see_board(user, post.cohort):
        raise Http404
    if not post.cohort.is_led_by(user):
        if post.is_hidden and post.author_id != user.pk:
            raise Http404
        if post.author_id in hidden_author_ids(user) and not _muted_but_agreed(user, post):
            raise Http404
    return post


def _muted_but_agreed(user: User, post: CarePost) -> bool:
    """``user`` only muted the post's author and took the post up before: a mute leaves what was
    agreed in place, so they can still open the post to see it through (or call it off)."""
    return not blocked_between(user.pk, post.author_id) and (
        CareMatch.objects.filter(post=post, responder=user)
        .exclude(status=MatchStatus.CANCELLED)
        .exists()
    )


def board_of_gone_post(user: User, post_id: int) -> int | None:
    """The board a post was on, when ``user`` may see that board but no longer the post.

    For someone who acts on a post that was hidden, or whose author they no longer see, after
    they opened it. Anyone else gets None (and a 404): it does not confirm the post exists.
    """
    post = CarePost.objects.select_related("cohort__program").filter(pk=post_id).first()
    if post is None or not can_see_board(user, post.cohort):
        return None
    return post.cohort_id


def post_matches(user: User, post: CarePost) -> list[CareMatch]:
    """Matches on a post that ``user`` takes part in; facilitators see them all.

    The author sees them all but what was done with someone blocked either way: a block hides
    the two from each other, names and thanks from before it included, as on the board and the
    thanks page. What the block called off stays, shown exactly as an ordinary call-off so the
    blocked person is not told why; a mute leaves everything in place.
    """
    matches = (
        post.matches.select_related("giver", "receiver", "responder", "cancelled_by")
        .defer(
            "giver__password",
            "receiver__password",
            "responder__password",
            "cancelled_by__password",
        )
        .order_by("created_at")
    )
    if post.cohort.is_led_by(user):
        return list(matches)
    if post.author_id == user.pk:
        return list(
            matches.exclude(
                ~Q(status=MatchStatus.CANCELLED), responder_id__in=blocked_author_ids(user)
            )
        )
    return list(matches.filter(responder=user))


def match_for(user: User, match_id: int) -> CareMatch:
    """A match its two people may act on; anyone else gets 404."""
    match = (
        CareMatch.objects.select_related(
            "post", "giver", "receiver", "cohort__program", "cancelled_by"
        )
        .defer("giver__password", "receiver__password", "cancelled_by__password")
        .filter(pk=match_id)
        .first()
    )
    if match is None or not match.involves(user):
        raise Http404
    return match


def my_blocks(user: User, cohort: Cohort | None = None) -> list[MemberBlock]:
    return list(
        MemberBlock.objects.filter(blocker=user)
        .select_related("blocked")
        .defer("blocked__password")
    )


def my_report(user: User, post: CarePost) -> CareReport | None:
    """The reporter's own report of a post, if any. Who resolved it and their note stay with the
    facilitators: the reporter sees only whether and when it was resolved."""
    return (
        CareReport.objects.filter(post=post, reporter=user)
        .only("created_at", "resolved_at", "post_id", "reporter_id")
        .first()
    )


#: How many of their own reports a member sees on their care page.
MY_REPORTS_SHOWN = 5


def my_reports(user: User) -> list[CareReport]:
    """A member's latest reports, whether or not they can still open the post (a facilitator
    may have hidden it): the post's title, when it was reported and whether it was resolved."""
    return list(
        CareReport.objects.filter(reporter=user)
        .select_related("post__cohort__program")
        .only(
            "created_at",
            "resolved_at",
            "reporter_id",
            "post__title",
            "post__cohort_id",
            "post__cohort__program_id",
            "post__cohort__program__kind",
        )
        .order_by("-created_at", "-pk")[:MY_REPORTS_SHOWN]
    )


def open_reports(cohort: Cohort) -> list[CareReport]:
    return list(
        CareReport.objects.filter(post__cohort=cohort, resolved_at__isnull=True)
        .select_related("post", "post__author", "reporter")
        .defer("post__author__password", "reporter__password")
        .order_by("-created_at", "-pk")
    )


def resolved_reports(cohort: Cohort, limit: int = 50) -> list[CareReport]:
    """The most recently resolved reports, kept in view with who resolved them and their note."""
    return list(
        CareReport.objects.filter(post__cohort=cohort, resolved_at__isnull=False)
        .select_related("post", "post__author", "reporter", "resolved_by")
        .defer("post__author__password", "reporter__password", "resolved_by__password")
        .order_by("-resolved_at", "-pk")[:limit]
    )


def report_led_by(user: object, report_id: int) -> CareReport:
    """A report on a post in a group ``user`` facilitates; anyone else gets 404."""
    report = CareReport.objects.select_related("post", "post__cohort").filter(pk=report_id).first()
    if report is None or not report.post.cohort.is_led_by(user):
        raise Http404
    return report


def hidden_posts(cohort: Cohort) -> list[CarePost]:
    return list(
        CarePost.objects.filter(cohort=cohort, hidden_at__isnull=False)
        .select_related("author", "hidden_by")
        .defer("author__password", "hidden_by__password")
        .order_by("-hidden_at")
    )


# --- the weekly programme --------------------------------------------------------------------


@dataclass(frozen=True)
class WeekPlan:
    number: int
    total: int
    module: str
    topic: str
    skill: str
    practice: str
    reflection_prompt: str
    adapted: bool


@dataclass(frozen=True)
class ThisWeek:
    """Where a cohort is in its program and what this week holds."""

    state: str  # "upcoming" | "running" | "finished"
    plan: WeekPlan | None
    starts_at: datetime  # the first meeting, shown in the viewer's zone
    next_meeting: datetime | None


def _plan(
    number: int, total: int, base: ProgramWeek | None, adapted: CohortWeek | None
) -> WeekPlan:
    def pick(name: str) -> str:
        override = getattr(adapted, name, "") if adapted is not None else ""
        return override or (getattr(base, name, "") if base is not None else "")

    return WeekPlan(
        number=number,
        total=total,
        module=base.module if base is not None else "",
        topic=pick("topic") or f"Week {number}",
        skill=pick("skill"),
        practice=pick("practice"),
        reflection_prompt=pick("reflection_prompt"),
        adapted=adapted is not None,
    )


def week_number(cohort: Cohort, now: datetime | None = None) -> tuple[str, int, datetime | None]:
    """(state, week number, next meeting). Week N runs from meeting N until the next meeting.

    The group's meetings as they are: a skipped week or a new pattern moves the weeks with the
    meetings, and a cancelled meeting starts no week (the week before runs on until the next
    one). Before the first meeting the state is "upcoming" and its week is shown as what is
    coming; a week after the last meeting the program is "finished".
    """
    return _week_number(cohort, meeting_weeks(cohort), now or timezone.now())


def _week_number(
    cohort: Cohort, weeks: list[MeetingWeek], now: datetime
) -> tuple[str, int, datetime | None]:
    held = [w for w in weeks if not w.cancelled]
    started = [w for w in held if w.starts_at <= now]
    upcoming = next((w.starts_at for w in held if w.starts_at > now), None)
    if not started:
        return "upcoming", held[0].number if held else 1, upcoming
    latest = started[-1]
    if len(started) == len(held) and now >= latest.starts_at + timedelta(days=7):
        return "finished", cohort.program.weeks, None
    return "running", latest.number, upcoming


def week_plan(cohort: Cohort, number: int) -> WeekPlan:
    loaded = getattr(cohort, "panel_weeks", None)  # the page loaded every group's weeks at once
    if loaded is not None:
        base, adapted = loaded[0].get(number), loaded[1].get(number)
    else:
        base = ProgramWeek.objects.filter(program_id=cohort.program_id, number=number).first()
        adapted = CohortWeek.objects.filter(cohort=cohort, number=number).first()
    return _plan(number, cohort.program.weeks, base, adapted)


def this_week(cohort: Cohort, now: datetime | None = None) -> ThisWeek:
    weeks = meeting_weeks(cohort)
    state, number, upcoming = _week_number(cohort, weeks, now or timezone.now())
    plan = None if state == "finished" else week_plan(cohort, number)
    first = first_start(cohort, weeks)
    return ThisWeek(state=state, plan=plan, starts_at=first, next_meeting=upcoming)


def programme(cohort: Cohort) -> list[WeekPlan]:
    """Every week of the cohort's program, with this cohort's adaptations, in two queries."""
    base = {w.number: w for w in ProgramWeek.objects.filter(program_id=cohort.program_id)}
    adapted = {w.number: w for w in CohortWeek.objects.filter(cohort=cohort)}
    total = cohort.program.weeks
    return [_plan(n, total, base.get(n), adapted.get(n)) for n in range(1, total + 1)]


def member_cohorts(user: User) -> list[tuple[Cohort, Enrollment]]:
    enrollments = (
        Enrollment.objects.filter(member=user, status=EnrollmentStatus.CONFIRMED)
        .select_related(
            "cohort",
            "cohort__program",
            "cohort__lead",
            "cohort__co_facilitator",
            "cohort__care_board_setting",
        )
        .defer("cohort__lead__password", "cohort__co_facilitator__password")
        # Each group's week and next meeting come from its meetings, read for all at once.
        .prefetch_related(
            Prefetch(
                "cohort__meetings",
                queryset=Meeting.objects.exclude(status=MeetingStatus.CANCELLED).order_by(
                    "starts_at", "pk"
                ),
                to_attr="scheduled_meetings",
            )
        )
        .order_by("cohort__first_meeting_date", "cohort__pk")
    )
    return [(e.cohort, e) for e in enrollments]


def with_waiting_for_facilitators(cohorts: QuerySet[Cohort]) -> QuerySet[Cohort]:
    """Annotate what waits for a cohort's facilitators on its care overview: ``open_reports``
    (reports not yet resolved) and ``unread_reflections`` (journal entries shared with them that
    none of them has read as they stand).
    Subqueries, so neither multiplies the other and the count of queries does not change."""
    reports = (
        CareReport.objects.filter(post__cohort=OuterRef("pk"), resolved_at__isnull=True)
        .order_by()
        .values("post__cohort")
        .annotate(n=Count("pk"))
        .values("n")
    )
    shared = (
        Reflection.objects.filter(
            unread_by_facilitators(), cohort=OuterRef("pk"), shared_with_facilitator=True
        )
        .order_by()
        .values("cohort")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return cohorts.annotate(
        open_reports=Coalesce(Subquery(reports), 0),
        unread_reflections=Coalesce(Subquery(shared), 0),
    )


def led_cohorts(user: User) -> list[Cohort]:
    return list(
        with_waiting_for_facilitators(
            Cohort.objects.filter(Q(lead=user) | Q(co_facilitator=user))
            .exclude(status="cancelled")
            .select_related("program", "care_board_setting")
            .order_by("first_meeting_date", "pk")
        )
    )


# --- mutuality --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthFlow:
    month: date
    gave: int
    received: int


@dataclass
class MemberFlow:
    """How care has flowed both ways for one member. Only they see it."""

    gave: int = 0
    received: int = 0
    in_progress: int = 0
    months: list[MonthFlow] = field(default_factory=list)
    by_group: list[tuple[Cohort, int, int]] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.gave or self.received or self.in_progress)


def member_flow(user: User) -> MemberFlow:
    """Counts of care given and received (matches both people marked done), month by month."""
    matches = list(
        CareMatch.objects.filter(Q(giver=user) | Q(receiver=user), status=MatchStatus.DONE)
        .select_related("cohort", "cohort__program")
        .only(
            "status",
            "giver_id",
            "receiver_id",
            "done_at",
            "cohort__name",
            "cohort__first_meeting_date",
            "cohort__program__title",
        )
    )
    # In progress as the care page lists it: not what waits on a board the member can no
    # longer open (its lead turned it off), which the list leaves out.
    flow = MemberFlow(in_progress=_open_matches(user).count())
    months: Counter[tuple[date, str]] = Counter()
    groups: dict[int, list[object]] = {}
    for match in matches:
        direction = "gave" if match.giver_id == user.pk else "received"
        if direction == "gave":
            flow.gave += 1
        else:
            flow.received += 1
        assert match.done_at is not None
        local = timezone.localtime(match.done_at).date().replace(day=1)
        months[(local, direction)] += 1
        row = groups.setdefault(match.cohort_id, [match.cohort, 0, 0])
        row[1 if direction == "gave" else 2] += 1  # type: ignore[operator]
    for month in sorted({m for m, _ in months}, reverse=True):
        flow.months.append(
            MonthFlow(
                month=month, gave=months[(month, "gave")], received=months[(month, "received")]
            )
        )
    flow.by_group = [(row[0], row[1], row[2]) for row in groups.values()]  # type: ignore[misc]
    return flow


def my_open_matches(user: User, *, limit: int | None = 20) -> list[CareMatch]:
    """Care the member has agreed and not yet seen through, newest first (the newest ``limit``,
    or all for None).

    Only matches whose post they can still open: not in a group they have left or whose board
    was turned off, nor on a post hidden from them or by someone blocked either way (a mute
    leaves what was agreed in place, and its post open to the two of them).
    """
    matches = (
        _open_matches(user)
        .select_related("post", "giver", "receiver")
        .defer("giver__password", "receiver__password")
        .order_by("-created_at", "-pk")
    )
    return list(matches if limit is None else matches[:limit])


def _open_matches(user: User) -> QuerySet[CareMatch]:
    """The agreed matches ``my_open_matches`` lists, for the list and for counting them."""
    return (
        CareMatch.objects.filter(Q(giver=user) | Q(receiver=user), status=MatchStatus.AGREED)
        .filter(
            cohort_id__in=Enrollment.objects.filter(
                member=user, status=EnrollmentStatus.CONFIRMED
            ).values("cohort_id")
        )
        .filter(
            Q(cohort__program__kind=ProgramKind.CARE_CIRCLE)
            | Q(cohort__care_board_setting__enabled=True)
        )
        .filter(Q(post__hidden_at__isnull=True) | Q(post__author=user))
        .exclude(post__author_id__in=blocked_author_ids(user))
    )


@dataclass(frozen=True)
class LeftBehind:
    """What leaving a group would end on its care board (``services.member_left``)."""

    agreed: int
    open_posts: int

    @property
    def any(self) -> bool:
        return bool(self.agreed or self.open_posts)


def left_behind(user: User, cohort_id: int) -> LeftBehind:
    """The member's agreed matches and open posts in one group, for the page that asks whether
    they want to leave it. Two counts."""
    return LeftBehind(
        agreed=CareMatch.objects.filter(
            Q(giver=user) | Q(receiver=user), cohort_id=cohort_id, status=MatchStatus.AGREED
        ).count(),
        open_posts=CarePost.objects.filter(
            author=user, cohort_id=cohort_id, status=PostStatus.OPEN
        ).count(),
    )


def thanks_received(user: User, limit: int = 10) -> list[CareMatch]:
    """The latest thanks ``user`` received; none from someone blocked either way (the board no
    longer shows the two each other's posts, nor this page their words)."""
    return list(
        CareMatch.objects.filter(giver=user, thanked_at__isnull=False)
        .exclude(receiver_id__in=blocked_author_ids(user))
        .select_related("post", "receiver")
        .defer("receiver__password")
        .order_by("-thanked_at")[:limit]
    )


@dataclass
class CircleFlow:
    offers: int
    requests: int
    matches_done: int
    matches_open: int
    not_connected: list[User]
    members: int


def circle_flow(cohort: Cohort) -> CircleFlow:
    """The circle's overall flow for its facilitators: totals and who has not connected yet.

    Never ranked: the people not yet connected are listed alphabetically by display name.
    """
    posts = CarePost.objects.filter(cohort=cohort).aggregate(
        offers=Count("pk", filter=Q(kind=PostKind.OFFER)),
        requests=Count("pk", filter=Q(kind=PostKind.REQUEST)),
    )
    matches = CareMatch.objects.filter(cohort=cohort).aggregate(
        done=Count("pk", filter=Q(status=MatchStatus.DONE)),
        open=Count("pk", filter=Q(status=MatchStatus.AGREED)),
    )
    members = list(
        User.objects.filter(
            enrollments__cohort=cohort, enrollments__status=EnrollmentStatus.CONFIRMED
        ).only("pk", "display_name")
    )
    connected: set[int] = set()
    for giver_id, receiver_id in (
        CareMatch.objects.filter(cohort=cohort)
        .exclude(status=MatchStatus.CANCELLED)
        .values_list("giver_id", "receiver_id")
    ):
        connected.update((giver_id, receiver_id))
    not_connected = sorted(
        (m for m in members if m.pk not in connected),
        key=lambda m: (m.display_name.casefold(), m.pk),
    )
    return CircleFlow(
        offers=posts["offers"],
        requests=posts["requests"],
        matches_done=matches["done"],
        matches_open=matches["open"],
        not_connected=not_connected,
        members=len(members),
    )


# --- journal ----------------------------------------------------------------------------------


def my_reflections(user: User) -> QuerySet[Reflection]:
    return Reflection.objects.filter(member=user).select_related("cohort", "cohort__program")


def my_reflection(user: User, reflection_id: int) -> Reflection:
    reflection = my_reflections(user).filter(pk=reflection_id).first()
    if reflection is None:
        raise Http404
    return reflection


def shared_reflections(cohort: Cohort) -> list[Reflection]:
    """Entries members chose to share with this cohort's facilitators; the text is not read here."""
    return list(
        Reflection.objects.filter(cohort=cohort, shared_with_facilitator=True)
        .annotate(unread=ExpressionWrapper(unread_by_facilitators(), BooleanField()))
        .select_related("member")
        .defer("body", "member__password")
        .order_by("-shared_at", "-pk")
    )


def is_shared_with(cohort: Cohort, reflection_id: int) -> bool:
    """Whether the entry is one a member shares with this cohort's facilitators (not reading it)."""
    return Reflection.objects.filter(
        pk=reflection_id, cohort=cohort, shared_with_facilitator=True
    ).exists()


def latest_nudge(user: User) -> NudgeSent | None:
    return (
        NudgeSent.objects.filter(member=user)
        .select_related("suggested", "cohort", "cohort__program")
        .defer("suggested__password")
        .order_by("-sent_at", "-pk")
        .first()
    )


def standing_nudge(user: User) -> NudgeSent | None:
    """The member's latest nudge, while its suggestion still stands.

    It stands while both people are still in that circle and neither has since blocked or muted
    the other (never suggested to each other, whichever way round).
    """
    latest = latest_nudge(user)
    if latest is None or latest.suggested_id is None or latest.cohort is None:
        return None
    if not can_see_board(user, latest.cohort) or not is_member(latest.suggested, latest.cohort):
        return None
    if MemberBlock.objects.filter(
        Q(blocker_id=user.pk, blocked_id=latest.suggested_id)
        | Q(blocker_id=latest.suggested_id, blocked_id=user.pk)
    ).exists():
        return None
    return latest
