"""Mutuality: each member privately sees care flow both ways; facilitators see the circle's flow."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from circlecare.care.models import MatchStatus, PostKind
from circlecare.care.queries import circle_flow, member_flow
from circlecare.enrollment.models import Enrollment
from circlecare.enrollment.services import withdraw
from tests.care.factories import CarePostFactory, make_circle, make_match
from tests.factories import EnrollmentFactory

pytestmark = pytest.mark.django_db


def done(**extra: object) -> dict[str, object]:
    now = timezone.now()
    return {
        "status": MatchStatus.DONE,
        "giver_done_at": now,
        "receiver_done_at": now,
        "done_at": extra.pop("done_at", now),
        **extra,
    }


def logged_in(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_member_sees_offered_and_received_counts() -> None:
    circle = make_circle(4)
    me, a, b, c = circle.members
    # Three times I helped (two requests I answered, one offer of mine taken up).
    make_match(CarePostFactory(cohort=circle.cohort, author=a), me, **done())
    make_match(CarePostFactory(cohort=circle.cohort, author=b), me, **done())
    make_match(CarePostFactory(cohort=circle.cohort, author=me, kind=PostKind.OFFER), c, **done())
    # Twice I was helped.
    make_match(CarePostFactory(cohort=circle.cohort, author=me), a, **done())
    make_match(CarePostFactory(cohort=circle.cohort, author=b, kind=PostKind.OFFER), me, **done())
    # Not counted yet: one agreed, one called off.
    make_match(CarePostFactory(cohort=circle.cohort, author=c), me)
    make_match(CarePostFactory(cohort=circle.cohort, author=a), me, status=MatchStatus.CANCELLED)
    flow = member_flow(me)
    assert (flow.gave, flow.received, flow.in_progress) == (3, 2, 1)
    page = logged_in(me).get(reverse("care:mutuality")).content.decode()
    assert "You've offered care 3 times and received it twice." in page
    assert "1 still in progress." in page
    # Never a leaderboard: no other member's name on the page.
    for other in (a, b, c):
        assert other.display_name not in page


def test_flow_over_time_is_month_by_month() -> None:
    circle = make_circle(2)
    me, other = circle.members
    long_ago = timezone.now() - timedelta(days=70)
    make_match(CarePostFactory(cohort=circle.cohort, author=other), me, **done(done_at=long_ago))
    make_match(CarePostFactory(cohort=circle.cohort, author=me), other, **done())
    flow = member_flow(me)
    assert [(m.gave, m.received) for m in flow.months] == [(0, 1), (1, 0)]


def test_others_see_only_their_own_flow() -> None:
    circle = make_circle(3)
    a, b, c = circle.members
    make_match(CarePostFactory(cohort=circle.cohort, author=a), b, **done())
    page = logged_in(c).get(reverse("care:mutuality")).content.decode()
    assert "No care has been marked as done yet." in page


def test_facilitator_sees_circle_flow_and_unconnected_alphabetically() -> None:
    circle = make_circle(0)
    from tests.factories import EnrollmentFactory, UserFactory

    names = ["zoe", "Adam", "maya", "Ben", "Lee"]
    people = {
        n: EnrollmentFactory(cohort=circle.cohort, member=UserFactory(display_name=n)).member
        for n in names
    }
    CarePostFactory(cohort=circle.cohort, author=people["Lee"], kind=PostKind.OFFER)
    request = CarePostFactory(cohort=circle.cohort, author=people["maya"])
    make_match(request, people["Ben"], **done())
    make_match(CarePostFactory(cohort=circle.cohort, author=people["Ben"]), people["Lee"])
    flow = circle_flow(circle.cohort)
    assert (flow.offers, flow.requests, flow.matches_done, flow.matches_open) == (1, 2, 1, 1)
    assert [m.display_name for m in flow.not_connected] == ["Adam", "zoe"]
    page = logged_in(circle.lead).get(reverse("care:facilitate", args=[circle.cohort.pk]))
    body = page.content.decode()
    assert body.index("<li>Adam</li>") < body.index("<li>zoe</li>")
    assert "2 of 5 members" in body


def test_overview_query_count_does_not_grow_with_the_circle(
    django_assert_max_num_queries: object,
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import EnrollmentFactory, UserFactory

    circle = make_circle(2)
    a, b = circle.members
    make_match(CarePostFactory(cohort=circle.cohort, author=a), b, **done())
    client = logged_in(circle.lead)
    url = reverse("care:facilitate", args=[circle.cohort.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    for _ in range(15):
        m = EnrollmentFactory(cohort=circle.cohort, member=UserFactory()).member
        make_match(CarePostFactory(cohort=circle.cohort, author=m), a, **done())
    with django_assert_max_num_queries(len(small.captured_queries)):  # type: ignore[operator]
        response = client.get(url)
    assert "Matches done</dt><dd>16" in response.content.decode()


def test_thanks_received_show_on_the_givers_flow_page_only() -> None:
    circle = make_circle(3)
    asker, helper, bystander = circle.members
    make_match(
        CarePostFactory(cohort=circle.cohort, author=asker, title="Lift to the clinic"),
        helper,
        **done(thanks="You made Tuesday easier.", thanked_at=timezone.now()),
    )
    page = logged_in(helper).get(reverse("care:mutuality")).content.decode()
    assert "You made Tuesday easier." in page and "Lift to the clinic" in page
    for user in (asker, bystander):
        assert (
            "You made Tuesday easier."
            not in logged_in(user).get(reverse("care:mutuality")).content.decode()
        )


def test_home_lists_care_in_progress() -> None:
    circle = make_circle(2)
    asker, helper = circle.members
    make_match(CarePostFactory(cohort=circle.cohort, author=asker, title="Chat on Friday"), helper)
    page = logged_in(helper).get(reverse("care:home")).content.decode()
    assert "Chat on Friday" in page and "you're helping" in page
    page = logged_in(asker).get(reverse("care:home")).content.decode()
    assert "is helping you" in page


def test_home_lists_only_care_whose_post_the_member_can_still_open() -> None:
    circle = make_circle(3)
    asker, helper, other = circle.members
    left = CarePostFactory(cohort=circle.cohort, author=asker, title="Soup on Sunday")
    make_match(left, helper)
    hidden = CarePostFactory(
        cohort=circle.cohort,
        author=other,
        title="A ride to town",
        hidden_at=timezone.now(),
        hidden_reason="Off topic",
    )
    make_match(hidden, helper)
    kept = CarePostFactory(cohort=circle.cohort, author=other, title="A call on Friday")
    make_match(kept, asker)
    withdraw(enrollment=Enrollment.objects.get(member=helper, cohort=circle.cohort))

    helper_client = logged_in(helper)
    page = helper_client.get(reverse("care:home")).content.decode()
    # The posts are out of the helper's reach now: no link leads to a missing page.
    assert "Soup on Sunday" not in page and "A ride to town" not in page
    assert helper_client.get(reverse("care:post", args=[left.pk])).status_code == 404

    # The helper's leaving called off what they had agreed; the asker's other care stands.
    page = logged_in(asker).get(reverse("care:home")).content.decode()
    assert "Soup on Sunday" not in page and "A call on Friday" in page


def test_care_in_progress_is_counted_as_the_care_page_lists_it() -> None:
    """The flow page's "still in progress" counts what the care page lists as in progress: not
    what was agreed on a board its lead has since turned off, which nobody can open."""
    from circlecare.care.services import set_board_enabled
    from circlecare.programs.models import ProgramKind

    group = make_circle(2, kind=ProgramKind.SKILLS)
    set_board_enabled(cohort=group.cohort, enabled=True, actor=group.lead)
    me, other = group.members
    circle = make_circle(0)
    for member in (me, other):
        EnrollmentFactory(member=member, cohort=circle.cohort, status="confirmed")
    for cohort in (group.cohort, circle.cohort):
        make_match(CarePostFactory(cohort=cohort, author=other, title=f"Walk {cohort.pk}"), me)
    set_board_enabled(cohort=group.cohort, enabled=False, actor=group.lead)
    home = logged_in(me).get(reverse("care:home")).content.decode()
    assert f"Walk {circle.cohort.pk}" in home and f"Walk {group.cohort.pk}" not in home
    assert member_flow(me).in_progress == 1
    page = logged_in(me).get(reverse("care:mutuality")).content.decode()
    assert "1 still in progress." in page
