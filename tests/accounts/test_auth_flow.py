"""Sign-up with e-mail verification, login, logout and password reset through allauth."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from circlecare.accounts.models import User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "river stones hum softly"


def signup(client: Client, email: str = "new@example.org", **extra: str) -> object:
    data = {
        "email": email,
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
        "display_name": "Robin",
        "home_state": "NJ",
        "time_zone": "America/New_York",
        "adult": "on",
        **extra,
    }
    return client.post(reverse("account_signup"), data)


def link_in(message: mail.EmailMessage) -> str:
    match = re.search(r"https?://[^/\s]+(/\S+)", message.body)
    assert match, message.body
    return match.group(1)


def test_signup_verify_login_logout(client: Client) -> None:
    response = signup(client)
    assert response.status_code == 302
    sent = client.get(response["Location"]).content.decode()
    assert "Check your e-mail" in sent and "then log in to carry on" in sent
    assert "finalize the signup" not in sent
    user = User.objects.get(email="new@example.org")
    assert (user.display_name, user.home_state, user.time_zone) == (
        "Robin",
        "NJ",
        "America/New_York",
    )
    assert user.password.startswith("md5$") or user.has_usable_password()

    # Not verified yet: logging in sends the member to the verification page, not into the site.
    client.logout()
    response = client.post(
        reverse("account_login"), {"login": "new@example.org", "password": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert "confirm-email" in response["Location"] or "verification" in response["Location"]
    assert "_auth_user_id" not in client.session

    confirm = link_in(mail.outbox[0])
    response = client.get(confirm)
    response = client.post(confirm)
    assert response.status_code == 302
    response = client.post(
        reverse("account_login"), {"login": "NEW@example.org", "password": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)

    client.post(reverse("account_logout"))
    assert "_auth_user_id" not in client.session


def test_signup_with_bad_input_changes_nothing(client: Client) -> None:
    response = signup(client, email="not-an-email", display_name="x", home_state="ZZ", adult="")
    assert response.status_code == 200
    body = response.content.decode()
    assert "circlecare groups are for adults" in body
    assert User.objects.count() == 0


def test_signup_with_an_existing_email_does_not_reveal_it(client: Client) -> None:
    UserFactory(email="taken@example.org")
    response = signup(client, email="Taken@Example.org")
    # Same outcome as a fresh address: off to "check your e-mail"; the owner is told by e-mail.
    assert response.status_code == 302
    assert User.objects.filter(email__iexact="taken@example.org").count() == 1


def test_login_failure_message_does_not_say_which_part_was_wrong(client: Client) -> None:
    UserFactory(email="known@example.org")
    known = client.post(
        reverse("account_login"), {"login": "known@example.org", "password": "wrong one!!"}
    )
    unknown = client.post(
        reverse("account_login"), {"login": "nobody@example.org", "password": "wrong one!!"}
    )
    assert known.status_code == unknown.status_code == 200
    assert "not correct" in known.content.decode()
    assert "not correct" in unknown.content.decode()


def test_a_confirmation_link_used_twice_says_how_to_carry_on(client: Client) -> None:
    signup(client)
    link = link_in(mail.outbox[-1])
    client.post(link)
    mail.outbox.clear()

    page = client.get(link).content.decode()

    assert "This link no longer works" in page
    assert "issue a new email confirmation request" not in page
    assert f'you can <a href="{reverse("account_login")}">log in</a>' in page
    # Signing in, as it says, with the address not yet confirmed would send a new link; here it
    # is confirmed, so signing in simply works.
    response = client.post(
        reverse("account_login"), {"login": "new@example.org", "password": NEW_PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == "/"
    client.force_login(User.objects.get(email="new@example.org"))
    signed_in = client.get(link).content.decode()
    assert f'your <a href="{reverse("account_email")}">e-mail addresses</a> page' in signed_in


def test_password_reset_link_works_once(client: Client) -> None:
    user = UserFactory(email="reset@example.org")
    response = client.post(reverse("account_reset_password"), {"email": "reset@example.org"})
    assert response.status_code == 302
    link = link_in(mail.outbox[-1])
    response = client.get(link, follow=True)
    form_url = response.redirect_chain[-1][0] if response.redirect_chain else link
    response = client.post(form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    # The same link no longer works.
    again = client.get(link, follow=True)
    assert "This link no longer works" in again.content.decode()
    assert not user.check_password(PASSWORD)


def test_the_reset_e_mail_says_how_long_its_link_works_and_an_expired_link_says_so(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import datetime, timedelta

    from allauth.account.forms import default_token_generator

    UserFactory(email="reset@example.org")
    client.post(reverse("account_reset_password"), {"email": "reset@example.org"})
    assert "The link works once, for one hour." in mail.outbox[-1].body
    later = datetime.now() + timedelta(hours=1, minutes=1)
    monkeypatch.setattr(default_token_generator, "_now", lambda: later)

    page = client.get(link_in(mail.outbox[-1]), follow=True).content.decode()

    assert "already been used" in page and "expired" in page
    assert 'href="/accounts/password/reset/"' in page


def test_password_reset_for_unknown_address_looks_the_same(client: Client) -> None:
    response = client.post(reverse("account_reset_password"), {"email": "ghost@example.org"})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_done")


def test_totp_setup_is_available_to_members(client: Client) -> None:
    user = UserFactory()
    client.force_login(user)
    response = client.get(reverse("mfa_activate_totp"))
    assert response.status_code in {200, 302}


def test_the_confirmation_link_leads_back_to_where_the_member_was_going(client: Client) -> None:
    going_to = "/groups/group/7/?from=signup"
    signup(client, next=going_to)
    confirm = link_in(mail.outbox[-1])
    # Opened anywhere (another browser, a phone): the link itself carries the page.
    other = Client()
    page = other.get(confirm).content.decode()
    assert 'name="next" value="/groups/group/7/?from=signup"' in page
    response = other.post(confirm, {"next": going_to})
    assert response.status_code == 302
    assert response["Location"] == going_to
    assert User.objects.get(email="new@example.org").emailaddress_set.get().verified


def test_confirming_asks_to_log_in_on_the_page_it_leads_back_to(client: Client) -> None:
    """Confirming does not sign anyone in: the page they return to would otherwise greet them
    with "You have confirmed ..." next to "Create an account"."""
    going_to = "/groups/"
    signup(client, next=going_to)
    confirm = link_in(mail.outbox[-1])
    page = Client().post(confirm, {"next": going_to}, follow=True).content.decode()
    assert "Thank you: new@example.org is confirmed. Please log in to carry on." in page


def test_signing_in_before_confirming_sends_a_link_that_keeps_the_page(client: Client) -> None:
    UserFactory(email="unconfirmed@example.org", verified=False)
    response = client.post(
        reverse("account_login"),
        {"login": "unconfirmed@example.org", "password": PASSWORD, "next": "/my/"},
    )
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    confirm = link_in(mail.outbox[-1])
    assert confirm.endswith("?next=%2Fmy%2F")
    assert Client().post(confirm, {"next": "/my/"})["Location"] == "/my/"


UNSAFE_NEXT = [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example/",
    "///evil.example/",
    "http://testserver/my/",  # an absolute URL, even to this site
    "https:evil.example",
    "javascript:alert(1)",
    "/my/\x00",
    "my/",
    "/" + "a" * 2000,
]


@pytest.mark.parametrize("target", UNSAFE_NEXT)
def test_a_next_that_is_not_a_path_on_this_site_is_never_followed(
    client: Client, target: str
) -> None:
    response = signup(client, next=target)
    assert response.status_code == 302
    assert "evil" not in response["Location"]
    confirm = link_in(mail.outbox[-1])
    assert "next" not in confirm and "evil" not in confirm
    confirmed = Client().post(confirm, {"next": target})
    assert confirmed.status_code == 302
    # Confirmed, and sent to sign in as usual, not to the target.
    assert confirmed["Location"] == reverse("account_login")
    assert User.objects.get(email="new@example.org").emailaddress_set.get().verified
    signed_in = client.post(
        reverse("account_login"),
        {"login": "new@example.org", "password": NEW_PASSWORD, "next": target},
    )
    assert signed_in.status_code == 302
    assert signed_in["Location"] == reverse("home")


def test_a_forged_next_on_a_real_confirmation_link_is_not_followed(client: Client) -> None:
    signup(client)
    confirm = link_in(mail.outbox[-1])
    page = Client().get(confirm, {"next": '"><script>alert(1)</script>'}).content.decode()
    assert "<script>alert(1)</script>" not in page
    response = Client().post(confirm + "?next=https://evil.example/")
    assert response.status_code == 302
    assert response["Location"] == reverse("account_login")


def test_the_header_links_between_sign_in_and_sign_up_keep_where_someone_was_going(
    client: Client,
) -> None:
    page = client.get("/accounts/login/", {"next": "/my/partner/abc/"}).content.decode()
    assert 'href="/accounts/signup/?next=/my/partner/abc/"' in page
    page = client.get("/accounts/signup/", {"next": "/my/partner/abc/"}).content.decode()
    assert 'href="/accounts/login/?next=/my/partner/abc/"' in page
    hostile = client.get("/accounts/login/", {"next": '"><b>x'}).content.decode()
    assert "<b>x" not in hostile
    plain = client.get("/accounts/login/").content.decode()
    assert 'href="/accounts/signup/"' in plain


def test_an_address_too_long_to_hold_is_refused_not_cut_short(client: Client) -> None:
    too_long = "a" * 250 + "@example.org"
    response = signup(client, email=too_long)
    assert response.status_code == 200
    assert "at most 254 characters" in response.content.decode()
    assert not User.objects.exists()
    assert not mail.outbox


def test_an_added_address_too_long_to_hold_is_refused(client: Client) -> None:
    from allauth.account.models import EmailAddress

    user = UserFactory()
    client.force_login(user)
    too_long = "b" * 250 + "@example.org"
    response = client.post("/accounts/email/", {"email": too_long, "action_add": ""})
    assert response.status_code == 200
    assert "at most 254 characters" in response.content.decode()
    assert not EmailAddress.objects.filter(email=too_long).exists()
