"""Every care route against every role (SECURITY.md Z1): a new route must be added here."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, reverse

from circlecare.care import urls as care_urls
from circlecare.care.models import CareReport
from tests.care.factories import CarePostFactory, ReflectionFactory, make_circle, make_match
from tests.factories import UserFactory
from tests.same_as_missing import compare_with_missing

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
        "other_cohort": other.cohort,
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


#: Every field any care form asks for, filled in: a refusal must not hang on a form's errors.
FILLED_IN = {
    "reason": "It worries me.",
    "note": "Talked it through.",
    "text": "Thank you.",
    "kind": "block",
    "enabled": "on",
    "body": "Some words.",
    "topic": "A new topic",
}
MISSING = 10**9
#: Routes on no object: each person's own pages.
OWN_PAGES = {"home", "mutuality", "nudge", "journal", "journal_export", "journal_export_json"}


@pytest.mark.parametrize("name", sorted(set(MATRIX) - OWN_PAGES))
def test_someone_elses_object_is_byte_identical_to_a_missing_one(name: str) -> None:
    """SECURITY.md Z2: whoever the matrix refuses (404) gets, for the real object, exactly the
    answer they get for an id that does not exist, whichever number of the address is changed,
    by each method the route takes."""
    method, args, expected = MATRIX[name]
    w = world()
    real = args(w)
    missing = [
        reverse(f"care:{name}", args=[MISSING if i == position else a for i, a in enumerate(real)])
        for position in range(len(real))
    ]
    compared = sum(
        compare_with_missing(
            w["users"][role], method, reverse(f"care:{name}", args=real), missing, FILLED_IN
        )
        for role in ROLES[1:]
        if expected[role] == 404
    )
    assert compared


@pytest.mark.parametrize(
    ("name", "role", "theirs"),
    [
        ("shared_reflection", "other_lead", "shared"),
        ("block", "other_member", "author"),
    ],
)
def test_someone_elses_id_under_ones_own_group_is_byte_identical_to_a_missing_one(
    name: str, role: str, theirs: str
) -> None:
    """The group in the address is the asker's own; only the second id is someone else's.
    (Unblocking on one's own board says "already undone" for any person, as the matrix says.)"""
    method, _args, _expected = MATRIX[name]
    w = world()
    client = Client()
    client.force_login(w["users"][role])
    send = client.get if method == "get" else partial(client.post, data=FILLED_IN)
    own = w["other_cohort"].pk
    answers = [send(reverse(f"care:{name}", args=[own, pk])) for pk in (w[theirs].pk, MISSING)]
    assert [(a.status_code, a.content) for a in answers] == [(404, answers[1].content)] * 2
