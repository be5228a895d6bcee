"""Words of distress in what a member writes between meetings bring the crisis resources first."""

from __future__ import annotations

import html
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from circlecare.distress import PHRASES, sounds_in_crisis
from tests.care.factories import make_circle
from tests.enrollment.factories import ready_member
from tests.factories import CohortFactory

pytestmark = pytest.mark.django_db

SUPPORT = "What you wrote sounds as though things may be very hard right now."
LINES = 'class="crisis-box"'


@pytest.mark.parametrize(
    "text",
    [
        "Some days I want to kill myself",
        "I can’t go on like this",
        "i have been SELF-HARMING again",
        "thinking about ending my\nlife",
        "I wish I were dead",
        "they would be better off without me.",
    ],
)
def test_words_of_distress_are_heard_however_they_are_typed(text: str) -> None:
    assert sounds_in_crisis("", text)


@pytest.mark.parametrize(
    "text",
    ["A walk on Saturday?", "The skill myself and others practised", "killings", "cutting board"],
)
def test_ordinary_words_are_not_taken_for_distress(text: str) -> None:
    assert not sounds_in_crisis(text)


def test_every_phrase_is_heard_on_its_own() -> None:
    assert all(sounds_in_crisis(f"Today: {phrase}.") for phrase in PHRASES)


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_private_journal_entry_brings_support_and_says_nobody_was_told() -> None:
    circle = make_circle(1)
    client = _client(circle.members[0])
    sent = client.post(reverse("care:journal"), {"body": "I want to die."}, follow=True)
    page = html.unescape(sent.content.decode())
    assert SUPPORT in page and LINES in page
    assert (
        "Your journal is private: nobody else reads this entry, and nobody has been told." in page
    )
    calm = client.post(reverse("care:journal"), {"body": "A good week."}, follow=True)
    assert SUPPORT not in calm.content.decode() and LINES not in calm.content.decode()


def test_a_shared_entry_says_when_the_facilitators_may_read_it() -> None:
    from circlecare.care.models import Reflection

    circle = make_circle(1)
    client = _client(circle.members[0])
    client.post(reverse("care:journal"), {"cohort": circle.cohort.pk, "body": "A hard week."})
    entry = Reflection.objects.get()
    url = reverse("care:journal_entry", args=[entry.pk])
    edited = client.post(url, {"body": "I keep thinking of suicide.", "share": "on"}, follow=True)
    page = html.unescape(edited.content.decode())
    assert (
        SUPPORT in page
        and LINES in page
        and "when they next look, which may not be for some days" in page
    )


def test_a_board_post_brings_support_and_says_the_board_is_not_crisis_support() -> None:
    circle = make_circle(2)
    client = _client(circle.members[0])
    data = {
        "kind": "request",
        "support": "conversation",
        "title": "Someone to talk to",
        "details": "Lately I don't want to be here anymore.",
    }
    sent = client.post(reverse("care:board", args=[circle.cohort.pk]), data, follow=True)
    page = html.unescape(sent.content.decode())
    assert "Your post is on the board." in page
    assert SUPPORT in page and LINES in page and "Members answer posts when they can" in page


def test_a_goodbye_brings_support() -> None:
    from circlecare.enrollment import services
    from tests.enrollment.factories import only_enrollment_steps

    with only_enrollment_steps():
        _say_goodbye(services)


def _say_goodbye(services: Any) -> None:
    cohort = CohortFactory()
    leaving = services.enroll(member=ready_member(), cohort=cohort)
    client = _client(leaving.member)
    url = reverse("enrollment:withdraw", args=[leaving.pk])
    sent = client.post(url, {"goodbye": "Thank you all. I can't go on."}, follow=True)
    page = html.unescape(sent.content.decode())
    assert "You've left the group." in page
    assert SUPPORT in page and LINES in page and "nobody is told of it straight away" in page
