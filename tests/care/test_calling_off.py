"""What two members agreed is called off when one blocks the other or leaves the group."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from circlecare.care import services
from circlecare.care.models import CallOff, CareMatch, CarePost, MatchStatus, PostKind, PostStatus
from circlecare.enrollment.models import Enrollment
from circlecare.enrollment.services import advance_cohorts, cancel_cohort, remove, withdraw
from tests.care.factories import CarePostFactory, make_circle, make_match
from tests.factories import EnrollmentFactory, UserFactory

pytestmark = pytest.mark.django_db


def logged_in(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def match_card(page: str) -> str:
    """The match card on a post page, with the ids that differ between two worlds taken out."""
    found = re.search(r'<li class="card care-match".*?</li>', page, re.S)
    assert found is not None
    return re.sub(r"\d+", "#", found.group(0))


def test_blocking_calls_off_what_the_two_agreed_either_way_round_in_any_group() -> None:
    circle = make_circle(3)
    blocker, blocked, bystander = circle.members
    elsewhere = make_circle(0)
    for person in (blocker, blocked):
        EnrollmentFactory(cohort=elsewhere.cohort, member=person)
    theirs = CarePostFactory(cohort=circle.cohort, author=blocked, kind=PostKind.REQUEST)
    mine = CarePostFactory(cohort=elsewhere.cohort, author=blocker, kind=PostKind.OFFER)
    helping_them = make_match(theirs, blocker)
    they_take_mine = make_match(mine, blocked)
    with_bystander = make_match(theirs, bystander)
    done = make_match(CarePostFactory(cohort=circle.cohort, author=blocker), blocked)
    services.mark_done(match=done, actor=blocker)
    services.mark_done(match=done, actor=blocked)

    response = logged_in(blocker).post(
        reverse("care:block", args=[circle.cohort.pk, blocked.pk]), {"kind": "block"}, follow=True
    )
    assert "anything you&#x27;d agreed together is called off" in response.content.decode()

    for match in (helping_them, they_take_mine):
        match.refresh_from_db()
        assert match.status == MatchStatus.CANCELLED and match.cancelled_at is not None
    with_bystander.refresh_from_db()
    done.refresh_from_db()
    assert with_bystander.status == MatchStatus.AGREED
    assert done.status == MatchStatus.DONE


def test_muting_leaves_what_the_two_agreed_in_place() -> None:
    circle = make_circle(2)
    muter, muted = circle.members
    match = make_match(CarePostFactory(cohort=circle.cohort, author=muted), muter)
    services.set_block(blocked=muted, kind="mute", cohort=circle.cohort, actor=muter)
    match.refresh_from_db()
    assert match.status == MatchStatus.AGREED


def test_the_blocked_person_sees_an_ordinary_call_off() -> None:
    """Their post's page shows the match exactly as when the other person calls it off."""
    pages = []
    for way in ("called off", "blocked"):
        circle = make_circle(2)
        author, helper = circle.members
        post = CarePostFactory(cohort=circle.cohort, author=author, title="A walk")
        match = make_match(post, helper)
        client = logged_in(author)
        assert "Mark as done" in client.get(reverse("care:post", args=[post.pk])).content.decode()
        if way == "called off":
            services.cancel_match(match=match, actor=helper)
        else:
            services.set_block(blocked=author, kind="block", cohort=circle.cohort, actor=helper)
        page = client.get(reverse("care:post", args=[post.pk])).content.decode()
        assert "Called off" in page and "Mark as done" not in page
        home = client.get(reverse("care:home")).content.decode()
        assert "In progress" not in home
        refused = client.post(reverse("care:match_done", args=[match.pk]), follow=True)
        assert "This was called off" in refused.content.decode()
        pages.append(match_card(page))
    assert pages[0] == pages[1]


def test_the_blocker_sees_the_match_called_off_on_their_own_post() -> None:
    circle = make_circle(2)
    blocker, blocked = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=blocker, kind=PostKind.OFFER)
    match = make_match(post, blocked)
    client = logged_in(blocker)
    client.post(reverse("care:block", args=[circle.cohort.pk, blocked.pk]), {"kind": "block"})
    page = client.get(reverse("care:post", args=[post.pk])).content.decode()
    assert "Called off" in match_card(page) and "Mark as done" not in page
    # The blocked person no longer sees the blocker's post, and cannot act on the match.
    other = logged_in(blocked)
    assert other.get(reverse("care:post", args=[post.pk])).status_code == 404
    other.post(reverse("care:match_done", args=[match.pk]))
    match.refresh_from_db()
    assert match.status == MatchStatus.CANCELLED and match.receiver_done_at is None
    assert CareMatch.objects.filter(status=MatchStatus.AGREED).count() == 0


