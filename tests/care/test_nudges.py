"""Just-because nudges: who is suggested, who is never suggested, and exactly once a week, on
each member's own Monday morning."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connections, transaction
from django.db.models import Q
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from circlecare.care.models import (
    CareBoardSetting,
    CareMatch,
    MatchStatus,
    MemberBlock,
    NudgeSent,
)
from circlecare.care.nudges import (
    SEND_HOUR,
    choose,
    iso_week,
    send_due_nudges,
    send_weekly_nudges,
)
from circlecare.care.tasks import next_run_after, schedule_next, weekly_care_nudges
from circlecare.enrollment.models import Enrollment
from circlecare.enrollment.services import withdraw
from circlecare.programs.models import ProgramKind
from tests.care.factories import CarePostFactory, make_circle, make_match
from tests.conftest import requires_postgres

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # a Monday, 10:00 in New York


def connect(a: object, b: object, cohort: object, days_ago: float, **fields: object) -> CareMatch:
    post = CarePostFactory(cohort=cohort, author=a)
    match = make_match(post, b, **fields)  # type: ignore[arg-type]
    CareMatch.objects.filter(pk=match.pk).update(created_at=NOW - timedelta(days=days_ago))
    return match


@pytest.mark.django_db
def test_member_gets_one_gentle_email_with_a_link_and_no_names() -> None:
    circle = make_circle(2)
    a, b = circle.members
    assert send_weekly_nudges(now=NOW) == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted([a.email, b.email])
    message = next(m for m in mail.outbox if m.to == [a.email])
    assert "/care/nudge/" in message.body
    assert b.display_name not in message.body and circle.cohort.program.title not in message.body
    sent = NudgeSent.objects.get(member=a)
    assert (sent.week, sent.suggested, sent.cohort) == ("2026-W48", b, circle.cohort)

    client = Client()
    client.force_login(a)
    page = client.get(reverse("care:nudge")).content.decode()
    assert b.display_name in page
    assert reverse("care:board", args=[circle.cohort.pk]) in page


@pytest.mark.django_db
def test_the_suggestion_mentions_the_next_meeting_only_while_there_is_one() -> None:
    past_day = timezone.localdate() - timedelta(days=2)
    for circle, next_one in (
        (make_circle(2), True),
        (make_circle(2, weeks=1, first_meeting_date=past_day, weekday=past_day.weekday()), False),
    ):
        a, b = circle.members
        NudgeSent.objects.create(member=a, week=iso_week(NOW), suggested=b, cohort=circle.cohort)
        client = Client()
        client.force_login(a)
        page = client.get(reverse("care:nudge")).content.decode()
        assert b.display_name in page
        assert ("say hello at the next meeting" in page) is next_one
        assert "see whether something on the care board suits you both" in page


@pytest.mark.django_db
@pytest.mark.parametrize("change", ["suggested_left", "suggested_muted_member", "member_muted"])
def test_a_suggestion_no_longer_stands_once_the_two_no_longer_share_the_circle(
    change: str,
) -> None:
    circle = make_circle(2)
    a, b = circle.members
    NudgeSent.objects.create(member=a, week=iso_week(NOW), suggested=b, cohort=circle.cohort)
    client = Client()
    client.force_login(a)
    assert b.display_name in client.get(reverse("care:nudge")).content.decode()

    if change == "suggested_left":
        withdraw(enrollment=Enrollment.objects.get(member=b, cohort=circle.cohort))
    elif change == "suggested_muted_member":
        MemberBlock.objects.create(blocker=b, blocked=a, kind="mute")
    else:
        MemberBlock.objects.create(blocker=a, blocked=b, kind="mute")
    page = client.get(reverse("care:nudge")).content.decode()
    assert b.display_name not in page and "No suggestion right now" in page


@pytest.mark.django_db
def test_opted_out_members_get_nothing_and_are_still_suggested_to_others() -> None:
    circle = make_circle(2)
    a, b = circle.members
    a.care_nudges = False
    a.save()
    assert send_weekly_nudges(now=NOW) == 1
    assert [m.to for m in mail.outbox] == [[b.email]]
    assert not NudgeSent.objects.filter(member=a).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["block", "mute"])
@pytest.mark.parametrize("direction", ["a_blocks_b", "b_blocks_a"])
def test_blocks_and_mutes_both_ways_are_never_suggested(kind: str, direction: str) -> None:
    circle = make_circle(3)
    a, b, c = circle.members
    blocker, blocked = (a, b) if direction == "a_blocks_b" else (b, a)
    MemberBlock.objects.create(blocker=blocker, blocked=blocked, kind=kind)
    for week in range(8):  # whatever the week's rotation, never the blocked pair
        now = NOW + timedelta(weeks=week)
        assert choose(a, now).other == c  # type: ignore[union-attr]
        assert choose(b, now).other == c  # type: ignore[union-attr]


@pytest.mark.django_db
def test_the_partner_someone_joined_with_is_never_suggested() -> None:
    from circlecare.enrollment.models import Pairing

    circle = make_circle(3)
    a, b, c = circle.members
    pairing = Pairing.objects.create(cohort=circle.cohort)
    Enrollment.objects.filter(cohort=circle.cohort, member__in=[a, b]).update(pairing=pairing)
    for week in range(8):  # whatever the week's rotation, never one's own partner
        now = NOW + timedelta(weeks=week)
        assert choose(a, now).other == c  # type: ignore[union-attr]
        assert choose(b, now).other == c  # type: ignore[union-attr]
    assert choose(c, NOW).other in {a, b}  # type: ignore[union-attr]


@pytest.mark.django_db
def test_fourteen_day_rule() -> None:
    circle = make_circle(2)
    a, b = circle.members
    recent = connect(a, b, circle.cohort, days_ago=13)
    assert choose(a, NOW) is None and choose(b, NOW) is None
    CareMatch.objects.filter(pk=recent.pk).update(created_at=NOW - timedelta(days=14))
    assert choose(a, NOW).other == b  # type: ignore[union-attr]
    # A match finished recently counts as a connection even if it began long ago.
    CareMatch.objects.filter(pk=recent.pk).update(
        status=MatchStatus.DONE,
        giver_done_at=NOW,
        receiver_done_at=NOW,
        done_at=NOW - timedelta(days=3),
    )
    assert choose(a, NOW) is None


@pytest.mark.django_db
def test_called_off_matches_are_not_a_connection_and_never_connected_come_first() -> None:
    circle = make_circle(3)
    a, b, c = circle.members
    connect(a, b, circle.cohort, days_ago=2, status=MatchStatus.CANCELLED)
    connect(a, c, circle.cohort, days_ago=30)
    assert choose(a, NOW).other == b  # type: ignore[union-attr]


@pytest.mark.django_db
def test_only_care_boards_and_only_fellow_members() -> None:
    skills = make_circle(2, kind=ProgramKind.SKILLS)
    lone = make_circle(1)
    assert send_weekly_nudges(now=NOW) == 0
    assert mail.outbox == []
    assert choose(lone.members[0], NOW) is None
    assert choose(skills.members[0], NOW) is None


@pytest.mark.django_db
def test_exactly_once_per_iso_week_when_the_sweep_runs_twice() -> None:
    make_circle(3)
    assert send_weekly_nudges(now=NOW) == 3
    assert send_weekly_nudges(now=NOW + timedelta(days=6, hours=8)) == 0  # Sunday, same week
    assert len(mail.outbox) == 3
    assert send_weekly_nudges(now=NOW + timedelta(days=7)) == 3
    assert len(mail.outbox) == 6
    assert NudgeSent.objects.count() == 6


def test_iso_week_and_next_run() -> None:
    assert iso_week(datetime(2026, 12, 31, 23, 0, tzinfo=UTC)) == "2026-W53"
    assert iso_week(datetime(2027, 1, 4, tzinfo=UTC)) == "2027-W01"
    # Monday 10:00 in Sydney is still Sunday in UTC: the week is Sydney's.
    sydney_monday = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
    assert iso_week(sydney_monday) == "2026-W47"
    assert iso_week(sydney_monday, ZoneInfo("Australia/Sydney")) == "2026-W48"
    # The run comes round every whole hour.
    assert next_run_after(NOW) == NOW + timedelta(hours=1)
    assert next_run_after(NOW - timedelta(minutes=1)) == NOW
    assert next_run_after(NOW + timedelta(minutes=59, seconds=59)) == NOW + timedelta(hours=1)
    assert SEND_HOUR == 10


def hourly_sweeps(start: datetime, end: datetime) -> dict[str, list[datetime]]:
    """Run the hourly sweep at every whole hour from ``start`` to ``end`` (a few seconds past
    each, as the worker does); for each address, the hours at which it was sent a nudge."""
    sent: dict[str, list[datetime]] = {}
    hour = start
    while hour < end:
        before = len(mail.outbox)
        send_due_nudges(now=hour + timedelta(seconds=3))
        for message in mail.outbox[before:]:
            sent.setdefault(message.to[0], []).append(hour)
        hour += timedelta(hours=1)
    return sent


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


#: Each zone's Monday 10:00 in the two weeks from Friday 20 November 2026, in UTC.
MONDAY_MORNINGS = {
    "America/New_York": [utc(2026, 11, 23, 15), utc(2026, 11, 30, 15)],
    "Pacific/Honolulu": [utc(2026, 11, 23, 20), utc(2026, 11, 30, 20)],
    # Sydney's Monday morning is Sunday evening in UTC.
    "Australia/Sydney": [utc(2026, 11, 22, 23), utc(2026, 11, 29, 23)],
    "Europe/London": [utc(2026, 11, 23, 10), utc(2026, 11, 30, 10)],
}


@pytest.mark.django_db
def test_each_member_gets_one_nudge_a_week_in_their_own_monday_morning_hour() -> None:
    circle = make_circle(2 * len(MONDAY_MORNINGS))
    by_zone = {}
    for i, zone in enumerate(MONDAY_MORNINGS):
        pair = circle.members[2 * i : 2 * i + 2]
        for member in pair:
            member.time_zone = zone
            member.save(update_fields=["time_zone"])
        by_zone[zone] = pair

    sent = hourly_sweeps(utc(2026, 11, 20), utc(2026, 12, 5))

    for zone, mornings in MONDAY_MORNINGS.items():
        for member in by_zone[zone]:
            assert sent.get(member.email) == mornings, zone
            for hour in mornings:
                local = hour.astimezone(ZoneInfo(zone))
                assert (local.weekday(), local.hour) == (0, SEND_HOUR)
    sydney = by_zone["Australia/Sydney"][0]
    assert sorted(NudgeSent.objects.filter(member=sydney).values_list("week", flat=True)) == [
        "2026-W48",
        "2026-W49",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("zone", sorted(MONDAY_MORNINGS))
def test_the_hourly_sweep_sends_nothing_outside_monday_from_ten_until_eight(zone: str) -> None:
    circle = make_circle(2)
    for member in circle.members:
        member.time_zone = zone
        member.save(update_fields=["time_zone"])
    monday_ten = MONDAY_MORNINGS[zone][0]
    for other in (
        monday_ten - timedelta(hours=1),  # Monday 09:00
        monday_ten - timedelta(days=1),  # Sunday 10:00
        monday_ten + timedelta(days=1),  # Tuesday 10:00
        monday_ten + timedelta(hours=10),  # Monday 20:00
        monday_ten + timedelta(hours=12),  # Monday 22:00
    ):
        assert send_due_nudges(now=other) == 0, other.astimezone(ZoneInfo(zone))
    assert mail.outbox == []
    # A worker that was down at 10:00 still reaches them that afternoon, once.
    assert send_due_nudges(now=monday_ten + timedelta(hours=5, minutes=30)) == 2
    assert send_due_nudges(now=monday_ten + timedelta(hours=6)) == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("zone", "start", "mornings"),
    [
        # Sydney's clocks go forward on Sunday 4 October 2026: both Mondays fall in the same
        # UTC week, yet they are two weeks for the member.
        ("Australia/Sydney", utc(2026, 9, 26), [utc(2026, 9, 28, 0), utc(2026, 10, 4, 23)]),
        # London's go back on Sunday 25 October, New York's on Sunday 1 November.
        ("Europe/London", utc(2026, 10, 17), [utc(2026, 10, 19, 9), utc(2026, 10, 26, 10)]),
        ("America/New_York", utc(2026, 10, 24), [utc(2026, 10, 26, 14), utc(2026, 11, 2, 15)]),
    ],
)
def test_a_change_of_clocks_neither_skips_nor_doubles_a_week(
    zone: str, start: datetime, mornings: list[datetime]
) -> None:
    circle = make_circle(2)
    for member in circle.members:
        member.time_zone = zone
        member.save(update_fields=["time_zone"])
    sent = hourly_sweeps(start, start + timedelta(days=11))
    for member in circle.members:
        assert sent.get(member.email) == mornings


@pytest.mark.django_db
def test_members_without_a_known_zone_follow_the_practice_zone(settings: Any) -> None:
    settings.TIME_ZONE = "Europe/London"
    circle = make_circle(2)
    a, b = circle.members
    User = type(a)
    User.objects.filter(pk=a.pk).update(time_zone="")
    User.objects.filter(pk=b.pk).update(time_zone="Not/AZone")
    assert send_due_nudges(now=MONDAY_MORNINGS["Australia/Sydney"][0]) == 0  # Sunday in London
    assert send_due_nudges(now=MONDAY_MORNINGS["Europe/London"][0]) == 2


@pytest.mark.django_db
def test_sending_now_reaches_everyone_due_and_the_hourly_sweep_does_not_repeat_it() -> None:
    """``care_nudges --now`` on Monday 15:00 UTC: Tuesday 02:00 in Sydney, where this week's
    nudge is due; 05:00 in Honolulu, where it is not due yet."""
    circle = make_circle(2)
    sydney, honolulu = circle.members
    for member, zone in ((sydney, "Australia/Sydney"), (honolulu, "Pacific/Honolulu")):
        member.time_zone = zone
        member.save(update_fields=["time_zone"])
    assert send_weekly_nudges(now=NOW) == 1
    assert [m.to for m in mail.outbox] == [[sydney.email]]
    assert NudgeSent.objects.get(member=sydney).week == "2026-W48"
    # The hourly run then sends Honolulu's at their 10:00, and never Sydney's again that week.
    sent = hourly_sweeps(NOW, utc(2026, 11, 29, 12))
    assert sent == {honolulu.email: [MONDAY_MORNINGS["Pacific/Honolulu"][0]]}
    assert send_weekly_nudges(now=utc(2026, 11, 25, 12)) == 0


@pytest.mark.django_db(transaction=True)
def test_the_hourly_task_twice_in_a_row_sends_once_and_queues_one_next_run(
    run_worker: Callable[[], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    from django_tasks_db.models import DBTaskResult

    clock = [NOW + timedelta(seconds=2)]
    monkeypatch.setattr(timezone, "now", lambda: clock[0])
    make_circle(2)  # in New York, where NOW is Monday 10:00
    weekly_care_nudges.enqueue()
    weekly_care_nudges.enqueue()
    run_worker()
    assert len(mail.outbox) == 2
    assert NudgeSent.objects.count() == 2
    waiting = DBTaskResult.objects.filter(status="READY", task_path=weekly_care_nudges.module_path)
    assert waiting.count() == 1
    assert waiting.get().run_after == NOW + timedelta(hours=1)
    assert schedule_next() is False

    # Hour after hour the chain keeps exactly one run waiting, and sends nothing more.
    for hours in range(1, 4):
        clock[0] = NOW + timedelta(hours=hours, seconds=1)
        run_worker()
        assert waiting.count() == 1
        assert waiting.get().run_after == NOW + timedelta(hours=hours + 1)
    assert len(mail.outbox) == 2
    assert DBTaskResult.objects.filter(status="SUCCESSFUL").count() == 5


@pytest.mark.django_db
def test_a_run_queued_for_later_does_not_hold_up_the_hourly_chain() -> None:
    """The weekly run of earlier releases, waiting for next Monday, must not leave the hours
    before it without a run; the next hour's run, once queued, is the only one added."""
    from django_tasks_db.models import DBTaskResult

    weekly_care_nudges.using(run_after=NOW + timedelta(days=7)).enqueue()
    assert schedule_next(now=NOW) is True
    assert schedule_next(now=NOW) is False
    assert schedule_next(now=NOW + timedelta(minutes=30)) is False
    runs = DBTaskResult.objects.filter(status="READY").order_by("run_after")
    assert [r.run_after for r in runs] == [NOW + timedelta(hours=1), NOW + timedelta(days=7)]


