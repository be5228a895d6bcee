"""Cross-cutting HTTP behaviour from circlecare.middleware."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.test import Client, RequestFactory
from django.urls import reverse

from circlecare.enrollment.models import Enrollment
from circlecare.middleware import MethodNotAllowedPageMiddleware, ViewerTimezoneMiddleware
from tests.factories import EnrollmentFactory

pytestmark = pytest.mark.django_db


def test_opening_a_button_only_link_shows_a_page_with_a_way_back() -> None:
    enrollment = EnrollmentFactory()
    client = Client()
    client.force_login(enrollment.member)
    status_before = enrollment.status
    response = client.get(reverse("enrollment:accept", kwargs={"pk": enrollment.pk}))
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    text = response.content.decode()
    assert "<h1>This link only works from a button</h1>" in text
    assert f'href="{reverse("enrollment:my_groups")}"' in text
    assert 'class="site-nav"' in text  # the site's layout, with its navigation
    assert Enrollment.objects.get(pk=enrollment.pk).status == status_before


def test_api_method_not_allowed_answers_in_the_api_error_shape() -> None:
    enrollment = EnrollmentFactory()
    client = Client()
    client.force_login(enrollment.member)
    response = client.get(f"/api/v1/enrollments/{enrollment.pk}/accept")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    body = response.json()
    assert body["code"] == "method_not_allowed" and body["detail"] == {"allowed": ["POST"]}
    assert body["message"]

    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponseNotAllowed(["GET", "POST"])

    answer = MethodNotAllowedPageMiddleware(view)(RequestFactory().put("/api/v1/anything"))
    assert answer.status_code == 405 and answer["Allow"] == "GET, POST"
    assert json.loads(answer.content)["detail"] == {"allowed": ["GET", "POST"]}


def test_personal_pages_and_every_api_answer_are_not_stored() -> None:
    from datetime import timedelta

    from circlecare.accounts.tokens import create_token

    enrollment = EnrollmentFactory()
    member = enrollment.member
    _token, secret = create_token(
        user=member, name="phone", scopes=["read"], lifetime=timedelta(days=1), mfa_verified=False
    )
    api = Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.status_code == 200 and api["Cache-Control"] == "no-store"
    assert Client().get("/api/v1/programs")["Cache-Control"] == "no-store"
    signed_in = Client()
    signed_in.force_login(member)
    for url in (reverse("tokens"), reverse("enrollment:my_groups"), reverse("programs:list")):
        assert "no-store" in signed_in.get(url)["Cache-Control"], url
    # A visitor's public page may be kept.
    assert "Cache-Control" not in Client().get(reverse("programs:list"))


def test_a_missing_page_says_so_in_the_sites_words_with_a_way_on() -> None:
    anonymous = Client().get("/groups/group/999999999/")
    assert anonymous.status_code == 404
    body = anonymous.content.decode()
    assert "<h1>We couldn&#x27;t find that page</h1>" in body or "<h1>We couldn't find" in body
    assert 'href="/"' in body and "tel:988" in body
    member = Client()
    member.force_login(EnrollmentFactory().member)
    signed_in = member.get("/my/enrollment/999999999/withdraw/").content.decode()
    assert reverse("enrollment:my_groups") in signed_in
    assert "999999999" not in signed_in  # the address is not echoed back


def test_a_server_error_page_needs_nothing_but_itself() -> None:
    from django.views.defaults import server_error

    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert (
        b"Something went wrong on our side" in response.content and b"tel:988" in response.content
    )


@pytest.mark.parametrize("cookie", ["America", "Etc", "US", "zone.tab", "a%00b", "..%2Fetc"])
def test_a_time_zone_cookie_that_names_no_zone_leaves_pages_in_utc(cookie: str) -> None:
    # The cookie is the browser's to write and anyone's to change: "America" is a folder of the
    # zone database, not a zone, and must not take every page down.
    client = Client(raise_request_exception=False)
    client.cookies["tz"] = cookie
    assert client.get(reverse("programs:list")).status_code == 200
    assert client.get(reverse("account_signup")).status_code == 200

    request = RequestFactory().get("/", HTTP_COOKIE=f"tz={cookie}")
    request.user = AnonymousUser()
    seen: dict[str, object] = {}

    def view(req: HttpRequest) -> HttpResponse:
        seen["zone"] = str(req.viewer_zone)  # type: ignore[attr-defined]
        seen["known"] = req.viewer_zone_known  # type: ignore[attr-defined]
        return HttpResponse()

    ViewerTimezoneMiddleware(view)(request)
    assert seen == {"zone": "UTC", "known": False}
