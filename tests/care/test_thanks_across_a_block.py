"""Thanks never cross a block: the blocked person is not told of the blocker's words, nor the
blocker of theirs, whichever of the two gave the help and whenever the block came."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from circlecare.care import services
from circlecare.care.models import BlockKind, CareMatch, PostKind
from circlecare.errors import InvalidTransition
from tests.care.factories import CarePostFactory, make_circle

pytestmark = pytest.mark.django_db


def logged_in(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def _done(circle: Any, asker: Any, helper: Any, title: str) -> CareMatch:
    post = CarePostFactory(cohort=circle.cohort, author=asker, kind=PostKind.REQUEST, title=title)
    match = services.respond(post=post, actor=helper)
    services.mark_done(match=match, actor=helper)
    return services.mark_done(match=match, actor=asker)


@pytest.mark.parametrize("blocker", ["helper", "asker"])
def test_thanks_are_not_sent_across_a_block(blocker: str) -> None:
    circle = make_circle(2)
    asker, helper = circle.members
    match = _done(circle, asker, helper, "A lift to the clinic")
    who, other = (helper, asker) if blocker == "helper" else (asker, helper)
    services.set_block(blocked=other, kind=BlockKind.BLOCK, cohort=circle.cohort, actor=who)
    with pytest.raises(InvalidTransition):
        services.send_thanks(match=match, text="You made Tuesday easier.", actor=asker)
    match.refresh_from_db()
    assert (match.thanks, match.thanked_at) == ("", None)
    page = logged_in(helper).get(reverse("care:mutuality")).content.decode()
    assert "You made Tuesday easier." not in page


def test_the_blocked_person_is_not_told_why_even_when_they_had_muted_the_blocker() -> None:
    circle = make_circle(2)
    asker, helper = circle.members
    match = _done(circle, asker, helper, "A lift to the clinic")
    services.set_block(blocked=helper, kind=BlockKind.MUTE, cohort=circle.cohort, actor=asker)
    services.set_block(blocked=asker, kind=BlockKind.BLOCK, cohort=circle.cohort, actor=helper)
    with pytest.raises(InvalidTransition) as caught:
        services.send_thanks(match=match, text="You made Tuesday easier.", actor=asker)
    assert "blocked" not in caught.value.message
    assert caught.value.message == "Thanks can't be sent for this."


def test_a_muted_helper_is_still_thanked() -> None:
    """A mute leaves what was agreed, and done, in place."""
    circle = make_circle(2)
    asker, helper = circle.members
    match = _done(circle, asker, helper, "A lift to the clinic")
    services.set_block(blocked=helper, kind=BlockKind.MUTE, cohort=circle.cohort, actor=asker)
    services.send_thanks(match=match, text="You made Tuesday easier.", actor=asker)
    page = logged_in(helper).get(reverse("care:mutuality")).content.decode()
    assert "You made Tuesday easier." in page


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("blocker", ["helper", "asker"])
def test_thanks_sent_before_a_block_are_no_longer_shown_or_told(
    blocker: str, run_worker: Any
) -> None:
    """Thanks sent just before a block, whose e-mail had not gone out yet, are not e-mailed;
    and the helper's page no longer shows them, as the board no longer shows the other's posts."""
    circle = make_circle(2)
    asker, helper = circle.members
    match = _done(circle, asker, helper, "A lift to the clinic")
    run_worker()
    mail.outbox.clear()
    services.send_thanks(match=match, text="You made Tuesday easier.", actor=asker)
    who, other = (helper, asker) if blocker == "helper" else (asker, helper)
    services.set_block(blocked=other, kind=BlockKind.BLOCK, cohort=circle.cohort, actor=who)
    run_worker()
    assert mail.outbox == []
    page = logged_in(helper).get(reverse("care:mutuality")).content.decode()
    assert "You made Tuesday easier." not in page
    assert asker.display_name not in page


@pytest.mark.parametrize("kind", [PostKind.OFFER, PostKind.REQUEST])
@pytest.mark.parametrize("blocker", ["author", "responder"])
def test_the_post_page_no_longer_shows_the_author_someone_blocked_either_way(
    kind: str, blocker: str
) -> None:
    """The author's own post page drops the name and words of a responder blocked either way,
    as the board and the thanks page do; the group's facilitator still sees what happened."""
    circle = make_circle(2)
    author, responder = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=author, kind=kind, title="A walk")
    match = services.respond(post=post, actor=responder)
    asker = author if kind == PostKind.REQUEST else responder
    services.mark_done(match=match, actor=author)
    services.mark_done(match=match, actor=responder)
    services.send_thanks(match=match, text="You made Tuesday easier.", actor=asker)
    url = reverse("care:post", kwargs={"post_id": post.pk})
    before = logged_in(author).get(url).content.decode()
    assert responder.display_name in before and "You made Tuesday easier." in before

    who, other = (author, responder) if blocker == "author" else (responder, author)
    services.set_block(blocked=other, kind=BlockKind.BLOCK, cohort=circle.cohort, actor=who)
    page = logged_in(author).get(url).content.decode()
    assert responder.display_name not in page
    assert "You made Tuesday easier." not in page
    lead_page = logged_in(circle.lead).get(url).content.decode()
    assert "You made Tuesday easier." in lead_page


def test_the_post_page_still_shows_a_muted_responder_to_the_author() -> None:
    circle = make_circle(2)
    author, responder = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=author, kind=PostKind.OFFER, title="A walk")
    match = services.respond(post=post, actor=responder)
    services.mark_done(match=match, actor=author)
    services.mark_done(match=match, actor=responder)
    services.send_thanks(match=match, text="You made Tuesday easier.", actor=responder)
    services.set_block(blocked=responder, kind=BlockKind.MUTE, cohort=circle.cohort, actor=author)
    page = logged_in(author).get(reverse("care:post", kwargs={"post_id": post.pk})).content.decode()
    assert "You made Tuesday easier." in page
