"""Every care route against every role (SECURITY.md Z1): a new route must be added here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, reverse

from circlecare.care import urls as care_urls
from circlecare.care.models import CareReport
from tests.care.factories import CarePostFactory, ReflectionFactory, make_circle, make_match
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# Allowed-to-act roles come last, so a state change by one of them cannot mask a refusal.
ROLES = [
    "anonymous",
    "other_member",
    "other_lead",
    "coordinator",
    "facilitator",
    "member",
    "author",
]

ALL = dict.fromkeys(ROLES[1:], 200)
NONE = dict.fromkeys(ROLES[1:], 404)


def only(**allowed: int) -> dict[str, int]:
    return {**NONE, **allowed}


W = dict[str, Any]
Route = tuple[str, Callable[[W], list[int]], dict[str, int]]

MATRIX: dict[str, Route] = {
    "home": ("get", lambda w: [], ALL),
    "mutuality": ("get", lambda w: [], ALL),
    "nudge": ("get", lambda w: [], ALL),
    "journal": ("get", lambda w: [], ALL),
    "journal_export": ("get", lambda w: [], ALL),
    "journal_export_json": ("get", lambda w: [], ALL),
    "programme": ("get", lambda w: [w["cohort"].pk], only(facilitator=200, member=200, author=200)),
    "adapt_week": ("get", lambda w: [w["cohort"].pk, 1], only(facilitator=200)),
    "board": ("get", lambda w: [w["cohort"].pk], only(facilitator=200, member=200, author=200)),
    "facilitate": ("get", lambda w: [w["cohort"].pk], only(facilitator=200)),
    "shared_reflection": (
        "get",
        lambda w: [w["cohort"].pk, w["shared"].pk],
        only(facilitator=200),
    ),
    "block": ("post", lambda w: [w["cohort"].pk, w["author"].pk], only(member=302, author=302)),
    # Nothing to undo: those on the board hear it's already undone (the same for any person).
    "unblock": (
        "post",
        lambda w: [w["cohort"].pk, w["author"].pk],
        only(facilitator=302, member=302, author=302),
    ),
    "post": ("get", lambda w: [w["post"].pk], only(facilitator=200, member=200, author=200)),
    "respond": ("post", lambda w: [w["post"].pk], only(facilitator=302, member=302, author=302)),
    "close_post": ("post", lambda w: [w["post"].pk], only(author=302)),
    "hide_post": ("get", lambda w: [w["post"].pk], only(facilitator=200)),
    "unhide_post": ("post", lambda w: [w["post"].pk], only(facilitator=302)),
    # The member has already reported it and the author cannot: both are sent back to the post.
    "report_post": ("get", lambda w: [w["post"].pk], only(member=302, author=302)),
    "resolve_report": ("post", lambda w: [w["report"].pk], only(facilitator=302)),
    "match_done": ("post", lambda w: [w["match"].pk], only(member=302, author=302)),
    "match_cancel": ("post", lambda w: [w["match"].pk], only(member=302, author=302)),
    # No words of thanks: the post's page again, with the error by the box.
    "match_thanks": ("post", lambda w: [w["match"].pk], only(member=400, author=400)),
    "journal_entry": ("get", lambda w: [w["private"].pk], only(author=200)),
    "journal_delete": ("post", lambda w: [w["private"].pk], only(author=302)),
}


def world() -> W:
    circle = make_circle(2)
    other = make_circle(1)
    author, member = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=author)
    return {
        "cohort": circle.cohort,
        "author": author,
        "post": post,
        "match": make_match(post, member),
        "report": CareReport.objects.create(post=post, reporter=member, reason="Worrying"),
        "private": ReflectionFactory(member=author, cohort=circle.cohort),
        "shared": ReflectionFactory(
            member=author, cohort=circle.cohort, shared_with_facilitator=True
        ),
        "users": {
            "anonymous": None,
            "other_member": other.members[0],
            "other_lead": other.lead,
            "coordinator": UserFactory(is_staff=True, is_superuser=True),
            "facilitator": circle.lead,
            "member": member,
            "author": author,
        },
    }


def test_every_route_is_in_the_matrix() -> None:
    names = {p.name for p in care_urls.urlpatterns if isinstance(p, URLPattern)}
    assert names == set(MATRIX)


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_route_answers_each_role_as_expected(name: str) -> None:
    method, args, expected = MATRIX[name]
    w = world()
    url = reverse(f"care:{name}", args=args(w))
    seen = {}
    for role in ROLES:
        client = Client()
        user = w["users"][role]
        if user is not None:
            client.force_login(user)
        response = client.post(url) if method == "post" else client.get(url)
        seen[role] = response.status_code
        if role == "anonymous":
            assert response.status_code == 302
            assert response["Location"].startswith("/accounts/login/")
        elif response.status_code == 404:
            assert b"Walk" not in response.content and b"Today I noticed" not in response.content
    assert {r: s for r, s in seen.items() if r != "anonymous"} == expected
