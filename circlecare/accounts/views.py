from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from allauth.account.views import SignupView as AllauthSignupView
from allauth.core import ratelimit
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from circlecare.accounts.data_rights import (
    RETAINED_NOTICE,
    StillLeading,
    delete_account,
    export_member_data,
    groups_still_led,
)
from circlecare.accounts.forms import DeleteAccountForm, ProfileForm, TokenForm
from circlecare.accounts.models import CONTACT_LANGUAGES, PersonalAccessToken, User
from circlecare.accounts.security import mfa_used_this_session, seconds_left
from circlecare.accounts.tokens import create_token, revoke_token
from circlecare.accounts.validators import selectable_zones
from circlecare.audit.models import AuditAction
from circlecare.audit.services import record
from circlecare.errors import DomainError
from circlecare.middleware import reported_zone
from circlecare.states import HOME_STATE_CHOICES


class SignupView(AllauthSignupView):
    """allauth's sign-up, with the time zone already set to the one the visitor's browser
    reported (``static/js/local-time.js``), so times are right from the first e-mail. Without
    it the list asks them to choose."""

    def get_initial(self) -> dict[str, object]:
        initial = dict(super().get_initial())
        zone = reported_zone(self.request)
        initial["time_zone"] = zone if zone in selectable_zones() else ""
        return initial


signup = SignupView.as_view()


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST if request.method == "POST" else None, instance=request.user)
    if request.method == "POST":
        moved = "home_state" in form.changed_data
        if form.is_valid():
            form.save()
            messages.success(request, "Your details are saved.")
            if moved:
                _tell_about_therapy_places(request, cast(User, request.user))
            return redirect("profile")
        return render(request, "accounts/profile.html", {"form": form}, status=400)
    return render(request, "accounts/profile.html", {"form": form})


def _tell_about_therapy_places(request: HttpRequest, user: User) -> None:
    """After a move: what it means for a therapy group whose clinician can't see people there."""
    from circlecare.practice.eligibility import outside_notice, therapy_places_now_outside

    for cohort, states, status in therapy_places_now_outside(user):
        messages.warning(request, outside_notice(cohort, states, status, user.home_state))


