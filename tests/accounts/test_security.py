"""SECURITY.md A3–A6 and the headers of D4, through real requests."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.urls import reverse

from circlecare.accounts.security import LAST_SEEN, LOGIN_AT
from tests.factories import PASSWORD, ClinicianFactory, UserFactory
from tests.mfa import code_for, enable_totp

pytestmark = pytest.mark.django_db


def password_login(client: Client, email: str, password: str = PASSWORD) -> Any:
    return client.post(reverse("account_login"), {"login": email, "password": password})


def age_session(client: Client, *, idle: float = 0, since_login: float = 0) -> None:
    session = client.session
    now = time.time()
    session[LAST_SEEN] = now - idle
    session[LOGIN_AT] = now - since_login
    session.save()


@pytest.mark.mfa_enforced
def test_staff_without_totp_are_sent_to_set_it_up_before_clinical_pages(client: Client) -> None:
    coordinator = UserFactory(is_staff=True)
    client.force_login(coordinator)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")
    # Public pages and account settings stay open.
    assert client.get(reverse("home")).status_code == 200
    setup = client.get(reverse("mfa_activate_totp"))
    # allauth may first ask for the password again; either way the member stays on account pages.
    assert setup.status_code == 200 or setup["Location"].startswith("/accounts/reauthenticate/")


@pytest.mark.mfa_enforced
def test_clinician_signs_in_with_password_and_totp_then_reaches_clinical_pages(
    client: Client,
) -> None:
    clinician = ClinicianFactory(user__is_staff=True).user
    secret = enable_totp(clinician)
    response = password_login(client, clinician.email)
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    assert "_auth_user_id" not in client.session  # not signed in on the password alone
    response = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert "_auth_user_id" not in client.session
    response = client.post(reverse("mfa_authenticate"), {"code": code_for(secret)})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(clinician.pk)
    assert client.get("/admin/").status_code == 200


@pytest.mark.mfa_enforced
def test_staff_who_remove_their_authenticator_set_one_up_again_before_clinical_pages(
    client: Client,
) -> None:
    clinician = ClinicianFactory(user__is_staff=True).user
    secret = enable_totp(clinician)
    password_login(client, clinician.email)
    client.post(reverse("mfa_authenticate"), {"code": code_for(secret)})
    assert client.get("/admin/").status_code == 200
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})

    response = client.post(reverse("mfa_deactivate_totp"))

    assert response.status_code == 302
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")
    # Still signed in, on the account pages, to set up the new one.
    assert client.session["_auth_user_id"] == str(clinician.pk)


@pytest.mark.mfa_enforced
def test_a_session_without_the_second_factor_is_ended_for_staff_with_totp(client: Client) -> None:
    coordinator = UserFactory(is_staff=True)
    enable_totp(coordinator)
    client.force_login(coordinator)  # a session that never used the second factor
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session


@pytest.mark.mfa_enforced
def test_members_do_not_need_a_second_factor(client: Client) -> None:
    client.force_login(UserFactory())
    response = client.get(reverse("profile"))
    assert response.status_code == 200


@pytest.mark.parametrize(("who", "idle_minutes", "signed_out"), [
    ("member", 29, False), ("member", 31, True), ("staff", 14, False), ("staff", 16, True),
    ("clinician", 14, False), ("clinician", 16, True),
])  # fmt: skip
def test_idle_timeouts(client: Client, who: str, idle_minutes: int, signed_out: bool) -> None:
    """Staff accounts, and clinicians who need not be staff accounts, time out after 15 minutes."""
    if who == "clinician":
        user = ClinicianFactory().user
        assert not user.is_staff
    else:
        user = UserFactory(is_staff=who == "staff")
    client.force_login(user)
    client.get(reverse("profile"))
    age_session(client, idle=idle_minutes * 60)
    response = client.get(reverse("profile"))
    if signed_out:
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
        assert "_auth_user_id" not in client.session
    else:
        assert response.status_code == 200


def test_sessions_end_twelve_hours_after_login_however_active(client: Client) -> None:
    client.force_login(UserFactory())
    client.get(reverse("profile"))
    age_session(client, idle=60, since_login=12 * 3600 + 1)
    response = client.get(reverse("profile"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_deactivation_ends_existing_sessions(client: Client) -> None:
    user = UserFactory()
    client.force_login(user)
    assert client.get(reverse("profile")).status_code == 200
    user.is_active = False
    user.save()
    response = client.get(reverse("profile"))
    assert response.status_code == 302


def test_logout_ends_the_session_server_side(client: Client) -> None:
    user = UserFactory()
    client.force_login(user)
    old_key = client.session.session_key
    client.post(reverse("account_logout"))
    from django.contrib.sessions.models import Session

    assert not Session.objects.filter(session_key=old_key).exists()


def test_signing_out_ends_every_session_of_the_account(client: Client) -> None:
    """SECURITY.md A5: a phone left signed in is signed out with the laptop."""
    user = UserFactory()
    laptop, phone, someone_else = Client(), Client(), Client()
    for c in (laptop, phone):
        assert password_login(c, user.email).status_code == 302
    someone_else.force_login(UserFactory())
    for c in (laptop, phone, someone_else):
        assert c.get(reverse("profile")).status_code == 200
    laptop.post(reverse("account_logout"))
    assert laptop.get(reverse("profile")).status_code == 302
    assert phone.get(reverse("profile")).status_code == 302
    assert someone_else.get(reverse("profile")).status_code == 200


def test_an_idle_session_ending_ends_only_itself(client: Client) -> None:
    user = UserFactory()
    other = Client()
    assert password_login(client, user.email).status_code == 302
    assert password_login(other, user.email).status_code == 302
    age_session(client, idle=31 * 60)
    assert client.get(reverse("profile")).status_code == 302
    assert other.get(reverse("profile")).status_code == 200


def test_five_failed_logins_then_a_cool_off_even_with_the_right_password(client: Client) -> None:
    user = UserFactory(email="target@example.org")
    for _ in range(5):
        response = password_login(client, user.email, "wrong password!!")
        assert response.status_code == 200
    response = password_login(Client(REMOTE_ADDR="10.1.1.1"), user.email)
    assert response.status_code in {200, 429}
    assert "Too many failed login attempts" in response.content.decode()
    # Another account is not locked by this.
    other = UserFactory()
    assert password_login(Client(REMOTE_ADDR="10.1.1.2"), other.email).status_code == 302


def test_the_cool_off_lifts_after_thirty_minutes(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A3: never a permanent lock that an attacker can set off: half an hour later the right
    password works again."""
    user = UserFactory(email="cooled@example.org")
    for _ in range(5):
        password_login(client, user.email, "wrong password!!")
    assert password_login(Client(REMOTE_ADDR="10.1.2.1"), user.email).status_code != 302
    start = time.time()
    monkeypatch.setattr(time, "time", lambda: start + 29 * 60)
    assert password_login(Client(REMOTE_ADDR="10.1.2.2"), user.email).status_code != 302
    monkeypatch.setattr(time, "time", lambda: start + 31 * 60)
    assert password_login(Client(REMOTE_ADDR="10.1.2.3"), user.email).status_code == 302


