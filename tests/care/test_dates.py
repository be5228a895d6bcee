"""Dates on the care board carry their year when it is not this year where the viewer is."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from unittest import mock

import pytest
from django.test import Client
from django.urls import reverse

from circlecare.care.models import CarePost, CareReport
from tests.care.factories import CarePostFactory, make_circle

pytestmark = pytest.mark.django_db

#: 3 am UTC on New Year's Day: still 31 December (9 pm) in Chicago, already 1 January (4 am) in
#: Berlin.
NEW_YEAR = datetime(2027, 1, 1, 3, 0, tzinfo=UTC)


@pytest.fixture
def at_new_year() -> Iterator[None]:
    with mock.patch("django.utils.timezone.now", return_value=NEW_YEAR):
        yield


def page_for(user: object, zone: str, url: str) -> str:
    user.time_zone = zone  # type: ignore[attr-defined]
    user.save()  # type: ignore[attr-defined]
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_a_post_from_earlier_this_year_where_the_viewer_is_has_no_year() -> None:
    circle = make_circle(2)
    post = CarePostFactory(cohort=circle.cohort, author=circle.members[0], title="Soup")
    # 30 December 2026, 6 pm UTC: noon in Chicago, 7 pm in Berlin.
    CarePost.objects.filter(pk=post.pk).update(created_at=datetime(2026, 12, 30, 18, 0, tzinfo=UTC))
    reader = circle.members[1]
    board = reverse("care:board", args=[circle.cohort.pk])
    detail = reverse("care:post", args=[post.pk])
    with mock.patch("django.utils.timezone.now", return_value=NEW_YEAR):
        chicago_board = page_for(reader, "America/Chicago", board)
        chicago_post = page_for(reader, "America/Chicago", detail)
        berlin_board = page_for(reader, "Europe/Berlin", board)
        berlin_post = page_for(reader, "Europe/Berlin", detail)
    # In Chicago it is still 2026: the post is from this year.
    assert "30 Dec, 12:00 pm CST" in chicago_board and "2026" not in chicago_board
    assert "30 December, 12:00 pm CST" in chicago_post
    # In Berlin it is 2027 already: the post is from last year and says so.
    assert "30 Dec 2026, 7:00 pm CET" in berlin_board
    assert "30 December 2026, 7:00 pm CET" in berlin_post


def test_a_date_for_the_plan_says_its_year_when_it_is_another_year(at_new_year: None) -> None:
    circle = make_circle(1)
    this_year = CarePostFactory(
        cohort=circle.cohort, author=circle.members[0], when_date=date(2027, 3, 5)
    )
    next_year = CarePostFactory(
        cohort=circle.cohort, author=circle.members[0], when_date=date(2028, 1, 7)
    )
    member = circle.members[0]
    board = page_for(member, "Europe/Berlin", reverse("care:board", args=[circle.cohort.pk]))
    assert "Fri 5 Mar" in board and "Fri 5 Mar 2027" not in board
    assert "Fri 7 Jan 2028" in board
    detail = page_for(member, "Europe/Berlin", reverse("care:post", args=[next_year.pk]))
    assert "Friday 7 January 2028" in detail
    detail = page_for(member, "Europe/Berlin", reverse("care:post", args=[this_year.pk]))
    assert "Friday 5 March" in detail and "Friday 5 March 2027" not in detail


def test_report_dates_on_the_overview_say_their_year_when_it_is_another_year(
    at_new_year: None,
) -> None:
    circle = make_circle(2)
    post = CarePostFactory(cohort=circle.cohort, author=circle.members[0])
    report = CareReport.objects.create(post=post, reporter=circle.members[1], reason="Odd")
    CareReport.objects.filter(pk=report.pk).update(
        created_at=datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    )
    url = reverse("care:facilitate", args=[circle.cohort.pk])
    assert "on 2 Nov: Odd" in page_for(circle.lead, "America/Chicago", url)
    assert "on 2 Nov 2026: Odd" in page_for(circle.lead, "Europe/Berlin", url)
