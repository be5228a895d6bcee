"""A match from response to thanks, and every transition that must be refused."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse

from circlecare.care import services
from circlecare.care.errors import CannotRespond
from circlecare.care.models import CareMatch, CareReport, MatchStatus, PostKind
from circlecare.errors import InvalidTransition
from tests.care.factories import CarePostFactory, make_circle, make_match

pytestmark = pytest.mark.django_db


def logged_in(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_full_lifecycle_through_the_pages() -> None:
    circle = make_circle(2)
    asker, helper = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=asker, kind=PostKind.REQUEST)

    response = logged_in(helper).post(reverse("care:respond", args=[post.pk]))
    assert response.status_code == 302
    match = CareMatch.objects.get()
    assert (match.giver, match.receiver, match.status) == (helper, asker, MatchStatus.AGREED)

    logged_in(helper).post(reverse("care:match_done", args=[match.pk]))
    match.refresh_from_db()
    assert match.status == MatchStatus.AGREED and match.giver_done_at is not None

    # Thanks before both have marked it done is refused with a message.
    page = logged_in(asker).post(
        reverse("care:match_thanks", args=[match.pk]), {"text": "Thank you!"}, follow=True
    )
    assert "once you&#x27;ve both marked this as done" in page.content.decode()
    match.refresh_from_db()
    assert match.thanked_at is None

    logged_in(asker).post(reverse("care:match_done", args=[match.pk]))
    match.refresh_from_db()
    assert match.status == MatchStatus.DONE and match.done_at is not None

    page = logged_in(asker).post(
        reverse("care:match_thanks", args=[match.pk]),
        {"text": "Thank you for the walk!"},
        follow=True,
    )
    assert "Your thanks was sent." in page.content.decode()
    match.refresh_from_db()
    assert match.thanks == "Thank you for the walk!"
    helper_view = logged_in(helper).get(reverse("care:post", args=[post.pk])).content.decode()
    assert "Thank you for the walk!" in helper_view


def test_blank_thanks_asks_for_a_few_words() -> None:
    """The refusal shows above the match, away from the text box: it says what is missing."""
    circle = make_circle(2)
    asker, helper = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=asker, kind=PostKind.REQUEST)
    match = make_match(post, helper)
    services.mark_done(match=match, actor=helper)
    services.mark_done(match=match, actor=asker)
    url = reverse("care:match_thanks", args=[match.pk])
    for text in ("", "   \n  "):
        page = logged_in(asker).post(url, {"text": text}, follow=True).content.decode()
        assert "Please write a few words of thanks." in page
        assert "This field is required." not in page
        card = logged_in(asker).post(url, {"text": text}, HTTP_HX_REQUEST="true").content.decode()
        assert "Please write a few words of thanks." in card
    match.refresh_from_db()
    assert match.thanked_at is None


def test_htmx_actions_swap_the_match_card() -> None:
    circle = make_circle(2)
    asker, helper = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=asker)
    match = make_match(post, helper)
    response = logged_in(helper).post(
        reverse("care:match_done", args=[match.pk]), HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<li class="card care-match" id="match-{match.pk}"')
    assert "It counts once you&#x27;ve both marked it." in body
    again = logged_in(helper).post(
        reverse("care:match_done", args=[match.pk]), HTTP_HX_REQUEST="true"
    )
    assert "You&#x27;ve already marked this as done." in again.content.decode()


def test_an_offer_flows_from_its_author() -> None:
    circle = make_circle(2)
    offerer, taker = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=offerer, kind=PostKind.OFFER)
    match = services.respond(post=post, actor=taker)
    assert (match.giver, match.receiver) == (offerer, taker)


@pytest.mark.parametrize(
    "case",
    ["own post", "twice", "closed", "hidden", "not a member", "facilitator"],
)
def test_responding_is_refused(case: str) -> None:
    circle = make_circle(2)
    author, other = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=author)
    actor = other
    if case == "own post":
        actor = author
    elif case == "twice":
        services.respond(post=post, actor=other)
    elif case == "closed":
        services.close_post(post=post, actor=author)
    elif case == "hidden":
        services.hide_post(post=post, reason="off topic", actor=circle.lead)
    elif case == "not a member":
        actor = make_circle(1).members[0]
    elif case == "facilitator":
        actor = circle.lead
    before = CareMatch.objects.count()
    with pytest.raises(CannotRespond):
        services.respond(post=post, actor=actor)
    assert CareMatch.objects.count() == before


def test_refused_response_shows_a_message_not_an_error_page() -> None:
    circle = make_circle(2)
    author, other = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=author)
    client = logged_in(other)
    client.post(reverse("care:respond", args=[post.pk]))
    page = client.post(reverse("care:respond", args=[post.pk]), follow=True)
    assert page.status_code == 200
    assert "You&#x27;ve already responded to this post." in page.content.decode()
    assert CareMatch.objects.count() == 1


def test_invalid_transitions() -> None:
    circle = make_circle(2)
    asker, helper = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=asker)
    match = services.respond(post=post, actor=helper)

    with pytest.raises(InvalidTransition, match="once you've both"):
        services.send_thanks(match=match, text="thanks", actor=asker)
    services.mark_done(match=match, actor=helper)
    with pytest.raises(InvalidTransition, match="already marked"):
        services.mark_done(match=match, actor=helper)
    services.mark_done(match=match, actor=asker)
    with pytest.raises(InvalidTransition, match="already done"):
        services.cancel_match(match=match, actor=asker)
    with pytest.raises(InvalidTransition, match="person who was helped"):
        services.send_thanks(match=match, text="thanks to me", actor=helper)
    with pytest.raises(InvalidTransition, match="few words"):
        services.send_thanks(match=match, text="   ", actor=asker)
    services.send_thanks(match=match, text="Thank you", actor=asker)
    with pytest.raises(InvalidTransition, match="already sent thanks"):
        services.send_thanks(match=match, text="Thanks again", actor=asker)
    match.refresh_from_db()
    assert match.thanks == "Thank you"


def test_cancelled_match_cannot_be_done_and_frees_a_new_response() -> None:
    circle = make_circle(2)
    asker, helper = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=asker)
    match = services.respond(post=post, actor=helper)
    services.cancel_match(match=match, actor=asker)
    with pytest.raises(InvalidTransition, match="called off"):
        services.mark_done(match=match, actor=helper)
    again = services.respond(post=post, actor=helper)
    assert again.pk != match.pk


def test_only_the_two_people_can_act_on_a_match() -> None:
    circle = make_circle(3)
    asker, helper, stranger = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=asker)
    match = make_match(post, helper)
    for user in (stranger, circle.lead):
        client = logged_in(user)
        assert client.post(reverse("care:match_done", args=[match.pk])).status_code == 404
        assert client.post(reverse("care:match_cancel", args=[match.pk])).status_code == 404
    match.refresh_from_db()
    assert match.status == MatchStatus.AGREED and match.giver_done_at is None


def test_get_on_an_action_is_refused() -> None:
    circle = make_circle(2)
    post = CarePostFactory(cohort=circle.cohort, author=circle.members[0])
    response = logged_in(circle.members[1]).get(reverse("care:respond", args=[post.pk]))
    assert response.status_code == 405
    assert not CareMatch.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_author_hears_by_email_that_someone_responded_unless_they_turned_it_off(
    run_worker: Any, settings: Any
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    circle = make_circle(3)
    author, helper, other = circle.members
    post = CarePostFactory(
        cohort=circle.cohort, author=author, kind=PostKind.REQUEST, title="A phone call tonight"
    )
    services.respond(post=post, actor=helper)
    run_worker()
    [sent] = mail.outbox
    assert sent.to == [author.email]
    assert f"/care/posts/{post.pk}/" in sent.body
    # Only that someone responded: not what the post said, nor who.
    assert "phone call" not in (sent.subject + sent.body).lower()
    assert helper.display_name not in sent.body

    author.care_replies = False
    author.save()
    services.respond(post=post, actor=other)
    run_worker()
    assert len(mail.outbox) == 1


def done(post: Any, helper: Any) -> CareMatch:
    """A match both people have marked done."""
    match = services.respond(post=post, actor=helper)
    services.mark_done(match=match, actor=helper)
    return services.mark_done(match=match, actor=post.author)


@pytest.mark.django_db(transaction=True)
def test_the_helper_hears_by_email_that_they_were_thanked_unless_they_turned_it_off(
    run_worker: Any,
) -> None:
    circle = make_circle(3)
    asker, helper, other = circle.members
    post = CarePostFactory(
        cohort=circle.cohort, author=asker, kind=PostKind.REQUEST, title="A phone call tonight"
    )
    match = done(post, helper)
    run_worker()  # the author's "someone responded"
    mail.outbox.clear()
    logged_in(asker).post(
        reverse("care:match_thanks", args=[match.pk]), {"text": "You got me through the night"}
    )
    run_worker()
    [sent] = mail.outbox
    assert sent.to == [helper.email]
    assert sent.subject == "circlecare: someone thanked you"
    page = settings.SITE_URL + reverse("care:mutuality")
    assert page in sent.body
    # Only that they were thanked: not the words, the post, or who.
    for private in ("got me through", "phone call", asker.display_name):
        assert private not in sent.subject + sent.body
    assert (
        "You got me through the night"
        in logged_in(helper).get(page.removeprefix(settings.SITE_URL)).content.decode()
    )

    helper.care_replies = False
    helper.save()
    second = done(
        CarePostFactory(cohort=circle.cohort, author=other, kind=PostKind.REQUEST), helper
    )
    services.send_thanks(match=second, text="Thanks", actor=other)
    run_worker()
    assert [m.to for m in mail.outbox] == [[helper.email], [other.email]]  # not the thanks again


def test_each_match_button_names_the_other_person() -> None:
    # The author of an offer two people took up has a row of buttons per match: a screen
    # reader listing the buttons must hear whose match each one acts on.
    circle = make_circle(3)
    author, first, second = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=author, kind=PostKind.OFFER)
    make_match(post, first)
    make_match(post, second)
    page = logged_in(author).get(reverse("care:post", args=[post.pk])).content.decode()
    hidden = '<span class="visually-hidden">'
    for person in (first, second):
        assert f"Mark as done{hidden} with {person.display_name}</span></button>" in page
        assert f"Call it off…{hidden} with {person.display_name}</span></summary>" in page
        assert f"Yes, call it off{hidden} with {person.display_name}</span></button>" in page
    page = logged_in(first).get(reverse("care:post", args=[post.pk])).content.decode()
    assert f"Mark as done{hidden} with {author.display_name}</span></button>" in page


@pytest.mark.parametrize("action", ["respond", "report_post"])
def test_acting_on_a_post_hidden_while_the_page_was_open_says_so(action: str) -> None:
    circle = make_circle(2)
    author, member = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=author)
    client = logged_in(member)
    assert client.get(reverse("care:post", args=[post.pk])).status_code == 200
    services.hide_post(post=post, reason="Not for the board", actor=circle.lead)

    response = client.post(reverse(f"care:{action}", args=[post.pk]), {"reason": "Worried"})
    assert response.status_code == 302
    assert response["Location"] == reverse("care:board", args=[circle.cohort.pk])
    page = client.get(response["Location"]).content.decode()
    assert "This post is no longer on the board, so nothing was changed." in page
    assert not CareMatch.objects.exists() and not CareReport.objects.exists()

    # Someone who cannot see the board still learns nothing about the post.
    outsider = logged_in(make_circle(1).members[0])
    assert outsider.post(reverse(f"care:{action}", args=[post.pk])).status_code == 404


@pytest.mark.parametrize("action", ["match_done", "match_cancel"])
def test_acting_on_a_match_whose_post_was_hidden_meanwhile_lands_on_the_care_page(
    action: str,
) -> None:
    """Hiding the post called the plan off; what follows is the member's care page, saying so,
    not the post they can no longer open."""
    circle = make_circle(2)
    author, helper = circle.members
    match = make_match(CarePostFactory(cohort=circle.cohort, author=author), helper)
    services.hide_post(post=match.post, reason="Not for the board", actor=circle.lead)
    client = logged_in(helper)
    response = client.post(reverse(f"care:{action}", args=[match.pk]), follow=True)
    assert response.status_code == 200
    assert response.redirect_chain == [(reverse("care:home"), 302)]
    page = html.unescape(response.content.decode())
    assert "called off" in page
    # The author still sees their own (hidden) post, and why the plan on it was called off.
    after_author = logged_in(author).post(reverse("care:match_done", args=[match.pk]))
    assert after_author["Location"] == reverse("care:post", args=[match.post_id])
    own = logged_in(author).get(after_author["Location"]).content.decode()
    assert "Called off when the facilitators took the post off the board." in own


def test_responding_points_to_the_next_meeting_only_while_there_is_one() -> None:
    """There is no group chat outside the meetings, and after the last meeting no next one:
    the thank-you for responding says where to talk only while a meeting is to come."""
    from datetime import timedelta

    from django.utils import timezone

    ahead = make_circle(2)
    past_day = timezone.localdate() - timedelta(days=2)
    over = make_circle(2, weeks=1, first_meeting_date=past_day, weekday=past_day.weekday())
    for circle, said in (
        (ahead, "Talk together at your next meeting to arrange the details"),
        (over, "Arrange the details together, then both mark it done."),
    ):
        asker, helper = circle.members
        post = CarePostFactory(cohort=circle.cohort, author=asker, kind=PostKind.REQUEST)
        url = reverse("care:respond", args=[post.pk])
        page = html.unescape(logged_in(helper).post(url, follow=True).content.decode())
        assert said in page
        assert "group's chat" not in page
    assert CareMatch.objects.count() == 2


def test_a_response_is_told_to_the_two_people_as_you_and_in_its_tense() -> None:
    """The helper reads "You are helping Ana", the one helped "Ben is helping you", and once it
    is done, "helped"; nobody reads their own name as if about someone else."""
    circle = make_circle(2)
    asker, helper = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=asker, kind=PostKind.REQUEST)
    match = make_match(post, helper)
    url = reverse("care:post", args=[post.pk])

    def card(user: object) -> str:
        page = html.unescape(logged_in(user).get(url).content.decode())
        start = page.index(f'id="match-{match.pk}"')
        return " ".join(re.sub(r"<[^>]+>", " ", page[start : start + 600]).split())

    assert f"You are helping {asker.display_name}" in card(helper)
    assert f"{helper.display_name} is helping you" in card(asker)
    services.mark_done(match=match, actor=helper)
    services.mark_done(match=match, actor=asker)
    assert f"You helped {asker.display_name}" in card(helper)
    assert f"{helper.display_name} helped you" in card(asker)
    assert f"{helper.display_name} is helping" not in card(helper)
