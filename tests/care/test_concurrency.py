"""Races on PostgreSQL: parallel responses and posts by one member, and a response racing a
block or a member leaving."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from unittest import mock

import pytest
from django.db import connections

from circlecare.care import services
from circlecare.care.errors import CannotRespond, NotOnBoard
from circlecare.care.models import CareMatch, CarePost, MatchStatus
from circlecare.enrollment.models import Enrollment
from circlecare.enrollment.services import withdraw
from circlecare.errors import RateLimited
from tests.care.factories import CarePostFactory, make_circle
from tests.conftest import requires_postgres, someone_waits_for_a_lock

pytestmark = [
    requires_postgres(),
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def race(n: int, work: Callable[[], None]) -> tuple[int, list[BaseException]]:
    barrier = threading.Barrier(n)
    refused: list[BaseException] = []
    unexpected: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            work()
        except (CannotRespond, RateLimited) as exc:
            refused.append(exc)
        except BaseException as exc:
            unexpected.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(refused), unexpected


def test_parallel_responses_by_one_member_make_one_match() -> None:
    circle = make_circle(2)
    author, helper = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=author)
    refused, unexpected = race(8, lambda: services.respond(post=post, actor=helper) and None)
    assert unexpected == []
    assert CareMatch.objects.filter(post=post).count() == 1
    assert refused == 7


def test_parallel_posts_cannot_pass_the_daily_limit() -> None:
    circle = make_circle(1)
    member = circle.members[0]
    titles = itertools.count()  # different posts: the same post sent twice is posted once

    def post() -> None:
        draft = services.PostDraft(kind="offer", support="meal", title=f"Soup {next(titles)}")
        services.create_post(cohort=circle.cohort, draft=draft, actor=member)

    refused, unexpected = race(services.POSTS_PER_DAY + 5, post)
    assert unexpected == []
    assert CarePost.objects.filter(author=member).count() == services.POSTS_PER_DAY
    assert refused == 5


def test_the_same_post_sent_in_parallel_is_posted_once() -> None:
    circle = make_circle(1)
    member = circle.members[0]
    draft = services.PostDraft(kind="request", support="walk", title="A walk on Sunday")
    refused, unexpected = race(
        6, lambda: services.create_post(cohort=circle.cohort, draft=draft, actor=member) and None
    )
    assert unexpected == [] and refused == 0
    assert CarePost.objects.filter(author=member).count() == 1


def respond_while(other_change: Callable[[], object], post: CarePost, responder: object) -> None:
    """A response checked its rules and is about to be saved when ``other_change`` runs.

    The response is held at that point until the other change has either finished or is waiting
    for a lock the response holds; then both finish. Whichever way it goes, no agreed match may
    be left that the other change should have called off.
    """
    checked, proceed, changed = threading.Event(), threading.Event(), threading.Event()
    real = services.blocked_between
    unexpected: list[BaseException] = []

    def held_check(a_id: int, b_id: int) -> bool:
        result = real(a_id, b_id)
        checked.set()
        proceed.wait(timeout=30)
        return result

    def respond() -> None:
        try:
            services.respond(post=post, actor=responder)  # type: ignore[arg-type]
        except CannotRespond:
            pass
        except BaseException as exc:
            unexpected.append(exc)
        finally:
            connections.close_all()

    def change() -> None:
        try:
            checked.wait(timeout=30)
            other_change()
        except BaseException as exc:
            unexpected.append(exc)
        finally:
            changed.set()
            connections.close_all()

    with mock.patch.object(services, "blocked_between", held_check):
        threads = [threading.Thread(target=respond), threading.Thread(target=change)]
        for t in threads:
            t.start()
        assert checked.wait(timeout=30)
        someone_waits_for_a_lock(lambda: not changed.is_set(), timeout=30)
        proceed.set()
        for t in threads:
            t.join()
    assert unexpected == []


def test_a_block_racing_a_response_leaves_no_agreed_match_between_the_two() -> None:
    circle = make_circle(2)
    author, responder = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=author)
    respond_while(
        lambda: services.set_block(
            blocked=responder, kind="block", cohort=circle.cohort, actor=author
        ),
        post,
        responder,
    )
    assert not CareMatch.objects.filter(status=MatchStatus.AGREED).exists()


def test_leaving_while_someone_responds_leaves_no_agreed_match_with_the_leaver() -> None:
    circle = make_circle(2)
    author, responder = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=author)
    seat = Enrollment.objects.get(member=author, cohort=circle.cohort)
    respond_while(lambda: withdraw(enrollment=seat), post, responder)
    assert not CareMatch.objects.filter(status=MatchStatus.AGREED).exists()


def test_several_people_responding_to_one_request_at_once_each_make_one_match() -> None:
    """A request may be taken up by more than one person: several responding at the same moment
    each get their own agreed match, and none waits on another's lock into an error."""
    circle = make_circle(7)
    author, *helpers = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=author)
    turn = iter(helpers)
    lock = threading.Lock()

    def respond() -> None:
        with lock:
            helper = next(turn)
        services.respond(post=post, actor=helper)

    refused, unexpected = race(len(helpers), respond)
    assert unexpected == [] and refused == 0
    assert set(
        CareMatch.objects.filter(post=post, status=MatchStatus.AGREED).values_list(
            "responder_id", flat=True
        )
    ) == {h.pk for h in helpers}


@pytest.mark.parametrize("what", ["post", "reflection"])
def test_writing_while_leaving_the_group_neither_fails_nor_leaves_an_open_post(what: str) -> None:
    """A member posts, or writes in their journal for the group, as their place in it ends
    (they leave from another tab, or the practice removes them): the seat change holds the
    group's row and records the change against the member, while the new row waits on the
    group's row. Neither may fail for the other (a deadlock would be an error page), and no
    open post is left by someone gone."""
    from circlecare.enrollment import services as seats

    circle = make_circle(2)
    member = circle.members[0]
    seat = Enrollment.objects.get(member=member, cohort=circle.cohort)
    locked, proceed = threading.Event(), threading.Event()
    real_mates = seats._mates
    unexpected: list[BaseException] = []

    def held_mates(*args: object, **kwargs: object) -> object:
        locked.set()  # the group's row is held
        proceed.wait(timeout=30)
        return real_mates(*args, **kwargs)  # type: ignore[arg-type]

    def leave() -> None:
        try:
            withdraw(enrollment=seat)
        except BaseException as exc:
            unexpected.append(exc)
        finally:
            connections.close_all()

    def write() -> None:
        try:
            locked.wait(timeout=30)
            if what == "post":
                draft = services.PostDraft(kind="offer", support="meal", title="Soup on Sunday")
                services.create_post(cohort=circle.cohort, draft=draft, actor=member)
            else:
                services.write_reflection(body="A hard week.", actor=member, cohort=circle.cohort)
        except NotOnBoard:
            pass  # the seat change came first: refused as for anyone outside the group
        except BaseException as exc:
            unexpected.append(exc)
        finally:
            connections.close_all()

    with mock.patch.object(seats, "_mates", held_mates):
        threads = [threading.Thread(target=leave), threading.Thread(target=write)]
        for t in threads:
            t.start()
        assert locked.wait(timeout=30)
        someone_waits_for_a_lock(lambda: threads[1].is_alive(), timeout=30)
        proceed.set()
        for t in threads:
            t.join()
    assert unexpected == []
    assert not CarePost.objects.filter(author=member, status="open").exists()
