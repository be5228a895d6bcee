"""The API's shared behaviour: auth by token or session, scopes, one error shape, limits, pagination."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from circlecare.accounts.models import PersonalAccessToken
from circlecare.accounts.tokens import TokenNotAllowed, create_token
from tests.api.helpers import Api
from tests.factories import CohortFactory, EnrollmentFactory, ProgramFactory, UserFactory
from tests.mfa import enable_totp

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_throttles() -> None:
    cache.clear()


def token_for(user: Any, scopes: list[str] | None = None, **kw: Any) -> str:
    _token, raw = create_token(
        user=user,
        name="test",
        scopes=["read", "write"] if scopes is None else scopes,
        lifetime=kw.get("lifetime", timedelta(days=30)),
        mfa_verified=kw.get("mfa_verified", False),
    )
    return raw


def bearer(raw: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_openapi_document_is_served(client: Client) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    assert doc["info"]["title"] == "circlecare API"
    assert "/api/v1/programs" in doc["paths"]


def test_public_catalog_is_paginated(client: Client) -> None:
    for i in range(3):
        ProgramFactory(title=f"P{i}")
    body = client.get("/api/v1/programs", {"limit": 2}).json()
    assert body["count"] == 3 and len(body["items"]) == 2
    CohortFactory()
    cohorts = client.get("/api/v1/cohorts").json()
    assert cohorts["count"] == 1
    assert cohorts["items"][0]["first_meeting_at"].endswith("Z")


def test_the_catalog_counts_a_couples_group_in_couples(client: Client) -> None:
    couples = CohortFactory(program=ProgramFactory(for_couples=True), capacity=5)
    EnrollmentFactory.create_batch(2, cohort=couples)
    single = CohortFactory(capacity=5)
    listed = {c["id"]: c for c in client.get("/api/v1/cohorts").json()["items"]}
    assert (listed[couples.pk]["seats_left"], listed[couples.pk]["couples_left"]) == (3, 1)
    assert (listed[single.pk]["seats_left"], listed[single.pk]["couples_left"]) == (5, None)
    assert listed[couples.pk]["for_couples"] and not listed[single.pk]["for_couples"]
    # One seat left is room for no couple: joining now means the waiting list.
    EnrollmentFactory.create_batch(2, cohort=couples)
    one = client.get(f"/api/v1/cohorts/{couples.pk}").json()
    assert (one["seats_left"], one["couples_left"]) == (1, 0)


def test_a_couples_group_with_one_free_seat_is_listed_as_full(client: Client) -> None:
    """Status and room agree with what joining would do: the waiting list, together."""
    from circlecare.enrollment import services
    from tests.enrollment.factories import (
        invite_partner,
        only_enrollment_steps,
        publish_consents,
        ready_member,
    )

    cohort = CohortFactory(program=ProgramFactory(for_couples=True), capacity=3)
    publish_consents()
    inviter, partner = ready_member(), ready_member()
    with only_enrollment_steps():
        _invite, token = invite_partner(member=inviter, cohort=cohort, email=partner.email)
        services.accept_partner_invite(token=token, member=partner)
    one = client.get(f"/api/v1/cohorts/{cohort.pk}").json()
    assert (one["status"], one["seats_left"], one["couples_left"]) == ("full", 1, 0)
    page = client.get(cohort.get_absolute_url()).content.decode()
    assert "Full — you and your partner can join the waiting list together" in page


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/programs/nope",
        "/api/v1/cohorts/999999",
        "/api/v1/cohorts/99999999999999999999",
        # Ids no object can have, where the address itself bounds them, answer as any other.
        "/api/v1/enrollments/99999999999999999999",
        "/api/v1/enrollments/0",
        "/api/v1/enrollments/-3",
    ],
)
def test_missing_objects_have_the_one_error_shape(client: Client, url: str) -> None:
    client.force_login(UserFactory())
    response = client.get(url)
    assert response.status_code == 404
    assert response.json() == {
        "code": "not_found",
        "message": "We couldn't find that.",
        "detail": None,
    }


def test_bad_query_values_are_422_with_the_error_shape(client: Client) -> None:
    response = client.get("/api/v1/programs", {"kind": "surgery", "limit": "x"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid" and body["detail"]


def test_the_public_catalog_documents_the_errors_it_answers(client: Client) -> None:
    """A client (or a fuzzer checking status codes) reads from the document what an answer from
    the catalog can be: its 404s, 422s and 429s are there, in the one error shape."""
    cohort = CohortFactory()
    operations = client.get("/api/v1/openapi.json").json()["paths"]
    answered = [
        ("/api/v1/programs", "/api/v1/programs?offset=x", 422),
        ("/api/v1/programs/{slug}", "/api/v1/programs/nope", 404),
        ("/api/v1/cohorts", "/api/v1/cohorts?limit=0", 422),
        ("/api/v1/cohorts/{cohort_id}", "/api/v1/cohorts/-3", 404),
        ("/api/v1/cohorts/{cohort_id}", f"/api/v1/cohorts/{cohort.pk + 1}", 404),
    ]
    for path, url, status in answered:
        assert client.get(url).status_code == status, url
        documented = operations[path]["get"]["responses"]
        for code in (str(status), "429"):
            assert code in documented, f"GET {path} does not document {code}"
            schema = documented[code]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (path, code)


def test_an_address_the_api_does_not_have_answers_in_its_error_shape(client: Client) -> None:
    for url in ("/api/v1/nonexistent", "/api/v2/programs", "/api/"):
        response = client.get(url)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found", url


def test_a_bad_token_without_a_session_is_unauthenticated_not_a_csrf_failure() -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/v1/meetings/calendar", **bearer("cc_not-a-real-token"))
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


def test_text_with_a_null_character_is_refused_and_nothing_changes(client: Client) -> None:
    user = UserFactory(display_name="Robin")
    api = Api(user, scopes=["read", "write"])
    response = api.client.patch(
        "/api/v1/me",
        {"display_name": "Rob\x00in"},
        content_type="application/json",
        **api.headers,
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid"
    assert "Null characters are not allowed." in str(body["detail"])
    user.refresh_from_db()
    assert user.display_name == "Robin"


@pytest.mark.parametrize("body", ["[]", "null", '"x"', "7", "true"])
def test_a_body_that_is_not_an_object_is_refused(body: str) -> None:
    user = UserFactory(display_name="Robin")
    api = Api(user, scopes=["read", "write"])
    response = api.client.patch("/api/v1/me", body, content_type="application/json", **api.headers)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid"
    assert "Send a JSON object" in str(response.json()["detail"])


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/api/v1/me", {"email_reminders": "yes"}),
        ("/api/v1/me", {"care_nudges": 1}),
        ("/api/v1/enrollments", {"cohort_id": True}),
        ("/api/v1/enrollments", {"cohort_id": "1"}),
    ],
)
def test_numbers_and_true_or_false_are_not_guessed_from_other_types(
    url: str, body: dict[str, Any]
) -> None:
    user = UserFactory(display_name="Robin", email_reminders=True)
    api = Api(user, scopes=["read", "write"])
    method = api.client.patch if url == "/api/v1/me" else api.client.post
    response = method(url, body, content_type="application/json", **api.headers)
    assert response.status_code == 422 and response.json()["code"] == "invalid"
    user.refresh_from_db()
    assert user.email_reminders is True


def test_a_body_too_large_to_read_is_413_in_the_error_shape(settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    user = UserFactory(display_name="Robin")
    api = Api(user, scopes=["read", "write"])
    response = api.client.patch(
        "/api/v1/me",
        {"display_name": "x" * (2 * 1024 * 1024)},
        content_type="application/json",
        **api.headers,
    )
    assert response.status_code == 413
    assert response.json() == {
        "code": "too_large",
        "message": "What was sent is too large: please keep it under 1 MB.",
        "detail": None,
    }
    user.refresh_from_db()
    assert user.display_name == "Robin"


def test_a_site_form_too_large_to_read_gets_a_page_that_says_so(client: Client) -> None:
    client.force_login(UserFactory())
    response = client.post("/accounts/profile/", {"display_name": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 400
    assert "it may have been too long" in response.content.decode()


def test_me_needs_authentication(client: Client) -> None:
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
    assert client.get("/api/v1/me", **bearer("cc_not-a-real-token")).status_code == 401


def test_a_401_names_the_bearer_scheme(client: Client) -> None:
    """HTTP clients look for the challenge to know how to authenticate."""
    for headers in ({}, bearer("cc_not-a-real-token")):
        response = client.get("/api/v1/me", **headers)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == 'Bearer realm="circlecare API"'


def test_token_reads_and_writes_my_profile(client: Client) -> None:
    user = UserFactory(display_name="Robin")
    raw = token_for(user)
    assert client.get("/api/v1/me", **bearer(raw)).json()["display_name"] == "Robin"
    response = client.patch(
        "/api/v1/me", {"display_name": "Rob"}, content_type="application/json", **bearer(raw)
    )
    assert response.status_code == 200 and response.json()["display_name"] == "Rob"
    bad = client.patch(
        "/api/v1/me", {"time_zone": "Mars/Olympus"}, content_type="application/json", **bearer(raw)
    )
    assert bad.status_code == 422 and "time_zone" in bad.json()["detail"]
    user.refresh_from_db()
    assert user.time_zone == "America/New_York"


def test_scopes_are_enforced(client: Client) -> None:
    raw = token_for(UserFactory(), scopes=["read"])
    response = client.patch(
        "/api/v1/me", {"display_name": "X y"}, content_type="application/json", **bearer(raw)
    )
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_only_a_hash_is_stored_and_revoked_or_expired_tokens_stop_working(client: Client) -> None:
    user = UserFactory()
    raw = token_for(user)
    stored = PersonalAccessToken.objects.get()
    assert raw not in stored.token_hash and stored.prefix == raw[:10]
    assert client.get("/api/v1/me", **bearer(raw)).status_code == 200
    PersonalAccessToken.objects.update(
        created_at=timezone.now() - timedelta(days=2),
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    assert client.get("/api/v1/me", **bearer(raw)).status_code == 401
    raw2 = token_for(user)
    PersonalAccessToken.objects.filter(
        revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).update(revoked_at=timezone.now())
    assert client.get("/api/v1/me", **bearer(raw2)).status_code == 401


def test_a_deactivated_users_token_stops_working(client: Client) -> None:
    user = UserFactory()
    raw = token_for(user)
    user.is_active = False
    user.save()
    assert client.get("/api/v1/me", **bearer(raw)).status_code == 401


def test_staff_tokens_need_mfa_on_and_used() -> None:
    coordinator = UserFactory(is_staff=True)
    with pytest.raises(TokenNotAllowed):
        token_for(coordinator, mfa_verified=True)  # no authenticator
    enable_totp(coordinator)
    with pytest.raises(TokenNotAllowed):
        token_for(coordinator, mfa_verified=False)
    assert token_for(coordinator, mfa_verified=True).startswith("cc_")


def test_a_members_token_stops_when_they_take_a_role_that_sees_others_data(
    client: Client,
) -> None:
    """A token made without the second factor cannot carry a new facilitator's or clinician's
    reach into others' clinical data; one made again with the second factor can."""
    user = UserFactory()
    raw = token_for(user, scopes=["read", "clinical"])
    assert client.get("/api/v1/me", **bearer(raw)).status_code == 200
    user.is_facilitator = True
    user.save()
    assert client.get("/api/v1/me", **bearer(raw)).status_code == 401
    enable_totp(user)
    again = token_for(user, scopes=["read", "clinical"], mfa_verified=True)
    assert client.get("/api/v1/me", **bearer(again)).status_code == 200