def health(request: HttpRequest) -> HttpResponse:
    """Liveness with one database round trip; also the floor that benchmarks compare against."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return JsonResponse({"ok": True})


@never_cache
@require_safe
def session_status(request: HttpRequest) -> HttpResponse:
    """Whether this browser is still signed in, and for how long without another request.

    Open tabs ask before saying "You've been signed out", since another tab may have kept the
    session alive. Asking is not activity (SessionPolicyMiddleware leaves LAST_SEEN alone here).
    """
    if not request.user.is_authenticated:
        return JsonResponse({"signed_in": False, "seconds_left": 0})
    return JsonResponse({"signed_in": True, "seconds_left": seconds_left(request)})


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    """Personal access tokens: listed, created (the secret shown once) and revoked."""
    form = TokenForm(request.POST if request.method == "POST" else None)
    created_secret = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                _token, created_secret = create_token(
                    user=cast(User, request.user),
                    name=form.cleaned_data["name"],
                    scopes=form.cleaned_data["scopes"],
                    lifetime=timedelta(days=form.cleaned_data["days"]),
                    mfa_verified=mfa_used_this_session(request),
                )
                form = TokenForm()
            except DomainError as exc:
                form.add_error(None, exc.message)
                status = 400
        else:
            status = 400
    listed = PersonalAccessToken.objects.filter(user=cast(User, request.user))
    return render(
        request,
        "accounts/tokens.html",
        {"form": form, "tokens": listed, "created_secret": created_secret},
        status=status,
    )


@login_required
@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = PersonalAccessToken.objects.filter(pk=pk, user=cast(User, request.user)).first()
    if token is None:
        raise Http404
    revoke_token(token=token, actor=request.user)
    messages.success(request, f"The token “{token.name}” no longer works.")
    return redirect("tokens")


@login_required
def my_data(request: HttpRequest) -> HttpResponse:
    """Everything we hold about you: a readable page, or ?format=json to download it."""
    user = cast(User, request.user)
    data = export_member_data(user)
    record(actor=user, action=AuditAction.ACCOUNT_EXPORTED, target=user, subject=user)
    request.clinical = True  # type: ignore[attr-defined]
    if request.GET.get("format") == "json":
        response = JsonResponse(data, json_dumps_params={"indent": 2, "ensure_ascii": False})
        response["Content-Disposition"] = 'attachment; filename="circlecare-my-data.json"'
        return response
    return render(
        request,
        "accounts/my_data.html",
        {"data": _readable_sections(data), "details": _readable_profile(data)},
    )


#: The download's profile keys in the words the profile page uses.
PROFILE_LABELS = {
    "email": "E-mail",
    "display_name": "Name shown to your group",
    "home_state": "Where you live",
    "time_zone": "Your time zone",
    "language": "Language you'd like to be contacted in",
    "email_reminders": "E-mail reminders",
    "care_nudges": "Care nudges",
    "care_replies": "E-mails about responses to your posts, thanks, and plans called off",
    "joined": "Joined",
}


#: Coded profile values in the words the profile form shows ("XX" means "I live outside the US").
READABLE_CODES: dict[str, dict[str, str]] = {
    "home_state": dict(HOME_STATE_CHOICES),
    "language": dict(CONTACT_LANGUAGES),
}


def _readable_profile(data: dict[str, object]) -> list[tuple[str, object]]:
    profile = data["profile"]
    assert isinstance(profile, dict)
    rows: list[tuple[str, object]] = []
    for key, value in profile.items():
        if isinstance(value, bool):
            value = "On" if value else "Off"
        elif key in READABLE_CODES and isinstance(value, str):
            # The download keeps the codes; the page says them as the profile form does.
            value = READABLE_CODES[key].get(value, value)
        elif key == "time_zone" and isinstance(value, str) and "/" in value:
            # "America/New_York" is a code too: the form offers it as New York, under America.
            region, place = value.split("/", 1)
            value = f"{place.replace('_', ' ').replace('/', ' / ')} ({region})"
        rows.append((PROFILE_LABELS.get(key, key.replace("_", " ").capitalize()), value))
    return rows


def _section_words() -> dict[str, dict[str, dict[str, str]]]:
    """Each list's coded values (a status, a kind) in the words the rest of the site uses."""
    from circlecare.care.models import BlockKind, MatchStatus, PostKind, PostStatus
    from circlecare.enrollment.models import EnrollmentStatus, PartnerInviteStatus
    from circlecare.meetings.models import AttendanceStatus

    return {
        "groups": {"status": dict(EnrollmentStatus.choices)},
        "attendance": {"status": dict(AttendanceStatus.choices)},
        "care_posts": {"kind": dict(PostKind.choices), "status": dict(PostStatus.choices)},
        "care_matches": {"status": dict(MatchStatus.choices)},
        "blocks_and_mutes": {"kind": dict(BlockKind.choices)},
        "partner_invitations_sent": {"status": dict(PartnerInviteStatus.choices)},
    }


def _readable_sections(data: dict[str, Any]) -> dict[str, Any]:
    """The page's copy of the download with codes such as "waitlisted" or "agreed" said in
    words; the download itself keeps the codes, which programs read."""
    readable = dict(data)
    for section, fields in _section_words().items():
        readable[section] = [
            {
                **row,
                **{
                    key: words.get(row[key], row[key])
                    for key, words in fields.items()
                    if isinstance(row.get(key), str)
                },
            }
            for row in data.get(section, [])
        ]
    return readable


@login_required
def delete(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    form = DeleteAccountForm(request.POST if request.method == "POST" else None, user=user)
    context = {"form": form, "retained": RETAINED_NOTICE, "led": groups_still_led(user)}
    if request.method == "POST":
        # The form says whether the password is right: tries are limited as sign-ins are.
        limited = ratelimit.consume_or_429(request, action="delete_account", user=user)
        if limited is not None:
            return limited
        if form.is_valid():
            try:
                delete_account(member=user)
            except StillLeading as error:
                form.add_error(None, error.message)
            except DomainError as error:
                # A group busy with other joiners (a bounded lock wait ran out) while leaving it:
                # the account stays open, and pressing again finishes the job.
                form.add_error(None, f"{error.message} Your account has not been closed yet.")
                return render(request, "accounts/delete.html", context, status=error.status)
            else:
                logout(request)
                return render(request, "accounts/deleted.html", {"retained": RETAINED_NOTICE})
        return render(request, "accounts/delete.html", context, status=400)
    return render(request, "accounts/delete.html", context)
