"""The care board: posting, limits, reports, blocking and muting, and a fixed query count."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from circlecare.care import services
from circlecare.care.errors import CannotRespond
from circlecare.care.models import CareMatch, CarePost, CareReport, MemberBlock, PostStatus
from circlecare.enrollment.models import Enrollment
from circlecare.enrollment.services import withdraw
from tests.care.factories import CarePostFactory, make_circle

pytestmark = pytest.mark.django_db


def logged_in(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def post_data(**overrides: str) -> dict[str, str]:
    return {
        "kind": "request",
        "support": "walk",
        "title": "A walk after work",
        "when_text": "Thursday evening",
        "where": "Near the station",
        **overrides,
    }


def test_member_posts_a_request() -> None:
    circle = make_circle(1)
    member = circle.members[0]
    url = reverse("care:board", args=[circle.cohort.pk])
    soon = (timezone.localdate() + timedelta(days=30)).isoformat()
    response = logged_in(member).post(url, post_data(when_date=soon), follow=True)
    assert response.status_code == 200
    post = CarePost.objects.get()
    assert (post.author, post.kind, post.support, post.where) == (
        member,
        "request",
        "walk",
        "Near the station",
    )
    assert post.when_date is not None and post.when_date.isoformat() == soon
    page = response.content.decode()
    assert "A walk after work" in page and "not crisis support" in page and "988" in page


def test_post_times_are_in_the_readers_zone_and_say_which() -> None:
    circle = make_circle(2)
    post = CarePostFactory(cohort=circle.cohort, author=circle.members[0])
    reader = circle.members[1]
    reader.time_zone = "Europe/London"
    reader.save()
    page = logged_in(reader).get(reverse("care:board", args=[circle.cohort.pk])).content.decode()
    expected = timezone.localtime(post.created_at, ZoneInfo("Europe/London"))
    stamp = f"{expected:%-d %b}, {expected:%-I:%M} {expected:%p}".replace("AM", "am")
    stamp = stamp.replace("PM", "pm")  # "7:05 pm", as times are written elsewhere
    assert stamp + " " + expected.tzname() in page  # e.g. "GMT"


def test_board_says_it_is_not_crisis_support() -> None:
    circle = make_circle(1)
    page = logged_in(circle.members[0]).get(reverse("care:board", args=[circle.cohort.pk]))
    body = page.content.decode()
    assert "The care board is not crisis support." in body
    assert 'href="tel:988"' in body
    # 988 and 911 are US numbers: a member abroad is told whom to call as well.
    assert "in an emergency, or your local emergency number outside the US." in body


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "x" * 121, "at most 120 characters"),
        ("title", "", "Please say in a few words what you"),
        ("details", "x" * 1001, "at most 1000 characters"),
        ("where", "x" * 121, "at most 120 characters"),
        ("kind", "gift", "Select a valid choice."),
        ("support", "money", "Select a valid choice."),
        ("when_date", "not a date", "Please give a date, such as 2026-12-15."),
        ("when_date", "9999-12-31", "within the next year"),
    ],
)
def test_bad_input_is_explained_and_changes_nothing(field: str, value: str, message: str) -> None:
    circle = make_circle(1)
    response = logged_in(circle.members[0]).post(
        reverse("care:board", args=[circle.cohort.pk]), post_data(**{field: value})
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not CarePost.objects.exists()


def test_facilitators_cannot_post_but_see_the_board() -> None:
    """They are told why (they can see the board, so a 404 would not be true)."""
    circle = make_circle(1)
    response = logged_in(circle.lead).post(
        reverse("care:board", args=[circle.cohort.pk]), post_data()
    )
    assert response.status_code == 403
    assert "its facilitators can read it but not post on it" in response.content.decode()
    assert not CarePost.objects.exists()
    stranger = logged_in(make_circle(1).lead).post(
        reverse("care:board", args=[circle.cohort.pk]), post_data()
    )
    assert stranger.status_code == 404


def test_an_empty_board_invites_members_to_post_but_not_the_facilitator() -> None:
    circle = make_circle(1)
    url = reverse("care:board", args=[circle.cohort.pk])
    member_page = logged_in(circle.members[0]).get(url).content.decode()
    assert "You could be the first to offer something small." in member_page
    lead_page = logged_in(circle.lead).get(url).content.decode()
    assert "You could be the first" not in lead_page
    assert "Members' offers and requests will appear here." in lead_page
    assert reverse("care:mutuality") not in lead_page.split('id="posts-heading"')[1]


def test_the_same_post_sent_twice_is_posted_once() -> None:
    circle = make_circle(1)
    client = logged_in(circle.members[0])
    url = reverse("care:board", args=[circle.cohort.pk])
    first = client.post(url, post_data())
    second = client.post(url, post_data())
    assert first.status_code == second.status_code == 302
    post = CarePost.objects.get()
    assert first["Location"] == second["Location"] == reverse("care:post", args=[post.pk])
    # A different post straight after is a new post.
    client.post(url, post_data(title="A second, different walk"))
    assert CarePost.objects.count() == 2


def test_the_same_post_made_again_after_closing_it_is_a_new_open_post() -> None:
    """Closing a post and posting the same again (say, after closing it by mistake) puts it back
    on the board, rather than answering "Your post is on the board" with the closed one."""
    circle = make_circle(1)
    client = logged_in(circle.members[0])
    url = reverse("care:board", args=[circle.cohort.pk])
    client.post(url, post_data())
    closed = CarePost.objects.get()
    client.post(reverse("care:close_post", args=[closed.pk]))
    again = client.post(url, post_data(), follow=True)
    assert "Your post is on the board." in again.content.decode()
    reopened = CarePost.objects.exclude(pk=closed.pk).get()
    assert reopened.status == PostStatus.OPEN
    assert again.redirect_chain[-1][0] == reverse("care:post", args=[reopened.pk])


def test_posting_is_rate_limited_with_a_clear_message() -> None:
    circle = make_circle(1)
    member = circle.members[0]
    client = logged_in(member)
    url = reverse("care:board", args=[circle.cohort.pk])
    for i in range(services.POSTS_PER_DAY):
        assert client.post(url, post_data(title=f"Post {i}")).status_code == 302
    response = client.post(url, post_data(title="One too many"))
    assert response.status_code == 429
    assert "You&#x27;ve shared 10 posts in the last day" in response.content.decode()
    assert CarePost.objects.count() == services.POSTS_PER_DAY

    # A day later there is room again.
    CarePost.objects.update(created_at=timezone.now() - timedelta(days=1, minutes=1))
    assert client.post(url, post_data(title="Next day")).status_code == 302


def test_report_reaches_the_facilitators_once() -> None:
    circle = make_circle(2)
    author, reporter = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=author, title="Selling things")
    url = reverse("care:report_post", args=[post.pk])
    client = logged_in(reporter)
    assert client.post(url, {"reason": ""}).status_code == 400
    assert client.post(url, {"reason": "Looks like advertising"}).status_code == 302
    again = client.post(url, {"reason": "Again"})
    assert "already reported" in again.content.decode()
    assert CareReport.objects.count() == 1
    overview = logged_in(circle.lead).get(reverse("care:facilitate", args=[circle.cohort.pk]))
    body = overview.content.decode()
    assert "Looks like advertising" in body and "Selling things" in body
    assert logged_in(author).post(url, {"reason": "mine"}).status_code in {400, 409}


@pytest.mark.parametrize("kind", ["block", "mute"])
def test_blocked_or_muted_posts_are_hidden_from_the_blocker(kind: str) -> None:
    circle = make_circle(2)
    me, them = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=them, title="Their post")
    client = logged_in(me)
    response = client.post(reverse("care:block", args=[circle.cohort.pk, them.pk]), {"kind": kind})
    assert response.status_code == 302
    assert MemberBlock.objects.get().kind == kind
    board = client.get(reverse("care:board", args=[circle.cohort.pk])).content.decode()
    assert "Their post" not in board
    assert client.get(reverse("care:post", args=[post.pk])).status_code == 404

    client.post(reverse("care:unblock", args=[circle.cohort.pk, them.pk]))
    board = client.get(reverse("care:board", args=[circle.cohort.pk])).content.decode()
    assert "Their post" in board


def test_each_undo_button_names_the_person_and_what_it_undoes() -> None:
    circle = make_circle(3)
    me, muted, blocked = circle.members
    client = logged_in(me)
    client.post(reverse("care:block", args=[circle.cohort.pk, muted.pk]), {"kind": "mute"})
    client.post(reverse("care:block", args=[circle.cohort.pk, blocked.pk]), {"kind": "block"})
    board = client.get(reverse("care:board", args=[circle.cohort.pk])).content.decode()
    hidden = '<span class="visually-hidden">'
    assert f"Undo{hidden} muting {muted.display_name}</span></button>" in board
    assert f"Undo{hidden} blocking {blocked.display_name}</span></button>" in board


def test_pressing_undo_twice_says_it_is_already_undone() -> None:
    circle = make_circle(2)
    me, other = circle.members
    client = logged_in(me)
    client.post(reverse("care:block", args=[circle.cohort.pk, other.pk]), {"kind": "mute"})
    url = reverse("care:unblock", args=[circle.cohort.pk, other.pk])
    assert client.post(url).status_code == 302
    response = client.post(url, follow=True)
    assert response.status_code == 200
    assert "already undone" in response.content.decode()
    assert not MemberBlock.objects.exists()


def test_undoing_a_block_of_an_id_past_any_column_is_already_undone() -> None:
    """A forged address (a person id no column can hold) is nobody's block: the same answer as
    a second press, not a server error (SQLite overflowed deleting by it)."""
    circle = make_circle(2)
    me, other = circle.members
    services.set_block(blocked=other, kind="mute", cohort=circle.cohort, actor=me)
    url = reverse("care:unblock", args=[circle.cohort.pk, 2**63])
    response = logged_in(me).post(url, follow=True)
    assert response.status_code == 200
    assert "already undone" in response.content.decode()
    assert MemberBlock.objects.count() == 1


def test_blocked_members_cannot_respond_to_each_others_posts() -> None:
    circle = make_circle(2)
    blocker, blocked = circle.members
    services.set_block(blocked=blocked, kind="block", cohort=circle.cohort, actor=blocker)
    theirs = CarePostFactory(cohort=circle.cohort, author=blocked)
    mine = CarePostFactory(cohort=circle.cohort, author=blocker)
    with pytest.raises(CannotRespond):
        services.respond(post=theirs, actor=blocker)
    with pytest.raises(CannotRespond):
        services.respond(post=mine, actor=blocked)
    # The blocked member does not see the blocker's posts either.
    page = logged_in(blocked).get(reverse("care:post", args=[mine.pk]))
    assert page.status_code == 404


def test_a_post_whose_author_left_the_group_is_no_longer_open() -> None:
    circle = make_circle(2)
    leaver, member = circle.members
    post = CarePostFactory(
        cohort=circle.cohort, author=leaver, kind="offer", title="I made too much soup"
    )
    withdraw(enrollment=Enrollment.objects.get(member=leaver, cohort=circle.cohort))
    client = logged_in(member)

    board = client.get(reverse("care:board", args=[circle.cohort.pk])).content.decode()
    assert "No longer open" in board
    page = client.get(reverse("care:post", args=[post.pk])).content.decode()
    assert "has left the group, so this post is no longer open" in page
    assert reverse("care:respond", args=[post.pk]) not in page
    # Nobody can block or mute someone who is no longer in the group: no buttons that can't work.
    assert reverse("care:block", args=[circle.cohort.pk, leaver.pk]) not in page

    response = client.post(reverse("care:respond", args=[post.pk]), follow=True)
    assert "has left the group, so this post is no longer open" in response.content.decode()
    assert not CareMatch.objects.exists()


def test_muting_someone_does_not_stop_them_responding() -> None:
    circle = make_circle(2)
    muter, muted = circle.members
    services.set_block(blocked=muted, kind="mute", cohort=circle.cohort, actor=muter)
    mine = CarePostFactory(cohort=circle.cohort, author=muter)
    assert services.respond(post=mine, actor=muted).giver == muted


def test_cannot_block_someone_outside_the_circle_or_a_facilitator() -> None:
    circle = make_circle(1)
    outsider = make_circle(1).members[0]
    client = logged_in(circle.members[0])
    response = client.post(
        reverse("care:block", args=[circle.cohort.pk, outsider.pk]), {"kind": "block"}
    )
    assert response.status_code == 404
    client.post(reverse("care:block", args=[circle.cohort.pk, circle.lead.pk]), {"kind": "block"})
    assert not MemberBlock.objects.exists()


def test_board_query_count_does_not_grow_with_posts(django_assert_max_num_queries: Any) -> None:
    circle = make_circle(3)
    client = logged_in(circle.members[0])
    url = reverse("care:board", args=[circle.cohort.pk])
    for i in range(3):
        CarePostFactory(cohort=circle.cohort, author=circle.members[1], title=f"P{i}")
    client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for i in range(20):
        CarePostFactory(cohort=circle.cohort, author=circle.members[i % 2 + 1], title=f"Q{i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert response.content.decode().count('class="card care-post"') == 23


def test_a_date_in_the_past_is_refused() -> None:
    circle = make_circle(1)
    response = logged_in(circle.members[0]).post(
        reverse("care:board", args=[circle.cohort.pk]), post_data(when_date="2001-01-01")
    )
    assert response.status_code == 400
    assert "Choose today or a later date." in response.content.decode()
    assert not CarePost.objects.exists()


def test_the_board_is_newest_first() -> None:
    from circlecare.care.queries import board_posts

    circle = make_circle()
    author = circle.members[0]
    now = timezone.now()
    for days, title in ((3, "oldest"), (1, "newest"), (2, "middle")):
        post = CarePostFactory(cohort=circle.cohort, author=author, title=title)
        CarePost.objects.filter(pk=post.pk).update(created_at=now - timedelta(days=days))
    assert [p.title for p in board_posts(author, circle.cohort)] == ["newest", "middle", "oldest"]


def test_blocking_from_a_post_asks_first_and_says_what_it_calls_off() -> None:
    """A block calls off what the two agreed, which undoing it does not bring back: the button
    that blocks waits behind a disclosure saying so, like calling off."""
    circle = make_circle(2)
    author, reader = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=author)
    page = logged_in(reader).get(reverse("care:post", args=[post.pk])).content.decode()
    block_url = reverse("care:block", args=[circle.cohort.pk, author.pk])
    disclosure = page[page.index(f'data-testid="block-{author.pk}"') :]
    disclosure = disclosure[: disclosure.index("</details>")]
    assert f'action="{block_url}"' in disclosure
    assert "anything you'd agreed together and not yet done is called off" in disclosure
    assert f"Yes, block {author.display_name}" in disclosure
    # Only the mute sits outside it: it calls nothing off.
    assert page.count(f'action="{block_url}"') == 2
