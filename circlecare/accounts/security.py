"""Session and second-factor rules (SECURITY.md A4, A5).

- Staff, clinicians and facilitators must have TOTP set up *and* have used it in this session before
  any page beyond the public site and their account settings: those pages hold clinical data.
- Idle sessions end after 15 minutes for those roles and 30 for members; every session ends 12 hours
  after login, however active.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from allauth.account.internal.flows.login import (
    AUTHENTICATION_METHODS_SESSION_KEY,
    get_authentication_records,
    record_authentication,
)
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

LAST_SEEN = "circlecare_last_seen"
LOGIN_AT = "circlecare_login_at"
ROLE = "circlecare_staff_role"
MEMBER_SIDE = "circlecare_member_side"
#: Activity is written to the session at most this often (seconds): every request would be a write.
SEEN_GRANULARITY = 60
#: Whether someone leads a group is re-read this often (seconds); coordinator and facilitator flags
#: on the account itself are read on every request.
ROLE_RECHECK = 300

#: Asked by open pages whether the session is still signed in: answering is not activity, or an
#: idle tab asking would keep the session alive for ever (see circlecare.js, idleWarning).
QUIET_PATHS = ("/accounts/session-status/",)

#: Paths anyone may use without a second factor: the public site, sign-in and account settings.
OPEN_PREFIXES = ("/accounts/", "/static/", "/health/", "/groups/", "/contact/", "/favicon")
OPEN_EXACT = ("/",)


def needs_mfa(user: Any) -> bool:
    """Roles that see clinical data: coordinators, clinicians and facilitators."""
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_staff or user.is_facilitator or _clinician_or_leads(user))


def _clinician_or_leads(user: Any) -> bool:
    """A clinician, or someone who leads or co-leads a group: one query."""
    from django.contrib.auth import get_user_model

    from circlecare.practice.models import Clinician
    from circlecare.programs.models import Cohort

    me = OuterRef("pk")
    return (
        get_user_model()
        .objects.filter(pk=user.pk)
        .filter(
            Exists(Clinician.objects.filter(user=me))
            | Exists(Cohort.objects.filter(lead=me))
            | Exists(Cohort.objects.filter(co_facilitator=me))
        )
        .exists()
    )


def staff_role(request: HttpRequest, now: float) -> bool:
    """``needs_mfa`` for the signed-in user, remembered in the session for a few minutes."""
    user = request.user
    if user.is_staff or getattr(user, "is_facilitator", False):
        return True
    return _remembered(request, ROLE, now, lambda: needs_mfa(user))


def _remembered(request: HttpRequest, key: str, now: float, ask: Callable[[], bool]) -> bool:
    """``ask()``, kept in the session under ``key`` and asked again after ``ROLE_RECHECK``."""
    remembered = request.session.get(key)
    if isinstance(remembered, list) and len(remembered) == 2 and now - remembered[0] < ROLE_RECHECK:
        return bool(remembered[1])
    value = ask()
    request.session[key] = [now, value]
    return value


def member_side(request: HttpRequest, now: float) -> bool:
    """For someone in a staff role: whether they also have, or had, a place in a group as a
    member, so the menu offers them a member's own pages too (remembered in the session for a
    few minutes, as the role is; ``forget_member_side`` after they join a group)."""
    from circlecare.enrollment.models import Enrollment

    member_id = request.user.pk
    return _remembered(
        request, MEMBER_SIDE, now, lambda: Enrollment.objects.filter(member_id=member_id).exists()
    )


def forget_member_side(request: HttpRequest) -> None:
    """They have just taken a place in a group: the next page asks again (``member_side``)."""
    request.session.pop(MEMBER_SIDE, None)


def has_totp(user: Any) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def mfa_used_this_session(request: HttpRequest) -> bool:
    records = get_authentication_records(request, request.user)
    return any(record.get("method") == "mfa" for record in records)


def second_factor_satisfied(user: Any, session: Any) -> bool:
    """For sockets and other non-view code: False when a staff role has not used TOTP in this session."""
    if not (settings.MFA_REQUIRED_FOR_STAFF and needs_mfa(user)):
        return True

    class _Carrier:
        pass

    carrier = _Carrier()
    carrier.session = session  # type: ignore[attr-defined]
    records = get_authentication_records(carrier, user)
    return any(record.get("method") == "mfa" for record in records)


def mark_mfa_used(request: HttpRequest, user: Any) -> None:
    """Setting up TOTP proves possession of it: count it as used in this session."""
    record_authentication(request, user, method="mfa", type="totp")


def forget_mfa_used(request: HttpRequest) -> None:
    """The authenticator app is gone: this session no longer counts as having used it, so a
    staff role is asked to set one up again before the next clinical page, as at sign-in."""
    records = get_authentication_records(request, request.user)
    kept = [record for record in records if record.get("method") != "mfa"]
    if len(kept) != len(records):
        request.session[AUTHENTICATION_METHODS_SESSION_KEY] = kept


def idle_limit(request: HttpRequest) -> int:
    """Seconds without a request before this person is signed out (staff roles sooner)."""
    staff = getattr(request, "staff_role", False)
    return int(settings.IDLE_TIMEOUT_STAFF if staff else settings.IDLE_TIMEOUT_MEMBER)


def seconds_left(request: HttpRequest) -> int:
    """How long this signed-in session has before the idle or the absolute limit ends it."""
    now = time.time()
    session = request.session
    idle = idle_limit(request) - (now - session.get(LAST_SEEN, now))
    absolute = settings.SESSION_ABSOLUTE_LIMIT - (now - session.get(LOGIN_AT, now))
    return max(0, int(min(idle, absolute)))


def _is_open(path: str) -> bool:
    return path in OPEN_EXACT or path.startswith(OPEN_PREFIXES)


class SessionPolicyMiddleware:
    """Ends idle and over-age sessions, and holds staff roles at the second factor."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            now = time.time()
            session = request.session
            login_at = session.setdefault(LOGIN_AT, now)
            last_seen = session.get(LAST_SEEN, now)
            is_staff_role = staff_role(request, now)
            request.staff_role = is_staff_role  # type: ignore[attr-defined]
            # Members see their own pages in the menu; staff only when they are members too.
            request.member_side = not is_staff_role or member_side(request, now)  # type: ignore[attr-defined]
            limit = idle_limit(request)
            quiet = request.path in QUIET_PATHS
            if now - last_seen > limit or now - login_at > settings.SESSION_ABSOLUTE_LIMIT:
                from circlecare.measures.views import crisis_response, risk_answer_from_signed_out

                note = risk_answer_from_signed_out(request, user)
                logout(request)
                if note:
                    # A questionnaire answered slowly, with a risk answer: support first.
                    return crisis_response(request, note=note)
                if quiet:
                    # The page that asked says so itself; the view answers "signed out".
                    return self.get_response(request)
                messages.info(
                    request,
                    "You were signed out to keep your information safe. Please sign in again.",
                )
                return redirect(f"{settings.LOGIN_URL_PATH}?next={request.path}")
            if not quiet and (now - last_seen >= SEEN_GRANULARITY or LAST_SEEN not in session):
                session[LAST_SEEN] = now
            if (
                is_staff_role
                and settings.MFA_REQUIRED_FOR_STAFF
                and not _is_open(request.path)
                and not mfa_used_this_session(request)
            ):
                if has_totp(user):
                    # Signed in before the second factor was required: sign in again with it.
                    logout(request)
                    messages.info(request, "Please sign in again with your authenticator code.")
                    return redirect(f"{settings.LOGIN_URL_PATH}?next={request.path}")
                messages.info(
                    request,
                    "Because you can see members' clinical information, please set up two-factor "
                    "authentication first. It takes a minute with an authenticator app.",
                )
                return redirect("mfa_activate_totp")
        return self.get_response(request)