def seat(member: object, cohort: object) -> Enrollment:
    return Enrollment.objects.get(member=member, cohort=cohort, status="confirmed")


@pytest.mark.parametrize("how", ["withdrew", "removed"])
def test_leaving_calls_off_what_was_agreed_there_and_closes_open_posts(how: str) -> None:
    circle = make_circle(2)
    leaver, stayer = circle.members
    elsewhere = make_circle(0)
    for person in (leaver, stayer):
        EnrollmentFactory(cohort=elsewhere.cohort, member=person)
    their_request = CarePostFactory(cohort=circle.cohort, author=leaver, title="Their request")
    my_offer = CarePostFactory(
        cohort=circle.cohort, author=stayer, kind=PostKind.OFFER, title="My offer"
    )
    still_open = CarePostFactory(cohort=circle.cohort, author=leaver, title="Nobody yet")
    helping_them = make_match(their_request, stayer)
    they_take_mine = make_match(my_offer, leaver)
    in_other_group = make_match(CarePostFactory(cohort=elsewhere.cohort, author=leaver), stayer)

    if how == "withdrew":
        withdraw(enrollment=seat(leaver, circle.cohort), goodbye="Too much going on at home")
    else:
        remove(enrollment=seat(leaver, circle.cohort), actor=circle.lead, reason="Unkind messages")

    for match in (helping_them, they_take_mine):
        match.refresh_from_db()
        assert (match.status, match.cancel_reason, match.cancelled_by) == (
            MatchStatus.CANCELLED,
            CallOff.LEFT_GROUP,
            leaver,
        )
    in_other_group.refresh_from_db()
    assert in_other_group.status == MatchStatus.AGREED
    for post in (their_request, still_open):
        post.refresh_from_db()
        assert post.status == PostStatus.CLOSED
    assert CarePost.objects.get(pk=my_offer.pk).status == PostStatus.OPEN

    client = logged_in(stayer)
    for post in (their_request, my_offer):
        page = client.get(reverse("care:post", args=[post.pk])).content.decode()
        card = match_card(page)
        assert "Called off because Member A left the group." in card
        assert "Mark as done" not in card
        for secret in ("Too much going on", "Unkind messages", "removed", "withdr"):
            assert secret not in page
    board = client.get(reverse("care:board", args=[circle.cohort.pk])).content.decode()
    assert "No longer open" in board
    facilitator = logged_in(circle.lead).get(reverse("care:post", args=[my_offer.pk]))
    assert "Called off because Member A left the group." in facilitator.content.decode()


def test_the_leave_page_says_what_leaving_ends_on_the_care_board() -> None:
    circle = make_circle(2)
    leaver, stayer = circle.members
    url = reverse("enrollment:withdraw", args=[seat(leaver, circle.cohort).pk])
    quiet = logged_in(leaver).get(url).content.decode()
    assert 'data-testid="care-left-behind"' not in quiet

    their_request = CarePostFactory(cohort=circle.cohort, author=leaver)
    CarePostFactory(cohort=circle.cohort, author=leaver)
    make_match(their_request, stayer)
    make_match(CarePostFactory(cohort=circle.cohort, author=stayer, kind=PostKind.OFFER), leaver)
    make_match(CarePostFactory(cohort=circle.cohort, author=stayer), leaver, status="cancelled")
    page = logged_in(leaver).get(url).content.decode()
    assert (
        "the 2 things you've agreed and not yet done will be called off (the other person sees "
        "only that you left the group), and your 2 open posts will close."
    ) in page
    # Nothing changed by looking.
    assert CareMatch.objects.filter(status=MatchStatus.AGREED).count() == 2


def test_a_cancelled_group_calls_off_what_was_agreed_in_it() -> None:
    circle = make_circle(2)
    asker, helper = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=asker)
    match = make_match(post, helper)
    cancel_cohort(cohort=circle.cohort, actor=UserFactory(is_staff=True))
    match.refresh_from_db()
    assert (match.status, match.cancel_reason, match.cancelled_by) == (
        MatchStatus.CANCELLED,
        CallOff.GROUP_ENDED,
        None,
    )


