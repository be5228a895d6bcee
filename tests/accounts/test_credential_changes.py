"""A change of credentials and every other way into the account: other browsers, API tokens, the
audit trail and what the member is told, for each event that changes them."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from allauth.usersessions.models import UserSession
from django.contrib.auth import HASH_SESSION_KEY
from django.contrib.messages import get_messages
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from circlecare.accounts.models import PersonalAccessToken, User
from circlecare.accounts.services import secure_after_password_change
from circlecare.accounts.tokens import create_token, revoke_all_tokens
from circlecare.audit.models import AuditAction, AuditEvent
from circlecare.meetings.schedule import format_local
from tests.factories import PASSWORD, CohortFactory, EnrollmentFactory, UserFactory
from tests.mfa import code_for, enable_totp

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "lanterns over the quiet harbour"


def signed_in(user: User, password: str = PASSWORD) -> Client:
    """A browser signed in with the password, as a person signs in (so the session is tracked)."""
    browser = Client()
    response = browser.post(reverse("account_login"), {"login": user.email, "password": password})
    assert response.status_code == 302, response.content
    browser.get(reverse("profile"))  # shows (and so clears) the "signed in" message
    return browser


def token(user: User, *, second_factor: bool = False) -> str:
    _token, raw = create_token(
        user=user,
        name="Journal sync",
        scopes=["read"],
        lifetime=timedelta(days=30),
        mfa_verified=second_factor,
    )
    return raw


def api_me(raw: str) -> Any:
    return Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")


def is_signed_in(browser: Client) -> bool:
    return browser.get(reverse("profile")).status_code == 200


def session_row_exists(browser: Client) -> bool:
    return Session.objects.filter(session_key=browser.cookies["sessionid"].value).exists()


def said(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def change_password(browser: Client) -> Any:
    return browser.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )


def reset_password(browser: Client, email: str) -> Any:
    browser.post(reverse("account_reset_password"), {"email": email})
    match = re.search(r"https?://[^/\s]+(/\S+)", mail.outbox[-1].body)
    assert match
    form = browser.get(match.group(1), follow=True)
    form_url = form.redirect_chain[-1][0] if form.redirect_chain else match.group(1)
    mail.outbox.clear()
    return browser.post(
        form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}, follow=True
    )


# Password change


def test_changing_the_password_signs_out_every_other_device_and_revokes_tokens() -> None:
    user = UserFactory()
    laptop, phone = signed_in(user), signed_in(user)
    stranger = signed_in(UserFactory())
    raws = [token(user), token(user)]
    assert all(api_me(raw).status_code == 200 for raw in raws)

    response = change_password(laptop)

    assert response.status_code == 302
    # The row itself is gone at once (a live meeting room open on the phone checks for it), not
    # only refused on the phone's next page load.
    assert not session_row_exists(phone)
    assert is_signed_in(laptop)
    assert not is_signed_in(phone)
    assert is_signed_in(stranger)
    for raw in raws:
        answer = api_me(raw)
        assert answer.status_code == 401
        assert answer.json() == {
            "code": "unauthenticated",
            "message": "Sign in or send a valid token.",
            "detail": None,
        }
    assert said(response) == [
        "Your password is changed. You're still signed in here, and any other device that was "
        "signed in to your account has been signed out. Your 2 API tokens were revoked too, so "
        "any app using them will need a new one."
    ]
    [event] = AuditEvent.objects.filter(action=AuditAction.ACCOUNT_PASSWORD_CHANGED)
    assert (event.actor, event.subject, event.target_id) == (user, user, str(user.pk))
    assert event.data == {"how": "changed", "sessions_ended": 1, "tokens_revoked": 2}


def test_the_current_device_stays_listed_and_the_others_are_gone() -> None:
    user = UserFactory()
    laptop, _phone = signed_in(user), signed_in(user)
    change_password(laptop)
    [left] = UserSession.objects.filter(user=user)
    assert left.session_key == laptop.cookies["sessionid"].value
    assert left.exists()


def test_without_tokens_the_message_does_not_mention_them() -> None:
    user = UserFactory()
    laptop = signed_in(user)
    response = change_password(laptop)
    [message] = said(response)
    assert message == (
        "Your password is changed. You're still signed in here, and any other device that was "
        "signed in to your account has been signed out."
    )


def test_the_tokens_page_shows_no_working_token_after_a_change() -> None:
    user = UserFactory()
    laptop = signed_in(user)
    token(user)
    token(user)
    change_password(laptop)
    page = laptop.get(reverse("tokens")).content.decode()
    assert page.count("<td>Revoked</td>") == 2
    assert ">Revoke<" not in page
    assert not PersonalAccessToken.objects.filter(user=user, revoked_at__isnull=True).exists()


def test_a_failed_change_changes_nothing() -> None:
    user = UserFactory()
    laptop, phone = signed_in(user), signed_in(user)
    raw = token(user)
    response = laptop.post(
        reverse("account_change_password"),
        {
            "oldpassword": "not my password at all",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 200
    assert is_signed_in(laptop) and is_signed_in(phone)
    assert api_me(raw).status_code == 200
    assert not AuditEvent.objects.filter(action=AuditAction.ACCOUNT_PASSWORD_CHANGED).exists()


def test_the_password_changed_email_is_on_and_says_nothing_clinical() -> None:
    user = UserFactory(display_name="Quiet Heron")
    EnrollmentFactory(member=user, cohort=CohortFactory(program__title="Grief and Loss Circle"))
    laptop = signed_in(user)
    mail.outbox.clear()
    change_password(laptop)
    [message] = mail.outbox
    assert message.to == [user.email]
    assert "password" in message.body.lower() and "circlecare" in message.subject
    for private in ("Quiet Heron", "Grief", "Circle", "PHQ", "988"):
        assert private not in message.subject + message.body


def test_the_password_changed_email_gives_the_time_in_the_members_own_zone() -> None:
    user = UserFactory(time_zone="Asia/Tokyo")
    laptop = signed_in(user)
    mail.outbox.clear()
    before = timezone.now()
    change_password(laptop)
    after = timezone.now()
    [message] = mail.outbox
    stamps = {format_local(at, "Asia/Tokyo") for at in (before, after)}
    assert any(f"Date: {stamp}" in message.body for stamp in stamps), message.body
    assert "JST" in message.body and "UTC" not in message.body


# Password reset


def test_a_reset_signs_out_every_device_and_revokes_tokens() -> None:
    user = UserFactory()
    phone = signed_in(user)
    raw = token(user)
    elsewhere = Client()

    response = reset_password(elsewhere, user.email)

    assert response.status_code == 200
    assert not session_row_exists(phone)
    assert not is_signed_in(phone)
    assert api_me(raw).status_code == 401
    assert said(response) == [
        "Your password is changed, and every device that was signed in to your account has been "
        "signed out. Your API token was revoked too, so any app using it will need a new one. "
        "Please sign in with your new password."
    ]
    [event] = AuditEvent.objects.filter(action=AuditAction.ACCOUNT_PASSWORD_CHANGED)
    assert event.data == {"how": "reset", "sessions_ended": 1, "tokens_revoked": 1}
    [notice] = mail.outbox
    assert notice.to == [user.email] and "password" in notice.body.lower()
    # The new password works, from any browser.
    assert is_signed_in(signed_in(user, NEW_PASSWORD))


def test_a_reset_from_a_browser_signed_in_as_the_member_signs_that_one_out_too() -> None:
    user = UserFactory()
    laptop, phone = signed_in(user), signed_in(user)
    old_key = laptop.cookies["sessionid"].value

    response = reset_password(laptop, user.email)

    assert response.status_code == 200
    assert not is_signed_in(laptop) and not is_signed_in(phone)
    assert not Session.objects.filter(session_key=old_key).exists()
    assert not UserSession.objects.filter(user=user).exists()
    assert "Please sign in with your new password." in said(response)[0]


# Password set (an account that had no usable password)


def test_setting_a_first_password_signs_out_every_other_device() -> None:
    user = UserFactory()
    laptop, phone = signed_in(user), signed_in(user)
    user.set_unusable_password()
    user.save()
    # Both stay signed in as they would after signing in without a password.
    for browser in (laptop, phone):
        session = browser.session
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
    raw = token(user)
    assert is_signed_in(laptop) and is_signed_in(phone)

    response = laptop.post(
        reverse("account_set_password"), {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )

    assert response.status_code == 302
    assert not session_row_exists(phone)
    assert is_signed_in(laptop)
    assert not is_signed_in(phone)
    assert api_me(raw).status_code == 401
    [message] = said(response)
    assert message.startswith("Your password is set. You're still signed in here")
    [event] = AuditEvent.objects.filter(action=AuditAction.ACCOUNT_PASSWORD_CHANGED)
    assert event.data == {"how": "set", "sessions_ended": 1, "tokens_revoked": 1}


# Changed outside the member's own pages: by an administrator, or at the command line


def admin_changes_password(admin: Client, member: User, data: dict[str, str] | None = None) -> Any:
    return admin.post(
        reverse("admin:auth_user_password_change", args=[member.pk]),
        data or {"usable_password": "true", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )


def test_an_administrator_changing_a_members_password_signs_them_out_everywhere() -> None:
    member = UserFactory()
    laptop, phone = signed_in(member), signed_in(member)
    raw = token(member)
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    admin = Client()
    admin.force_login(admin_user)
    mail.outbox.clear()

    response = admin_changes_password(admin, member)

    assert response.status_code == 302
    # Nobody changed it from the member's browsers, so none of them is kept.
    assert not session_row_exists(laptop) and not session_row_exists(phone)
    assert not is_signed_in(laptop) and not is_signed_in(phone)
    assert not UserSession.objects.filter(user=member).exists()
    assert api_me(raw).status_code == 401
    assert admin.get(reverse("admin:index")).status_code == 200
    assert (
        f"{member.email} has been signed out on every device. Their API token was revoked too."
        in (said(response))
    )
    [event] = AuditEvent.objects.filter(action=AuditAction.ACCOUNT_PASSWORD_CHANGED)
    assert (event.actor, event.subject, event.target_id) == (admin_user, member, str(member.pk))
    assert event.data == {"how": "admin", "sessions_ended": 2, "tokens_revoked": 1}
    [notice] = mail.outbox
    assert notice.to == [member.email] and "Your password was changed." in notice.body
    # The member is told the practice did it, not the administrator's address and browser.
    assert "The practice's staff made this change on " in notice.body
    assert "IP address" not in notice.body and "Browser" not in notice.body
    assert is_signed_in(signed_in(member, NEW_PASSWORD))


def test_an_administrator_changing_their_own_password_stays_signed_in_there() -> None:
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    admin, other = signed_in(admin_user), signed_in(admin_user)

    response = admin_changes_password(admin, admin_user)

    assert response.status_code == 302
    assert admin.get(reverse("admin:index")).status_code == 200
    assert not session_row_exists(other) and not is_signed_in(other)
    assert (
        "You're still signed in here, and any other device that was signed in to your account "
        "has been signed out."
    ) in said(response)
    [event] = AuditEvent.objects.filter(action=AuditAction.ACCOUNT_PASSWORD_CHANGED)
    assert (event.actor, event.subject) == (admin_user, admin_user)
    assert event.data == {"how": "admin", "sessions_ended": 1, "tokens_revoked": 0}


def test_switching_off_password_sign_in_in_the_admin_signs_the_member_out_too() -> None:
    member = UserFactory()
    phone = signed_in(member)
    raw = token(member)
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = admin_changes_password(
        admin, member, {"usable_password": "false", "unset-password": "1"}
    )

    assert response.status_code == 302
    member.refresh_from_db()
    assert not member.has_usable_password()
    assert not session_row_exists(phone)
    assert api_me(raw).status_code == 401
    assert AuditEvent.objects.filter(action=AuditAction.ACCOUNT_PASSWORD_CHANGED).count() == 1


def test_a_change_the_admin_refuses_changes_nothing() -> None:
    member = UserFactory()
    phone = signed_in(member)
    raw = token(member)
    admin = Client()
    admin.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = admin_changes_password(
        admin,
        member,
        {"usable_password": "true", "password1": NEW_PASSWORD, "password2": "something else"},
    )

    assert response.status_code == 200
    assert is_signed_in(phone)
    assert api_me(raw).status_code == 200
    assert not AuditEvent.objects.filter(action=AuditAction.ACCOUNT_PASSWORD_CHANGED).exists()


def test_changepassword_at_the_command_line_signs_the_member_out_everywhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    member = UserFactory()
    phone = signed_in(member)
    raw = token(member)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": NEW_PASSWORD)
    out = StringIO()
    mail.outbox.clear()

    call_command("changepassword", member.email, stdout=out)

    assert not session_row_exists(phone) and not is_signed_in(phone)
    assert api_me(raw).status_code == 401
    assert "Signed out everywhere: 1 session ended, 1 API token revoked." in out.getvalue()
    [event] = AuditEvent.objects.filter(action=AuditAction.ACCOUNT_PASSWORD_CHANGED)
    # Nobody is signed in at the command line: the event names no one as having done it.
    assert (event.actor, event.subject) == (None, member)
    assert event.data == {"how": "command", "sessions_ended": 1, "tokens_revoked": 1}
    # The owner hears of it, as after a change in the admin.
    [notice] = mail.outbox
    assert notice.to == [member.email] and "Your password was changed." in notice.body
    assert "The practice's staff made this change on " in notice.body
    assert "IP address" not in notice.body
    assert is_signed_in(signed_in(member, NEW_PASSWORD))


def test_changepassword_for_another_database_is_refused_and_changes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    member = UserFactory()
    before = User.objects.get(pk=member.pk).password
    monkeypatch.setattr("getpass.getpass", lambda prompt="": NEW_PASSWORD)

    with pytest.raises(CommandError, match="default database only"):
        call_command("changepassword", member.email, database="other", stdout=StringIO())

    assert User.objects.get(pk=member.pk).password == before
    assert not AuditEvent.objects.filter(action=AuditAction.ACCOUNT_PASSWORD_CHANGED).exists()


# E-mail address change: the owner updating details, not a sign of someone else in the account.


def test_changing_the_email_keeps_devices_and_tokens_and_tells_the_old_address() -> None:
    user = UserFactory(email="old@example.org")
    laptop, phone = signed_in(user), signed_in(user)
    raw = token(user)
    EmailAddress.objects.create(user=user, email="new@example.org", verified=True, primary=False)
    mail.outbox.clear()

    response = laptop.post(
        reverse("account_email"), {"action_primary": "", "email": "new@example.org"}
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.email == "new@example.org"
    assert is_signed_in(laptop) and is_signed_in(phone)
    assert api_me(raw).status_code == 200
    [notice] = mail.outbox
    assert notice.to == ["old@example.org"]
    assert "new@example.org" in notice.body


# Removing the second factor


def signed_in_with_code(user: User, secret: str) -> Client:
    browser = Client()
    browser.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    browser.post(reverse("mfa_authenticate"), {"code": code_for(secret)})
    assert is_signed_in(browser)
    return browser


def remove_authenticator(browser: Client) -> Any:
    # Removing a factor asks for the password again first.
    browser.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    mail.outbox.clear()
    return browser.post(reverse("mfa_deactivate_totp"))


def test_removing_the_authenticator_revokes_the_tokens_made_with_it() -> None:
    user = UserFactory()
    laptop = signed_in_with_code(user, enable_totp(user))
    with_factor = token(user, second_factor=True)
    without = token(user)

    response = remove_authenticator(laptop)

    assert response.status_code == 302, response.content.decode()[-3000:]
    assert not user.authenticator_set.filter(type="totp").exists()
    assert api_me(with_factor).status_code == 401
    assert api_me(without).status_code == 200
    assert is_signed_in(laptop)
    assert any("Your API token made while two-factor" in m for m in said(response))
    [event] = AuditEvent.objects.filter(action=AuditAction.ACCOUNT_MFA_REMOVED)
    assert event.data == {"sessions_ended": 0, "tokens_revoked": 1}
    assert [m.to for m in mail.outbox] == [[user.email]]


def test_removing_the_authenticator_signs_out_every_other_device() -> None:
    user = UserFactory()
    # Signed in before the app was set up, so without a code: it may be someone else's browser.
    phone = signed_in(user)
    laptop = signed_in_with_code(user, enable_totp(user))
    stranger = signed_in(UserFactory())

    response = remove_authenticator(laptop)

    assert response.status_code == 302
    assert not session_row_exists(phone)
    assert not is_signed_in(phone)
    assert is_signed_in(laptop) and is_signed_in(stranger)
    [left] = UserSession.objects.filter(user=user)
    assert left.session_key == laptop.cookies["sessionid"].value
    assert (
        "You're still signed in here, and any other device that was signed in to your account "
        "has been signed out."
    ) in said(response)
    [event] = AuditEvent.objects.filter(action=AuditAction.ACCOUNT_MFA_REMOVED)
    assert (event.actor, event.subject) == (user, user)
    assert event.data == {"sessions_ended": 1, "tokens_revoked": 0}


# Revoking one token


def test_revoking_one_token_is_audited_by_name_never_by_secret() -> None:
    user = UserFactory()
    laptop = signed_in(user)
    calendar, raw = create_token(
        user=user, name="Calendar", scopes=["read"], lifetime=timedelta(days=30), mfa_verified=False
    )
    kept = token(user)

    response = laptop.post(reverse("token_revoke", args=[calendar.pk]))

    assert response.status_code == 302
    assert api_me(raw).status_code == 401
    assert api_me(kept).status_code == 200
    [event] = AuditEvent.objects.filter(action=AuditAction.ACCOUNT_TOKEN_REVOKED)
    assert (event.actor, event.subject) == (user, user)
    assert (event.target_type, event.target_id) == (
        "accounts.personalaccesstoken",
        str(calendar.pk),
    )
    assert event.data == {"name": "Calendar"}
    # Revoking it again changes nothing, so records nothing.
    laptop.post(reverse("token_revoke", args=[calendar.pk]))
    assert AuditEvent.objects.filter(action=AuditAction.ACCOUNT_TOKEN_REVOKED).count() == 1


# The service itself


@pytest.mark.django_db(transaction=True)
def test_revoking_every_token_runs_only_inside_a_service_transaction() -> None:
    user = UserFactory()
    token(user)
    with pytest.raises(AssertionError):
        revoke_all_tokens(user=user)
    assert PersonalAccessToken.objects.filter(user=user, revoked_at__isnull=True).exists()


def test_expired_and_already_revoked_tokens_are_not_counted() -> None:
    user = UserFactory()
    token(user)
    old, _raw = create_token(
        user=user, name="old", scopes=["read"], lifetime=timedelta(days=1), mfa_verified=False
    )
    PersonalAccessToken.objects.filter(pk=old.pk).update(
        created_at=old.created_at - timedelta(days=3), expires_at=old.created_at - timedelta(days=2)
    )
    outcome = secure_after_password_change(
        user=user, how="changed", keep_session_key=None, actor=user
    )
    assert outcome.tokens_revoked == 1
    with transaction.atomic():
        assert revoke_all_tokens(user=user) == 0
