"""Stored XSS in care posts, thanks, journal entries and display names is rendered inert."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from circlecare.care import services
from tests.care.factories import CarePostFactory, ReflectionFactory, make_circle

pytestmark = pytest.mark.django_db

PAYLOADS = [
    "<script>alert('x')</script>",
    '<img src=x onerror="alert(1)">',
    '"><svg onload=alert(1)>',
    '<a href="javascript:alert(1)">click</a>',
]


def logged_in(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def assert_inert(html: str) -> None:
    for raw in ("<script>alert", "<img src=x", "<svg onload", 'href="javascript:'):
        assert raw not in html
    assert "&lt;script&gt;" in html or "&lt;img" in html or "&lt;svg" in html or "&lt;a" in html


@pytest.mark.parametrize("payload", PAYLOADS)
def test_post_fields_and_thanks_are_escaped(payload: str) -> None:
    circle = make_circle(2)
    asker, helper = circle.members
    asker.display_name = payload[:40]
    asker.save()
    client = logged_in(asker)
    client.post(
        reverse("care:board", args=[circle.cohort.pk]),
        {
            "kind": "request",
            "support": "other",
            "title": payload[:120],
            "details": payload,
            "when_text": payload[:120],
            "where": payload[:120],
        },
    )
    post = circle.cohort.care_posts.get()
    match = services.respond(post=post, actor=helper)
    services.mark_done(match=match, actor=helper)
    services.mark_done(match=match, actor=asker)
    services.send_thanks(match=match, text=payload, actor=asker)
    services.report_post(post=post, reason=payload, actor=helper)

    pages = [
        logged_in(helper).get(reverse("care:board", args=[circle.cohort.pk])),
        logged_in(helper).get(reverse("care:post", args=[post.pk])),
        logged_in(circle.lead).get(reverse("care:facilitate", args=[circle.cohort.pk])),
        logged_in(asker).get(reverse("care:post", args=[post.pk])),
    ]
    for page in pages:
        assert page.status_code == 200
        assert_inert(page.content.decode())


@pytest.mark.parametrize("payload", PAYLOADS)
def test_journal_entries_are_escaped_everywhere(payload: str) -> None:
    circle = make_circle(1)
    member = circle.members[0]
    entry = ReflectionFactory(
        member=member, cohort=circle.cohort, body=payload, shared_with_facilitator=True
    )
    pages = [
        logged_in(member).get(reverse("care:journal")),
        logged_in(member).get(reverse("care:journal_entry", args=[entry.pk])),
        logged_in(member).get(reverse("care:journal_export")),
        logged_in(circle.lead).get(
            reverse("care:shared_reflection", args=[circle.cohort.pk, entry.pk])
        ),
    ]
    for page in pages:
        assert page.status_code == 200
        assert_inert(page.content.decode())


def test_adapted_week_text_is_escaped() -> None:
    circle = make_circle(1)
    logged_in(circle.lead).post(
        reverse("care:adapt_week", args=[circle.cohort.pk, 1]),
        {"topic": "<script>alert(1)</script>", "practice": PAYLOADS[1]},
    )
    page = logged_in(circle.members[0]).get(reverse("care:programme", args=[circle.cohort.pk]))
    assert_inert(page.content.decode())


def test_htmx_partial_is_escaped() -> None:
    circle = make_circle(2)
    asker, helper = circle.members
    helper.display_name = "<script>alert(1)</script>"
    helper.save()
    post = CarePostFactory(cohort=circle.cohort, author=asker)
    match = services.respond(post=post, actor=helper)
    response = logged_in(asker).post(
        reverse("care:match_done", args=[match.pk]), HTTP_HX_REQUEST="true"
    )
    assert_inert(response.content.decode())