def test_a_finished_group_calls_off_what_was_never_done() -> None:
    from tests.meetings.factories import meeting_at

    now = timezone.now()
    circle = make_circle(2)
    asker, helper = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=asker)
    agreed = make_match(post, helper)
    done = make_match(CarePostFactory(cohort=circle.cohort, author=helper), asker)
    services.mark_done(match=done, actor=asker)
    services.mark_done(match=done, actor=helper)
    last = meeting_at(circle.cohort, now - timedelta(days=1), number=1)
    assert advance_cohorts(now=last.ends_at + timedelta(minutes=1)) >= 1
    agreed.refresh_from_db()
    done.refresh_from_db()
    assert (agreed.status, agreed.cancel_reason) == (MatchStatus.CANCELLED, CallOff.GROUP_ENDED)
    assert done.status == MatchStatus.DONE
    page = logged_in(circle.lead).get(reverse("care:post", args=[post.pk])).content.decode()
    assert "Called off when the group ended." in match_card(page)


def test_a_waiting_list_place_ending_changes_nothing_on_the_board() -> None:
    circle = make_circle(2)
    member, other = circle.members
    match = make_match(CarePostFactory(cohort=circle.cohort, author=other), member)
    waiting = EnrollmentFactory(
        cohort=make_circle(0).cohort, member=member, status="waitlisted", confirmed_at=None
    )
    withdraw(enrollment=waiting)
    match.refresh_from_db()
    assert match.status == MatchStatus.AGREED


def test_calling_off_asks_first_and_says_the_other_person_will_be_told() -> None:
    """Without JavaScript too: the button that calls it off waits inside a disclosure that says
    what happens, and is described by that sentence for screen readers."""
    circle = make_circle(2)
    author, helper = circle.members
    match = make_match(CarePostFactory(cohort=circle.cohort, author=author), helper)
    page = logged_in(helper).get(reverse("care:post", args=[match.post_id])).content.decode()
    found = re.search(
        rf'<details class="care-call-off" data-testid="call-off-{match.pk}">(.*?)</details>',
        page,
        re.S,
    )
    assert found is not None
    disclosure = found.group(1)
    assert "<summary" in disclosure and "Call it off…" in disclosure
    note = f'<p id="call-off-what-{match.pk}">If you call it off, Member A will be told it\'s off.'
    assert note in disclosure
    assert f'aria-describedby="call-off-what-{match.pk}">Yes, call it off' in disclosure
    assert disclosure.count("<button") == 1
    # The only way to call it off on the page is inside the disclosure.
    assert page.count(reverse("care:match_cancel", args=[match.pk])) == 2  # action, hx-post
    assert page.count(reverse("care:match_cancel", args=[match.pk])) == disclosure.count(
        reverse("care:match_cancel", args=[match.pk])
    )


def test_what_a_muter_agreed_stays_within_reach() -> None:
    """Muting the author of a post one took up leaves the match in place: it stays on the care
    page and its post still opens for the two of them to see it through, though the board no
    longer shows it."""
    circle = make_circle(2)
    muter, muted = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=muted, title="A walk by the river")
    client = logged_in(muter)
    client.post(reverse("care:respond", args=[post.pk]))
    match = CareMatch.objects.get()
    client.post(reverse("care:block", args=[circle.cohort.pk, muted.pk]), {"kind": "mute"})
    board = client.get(reverse("care:board", args=[circle.cohort.pk])).content.decode()
    assert "A walk by the river" not in board
    home = client.get(reverse("care:home")).content.decode()
    assert "In progress" in home and "A walk by the river" in home
    page = client.get(reverse("care:post", args=[post.pk]))
    assert page.status_code == 200 and "Mark as done" in page.content.decode()
    done = client.post(reverse("care:match_done", args=[match.pk]), follow=True)
    assert done.status_code == 200
    match.refresh_from_db()
    assert match.done_by(muter)
    # Once called off, the muted person's post is gone for the muter like the rest.
    services.cancel_match(match=match, actor=muted)
    assert client.get(reverse("care:post", args=[post.pk])).status_code == 404