@pytest.mark.django_db
def test_the_command_sends_due_nudges_now_and_queues_the_chain_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from io import StringIO

    from django_tasks_db.models import DBTaskResult

    wednesday = utc(2026, 11, 25, 3, 20)  # Tuesday evening in New York: this week's is due
    monkeypatch.setattr(timezone, "now", lambda: wednesday)
    make_circle(2)
    out = StringIO()
    call_command("care_nudges", "--now", stdout=out)
    assert "Sent 2 nudge(s)" in out.getvalue()
    assert len(mail.outbox) == 2
    call_command("care_nudges", "--now", stdout=out)
    assert len(mail.outbox) == 2
    call_command("care_nudges", "--schedule", stdout=out)
    call_command("care_nudges", "--schedule", stdout=out)
    assert "already queued" in out.getvalue()
    [run] = DBTaskResult.objects.filter(status="READY")
    assert run.run_after == utc(2026, 11, 25, 4)


@requires_postgres()
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_send_each_nudge_exactly_once() -> None:
    circles = [make_circle(4) for _ in range(3)]
    members = [m for c in circles for m in c.members]
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def sweep() -> None:
        try:
            barrier.wait()
            send_weekly_nudges(now=NOW)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(m.to[0] for m in mail.outbox) == sorted(m.email for m in members)
    assert NudgeSent.objects.count() == len(members)