@pytest.mark.parametrize(
    ("scopes", "lifetime"),
    [([], timedelta(days=1)), (["admin"], timedelta(days=1)), (["read"], timedelta(days=400))],
)
def test_invalid_token_requests_are_refused(scopes: list[str], lifetime: timedelta) -> None:
    with pytest.raises(TokenNotAllowed):
        token_for(UserFactory(), scopes=scopes, lifetime=lifetime)


def test_unauthenticated_rate_limit_answers_429_with_retry_after(client: Client) -> None:
    statuses = [client.get("/api/v1/programs").status_code for _ in range(101)]
    assert statuses[:100] == [200] * 100
    response = client.get("/api/v1/programs")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["code"] == "rate_limited"


def test_session_writes_need_csrf() -> None:
    user = UserFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/api/v1/me").status_code == 200
    response = client.patch("/api/v1/me", {"display_name": "Zed"}, content_type="application/json")
    assert response.status_code in {401, 403}
    user.refresh_from_db()
    assert user.display_name != "Zed"


def test_token_pages_create_show_once_and_revoke(client: Client) -> None:
    user = UserFactory()
    client.force_login(user)
    response = client.post(
        "/accounts/profile/tokens/", {"name": "Calendar", "scopes": ["read"], "days": "30"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    token = PersonalAccessToken.objects.get()
    assert "cc_" in body and token.prefix in body
    again = client.get("/accounts/profile/tokens/").content.decode()
    assert again.count("cc_") == 1  # only the prefix, never the secret again
    other = Client()
    other.force_login(UserFactory())
    assert other.post(f"/accounts/profile/tokens/{token.pk}/revoke/").status_code == 404
    client.post(f"/accounts/profile/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None
