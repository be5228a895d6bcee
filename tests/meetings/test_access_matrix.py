"""Every meetings route against every role (SECURITY.md Z1): a new route must be added here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, reverse
from django.utils import timezone

from circlecare.meetings import urls as meeting_urls
from tests.factories import CohortFactory, LicenseFactory, UserFactory
from tests.meetings.factories import meeting_at, member_of
from tests.same_as_missing import compare_with_missing

pytestmark = pytest.mark.django_db

ROLES = [
    "anonymous",
    "other_member",
    "other_lead",
    "member",
    "co_facilitator",
    "facilitator",
    "coordinator",
]
LOGIN = "login"  # anonymous is sent to the login page

W = dict[str, Any]
Route = tuple[str, Callable[[W], dict[str, Any]], dict[str, int | str]]


def expect(default: int, anonymous: int | str = LOGIN, **roles: int) -> dict[str, int | str]:
    return {"anonymous": anonymous, **dict.fromkeys(ROLES[1:], default), **roles}


PEOPLE = {"member": 200, "co_facilitator": 200, "facilitator": 200, "coordinator": 200}
STAFF = {"co_facilitator": 200, "facilitator": 200, "coordinator": 200}

MATRIX: dict[str, Route] = {
    "mine": ("get", lambda w: {}, expect(200)),
    "groups": (
        "get",
        lambda w: {},
        expect(404, other_lead=200, co_facilitator=200, facilitator=200, coordinator=200),
    ),
    "calendar": ("post", lambda w: {}, expect(302)),
    "feed": ("get", lambda w: {"token": "not-a-token"}, expect(404, anonymous=404)),
    "detail": ("get", lambda w: {"pk": w["meeting"].pk}, expect(404, **PEOPLE)),
    "ics": ("get", lambda w: {"pk": w["meeting"].pk}, expect(404, **PEOPLE)),
    "join": (
        "post",
        lambda w: {"pk": w["meeting"].pk},
        expect(404, member=302, co_facilitator=302, facilitator=302),
    ),
    "room": (
        "get",
        lambda w: {"pk": w["meeting"].pk},
        expect(404, member=302, co_facilitator=200, facilitator=200),
    ),
    "attendance": ("get", lambda w: {"pk": w["meeting"].pk}, expect(404, **STAFF)),
    "skip": ("get", lambda w: {"pk": w["meeting"].pk}, expect(404, coordinator=200)),
    "cancel": ("get", lambda w: {"pk": w["meeting"].pk}, expect(404, coordinator=200)),
    "move": ("get", lambda w: {"pk": w["meeting"].pk}, expect(404, coordinator=200)),
    "schedule": ("get", lambda w: {"pk": w["cohort"].pk}, expect(404, **STAFF)),
    "open": ("post", lambda w: {"pk": w["cohort"].pk}, expect(404, coordinator=302)),
    "pattern": ("post", lambda w: {"pk": w["cohort"].pk}, expect(404, coordinator=400)),
}


def world() -> W:
    lic = LicenseFactory(state="NY")
    cohort = CohortFactory(lead=lic.clinician.user, co_facilitator=UserFactory(is_facilitator=True))
    other = CohortFactory()
    meeting = meeting_at(cohort, timezone.now() + timedelta(minutes=5))
    return {
        "cohort": cohort,
        "meeting": meeting,
        "users": {
            "anonymous": None,
            "other_member": member_of(other),
            "other_lead": other.lead,
            "member": member_of(cohort),
            "co_facilitator": cohort.co_facilitator,
            "facilitator": cohort.lead,
            "coordinator": UserFactory(is_staff=True),
        },
    }


def test_every_route_is_in_the_matrix() -> None:
    names = {p.name for p in meeting_urls.urlpatterns if isinstance(p, URLPattern)}
    assert names == set(MATRIX)


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_route_answers_each_role_as_expected(name: str) -> None:
    method, kwargs, expected = MATRIX[name]
    w = world()
    url = reverse(f"meetings:{name}", kwargs=kwargs(w))
    seen: dict[str, int | str] = {}
    for role in ROLES:
        client = Client()
        user = w["users"][role]
        if user is not None:
            client.force_login(user)
        response = client.post(url) if method == "post" else client.get(url)
        status: int | str = response.status_code
        if role == "anonymous" and status == 302:
            assert response["Location"].startswith("/accounts/login/")
            status = LOGIN
        if status == 404:
            assert w["users"]["member"].display_name.encode() not in response.content
        seen[role] = status
    assert seen == expected


#: Routes on no one meeting or group.
OWN_PAGES = {"mine", "groups", "calendar", "feed"}
MISSING = 10**9


@pytest.mark.parametrize("name", sorted(set(MATRIX) - OWN_PAGES))
def test_someone_elses_meeting_is_byte_identical_to_a_missing_one(name: str) -> None:
    """SECURITY.md Z2: whoever the matrix refuses (404) gets, for the real meeting or group,
    exactly the answer they get for an id that does not exist, by each method the route takes,
    with a form filled in as its own people would."""
    method, kwargs, expected = MATRIX[name]
    w = world()
    later = (timezone.localdate() + timedelta(days=30)).isoformat()
    filled_in = {
        "state": "NY",
        "local_date": later,
        "local_time": "18:00",
        "from_date": later,
        "start_time": "18:00",
        "sequence": str(w["meeting"].ics_sequence),
        f"status-{w['users']['member'].pk}": "attended",
    }
    compared = sum(
        compare_with_missing(
            w["users"][role],
            method,
            reverse(f"meetings:{name}", kwargs=kwargs(w)),
            [reverse(f"meetings:{name}", kwargs={"pk": MISSING})],
            filled_in,
        )
        for role in ROLES[1:]
        if expected[role] == 404
    )
    assert compared