@pytest.mark.django_db
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    blocks=st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 4), st.sampled_from(["block", "mute"])),
        max_size=6,
    ),
    matches=st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(0, 40)), max_size=6
    ),
)
def test_a_suggestion_is_never_blocked_muted_or_recently_connected(
    blocks: list[tuple[int, int, str]], matches: list[tuple[int, int, int]]
) -> None:
    with transaction.atomic():
        circle = make_circle(5)
        people = circle.members
        for a, b, kind in blocks:
            if a != b:
                MemberBlock.objects.get_or_create(
                    blocker=people[a], blocked=people[b], defaults={"kind": kind}
                )
        for a, b, days in matches:
            if a != b:
                connect(people[a], people[b], circle.cohort, days_ago=days)
        for me in people:
            suggestion = choose(me, NOW)
            if suggestion is None:
                continue
            other = suggestion.other
            assert other != me and other in people
            assert not MemberBlock.objects.filter(
                Q(blocker=me, blocked=other) | Q(blocker=other, blocked=me)
            ).exists()
            recent = CareMatch.objects.filter(
                Q(giver=me, receiver=other) | Q(giver=other, receiver=me),
                created_at__gt=NOW - timedelta(days=14),
            ).exclude(status=MatchStatus.CANCELLED)
            assert not recent.exists()
        transaction.set_rollback(True)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "noun", "said", "board_setting"),
    [
        (ProgramKind.CARE_CIRCLE, "care circle", "care circle", False),
        (ProgramKind.THERAPY, "therapy group", "group", True),
        (ProgramKind.SKILLS, "skills group", "group", True),
    ],
)
def test_the_nudge_calls_the_group_what_it_is(
    kind: str, noun: str, said: str, board_setting: bool
) -> None:
    """The e-mail calls a circle a circle and any other group a group: it never says that the
    member is in therapy (an e-mail can be read over a shoulder). The page names the kind."""
    group = make_circle(2, kind=kind)
    if board_setting:
        CareBoardSetting.objects.create(cohort=group.cohort, enabled=True)
    a = group.members[0]
    assert send_weekly_nudges(now=NOW) == 2
    message = next(m for m in mail.outbox if m.to == [a.email])
    assert f"there's someone in your {said} you haven't connected with" in message.body
    assert ("circle" in message.body.replace("circlecare", "")) == (noun == "care circle")
    assert "therapy" not in message.body.lower() and "skills" not in message.body.lower()
    assert group.cohort.program.title not in message.body

    client = Client()
    client.force_login(a)
    page = client.get(reverse("care:nudge")).content.decode()
    content = page[page.index('<div class="container-narrow">') :]
    assert f"connected in your {noun}, {group.cohort.program.title}." in content
    assert ("circle" in content.lower().replace("circlecare", "")) == (noun == "care circle")
