"""Races on PostgreSQL: parallel responses and parallel posts by one member."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable

import pytest
from django.db import connections

from circlecare.care import services
from circlecare.care.errors import CannotRespond
from circlecare.care.models import CareMatch, CarePost
from circlecare.errors import RateLimited
from tests.care.factories import CarePostFactory, make_circle
from tests.conftest import requires_postgres

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