def test_twenty_failed_logins_from_one_address_hold_it_back_a_minute() -> None:
    """A3's per-address limit: failures spread over many accounts, each under its own limit, still
    stop that address; the account itself can sign in from elsewhere."""
    user = UserFactory(email="real@example.org")
    guesser = Client(REMOTE_ADDR="10.9.9.9")
    for n in range(20):
        response = password_login(guesser, f"someone{n}@example.org", "wrong password!!")
        assert response.status_code == 200
    refused = password_login(guesser, user.email)
    assert refused.status_code in {200, 429}
    assert "_auth_user_id" not in guesser.session
    assert password_login(Client(REMOTE_ADDR="10.9.9.10"), user.email).status_code == 302


def test_admin_login_goes_through_the_throttled_login(client: Client) -> None:
    response = client.get("/admin/login/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_password_reset_tokens_expire_after_an_hour(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import datetime, timedelta

    user = UserFactory()
    token = default_token_generator.make_token(user)
    assert default_token_generator.check_token(user, token)
    later = datetime.now() + timedelta(hours=1, minutes=1)
    monkeypatch.setattr(default_token_generator, "_now", lambda: later)
    assert not default_token_generator.check_token(user, token)


def test_totp_secret_is_encrypted_at_rest() -> None:
    from allauth.mfa.models import Authenticator

    user = UserFactory()
    secret = enable_totp(user)
    stored = Authenticator.objects.get(user=user).data["secret"]
    assert secret not in stored and stored.startswith("v2:")


def test_security_headers_on_every_response(client: Client) -> None:
    for url in (reverse("home"), reverse("inquiries:contact"), "/no-such-page/"):
        response = client.get(url)
        csp = response["Content-Security-Policy"]
        assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["X-Frame-Options"] == "DENY"


def test_activity_is_written_at_most_once_a_minute(client: Client) -> None:
    client.force_login(UserFactory())
    client.get(reverse("profile"))
    first = client.session[LAST_SEEN]
    client.get(reverse("profile"))
    assert client.session[LAST_SEEN] == first
    age_session(client, idle=61)
    aged = client.session[LAST_SEEN]
    client.get(reverse("profile"))
    assert client.session[LAST_SEEN] > aged + 60


@pytest.mark.mfa_enforced
def test_someone_who_starts_leading_a_group_needs_the_second_factor_within_minutes(
    client: Client,
) -> None:
    from circlecare.accounts.security import ROLE
    from tests.factories import CohortFactory

    user = UserFactory()
    client.force_login(user)
    assert client.get("/my/").status_code == 200
    CohortFactory(lead=user)
    assert client.get("/my/").status_code == 200  # remembered for a few minutes
    session = client.session
    session[ROLE] = [time.time() - 301, False]
    session.save()
    response = client.get("/my/")
    assert response.status_code == 302 and response["Location"] == reverse("mfa_activate_totp")


def test_the_roles_that_see_clinical_data_need_the_second_factor() -> None:
    from circlecare.accounts.security import needs_mfa
    from tests.factories import CohortFactory

    member, lead, co_lead = UserFactory(), UserFactory(), UserFactory()
    CohortFactory(lead=lead, co_facilitator=co_lead)
    clinician = ClinicianFactory().user
    assert not needs_mfa(member)
    assert needs_mfa(lead) and needs_mfa(co_lead) and needs_mfa(clinician)
    assert needs_mfa(UserFactory(is_staff=True)) and needs_mfa(UserFactory(is_facilitator=True))


def _menu(client: Client) -> list[str]:
    html = client.get(reverse("profile")).content.decode()
    nav = html[html.index('<nav class="site-nav"') : html.index("</nav>")]
    return re.findall(r'<a href="[^"]*"[^>]*>([^<]+)</a>', nav)


MEMBER_PAGES = {"My groups", "Between meetings", "Check-ins"}


def test_the_menu_offers_a_members_own_pages_to_staff_only_when_they_are_members_too(
    client: Client,
) -> None:
    """A clinician leading groups sees the workspace, the alerts and the meetings they lead,
    not a member's empty pages; once they take a place in a group themselves, those appear at
    once. A member sees their own pages, and not the staff ones."""
    from circlecare.enrollment.consents import consents_missing
    from circlecare.enrollment.models import Enrollment
    from circlecare.enrollment.services import sign_consents
    from tests.enrollment.factories import only_enrollment_steps
    from tests.factories import CohortFactory

    member = UserFactory()
    client.force_login(member)
    seen = set(_menu(client))
    assert seen >= MEMBER_PAGES and "My meetings" in seen
    assert not {"Workspace", "Alerts"} & seen

    clinician = ClinicianFactory().user
    CohortFactory(lead=clinician)
    client.force_login(clinician)
    seen = set(_menu(client))
    assert {"Workspace", "Alerts", "My meetings", "My account"} <= seen
    assert not MEMBER_PAGES & seen
    assert client.get(reverse("enrollment:my_groups")).status_code == 200  # still reachable

    # Joining a group through its page: the very next page's menu has the member's pages.
    skills = CohortFactory()
    sign_consents(member=clinician, documents=consents_missing(clinician, skills), signed_name="Jo")
    with only_enrollment_steps():  # the group's intake questionnaire is not what this is about
        joined = client.post(reverse("enrollment:join", args=[skills.pk]))
    assert joined.status_code == 302, joined.content.decode()[-3000:]
    assert Enrollment.objects.filter(member=clinician).exists()
    assert set(_menu(client)) >= MEMBER_PAGES
