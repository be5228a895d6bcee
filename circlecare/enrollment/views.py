"""Thin views over enrollment's services and queries. Another person's object always answers 404."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from circlecare import distress
from circlecare.accounts.http import local_path
from circlecare.accounts.security import forget_member_side
from circlecare.care import queries as care_queries
from circlecare.enrollment import queries, services, steps
from circlecare.enrollment.consents import asked_for_at, consents_missing
from circlecare.enrollment.errors import InviteInvalid, NotAllowed
from circlecare.enrollment.forms import (
    CapacityForm,
    ConsentForm,
    PartnerInviteForm,
    RemoveForm,
    WithdrawForm,
)
from circlecare.enrollment.models import LIVE, Enrollment, EnrollmentStatus, PartnerInvite
from circlecare.errors import DomainError
from circlecare.programs.models import Cohort
from circlecare.programs.queries import joining_cohort, visible_cohort


def _visible_cohort(cohort_id: int, read: Callable[[int], Cohort] = visible_cohort) -> Cohort:
    """A cohort a visitor may see (not a draft), with its lead's licences loaded for eligibility."""
    try:
        return read(cohort_id)
    except Cohort.DoesNotExist:
        raise Http404("No such group") from None


def _own_enrollment(request: HttpRequest, pk: int) -> Enrollment:
    return get_object_or_404(
        Enrollment.objects.select_related("cohort", "cohort__program", "member").defer(
            "member__password"
        ),
        pk=pk,
        member=request.user,
    )


def _staff_cohort(request: HttpRequest, cohort_id: int) -> Cohort:
    cohort = queries.staff_cohort(cohort_id)
    if cohort is None or not (request.user.is_staff or cohort.is_led_by(request.user)):
        raise Http404("No such group")
    return cohort


def _safe_next(request: HttpRequest, default: str) -> str:
    return local_path(request.POST.get("next") or request.GET.get("next")) or default


def _next_step_url(cohort: Cohort) -> str:
    return cohort.get_absolute_url() + "#next-step"


def _error_page(
    request: HttpRequest, cohort: Cohort, error: DomainError, **context: Any
) -> HttpResponse:
    if isinstance(error, NotAllowed):
        raise Http404("No such group")
    return render(
        request,
        "enrollment/join.html",
        {"cohort": cohort, "program": cohort.program, "error": error, **context},
        status=error.status,
    )


# --------------------------------------------------------------------------------------------------
# Member pages


@login_required
def my_groups(request: HttpRequest) -> HttpResponse:
    cards, past = queries.my_groups(request.user)
    # Only someone in a staff role (a coordinator, or a group's lead or co-lead: see
    # accounts.security.staff_role) runs groups; for everyone else there is nothing to look up.
    led = queries.cohorts_run_by(request.user) if getattr(request, "staff_role", True) else []
    return render(
        request,
        "enrollment/my_groups.html",
        {
            "cards": cards,
            "past": past,
            "led": led,
            "invitations": queries.invitations_waiting(request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = _visible_cohort(cohort_id, joining_cohort)
    if request.method == "GET":
        return redirect(_next_step_url(cohort))
    try:
        enrollment = services.enroll(member=request.user, cohort=cohort)
    except DomainError as error:
        return _error_page(request, cohort, error)
    forget_member_side(request)
    if enrollment.status == EnrollmentStatus.CONFIRMED:
        messages.success(request, "Your seat is confirmed. Welcome to the group.")
    elif enrollment.status == EnrollmentStatus.OFFERED:
        messages.success(request, "A seat is free for you: please accept it below.")
    else:
        position = getattr(enrollment, "place", None) or queries.waiting_position(enrollment)
        messages.info(
            request,
            f"The group is full, so you're on the waiting list (number {position}). "
            "We'll e-mail you if a seat frees up.",
        )
    return redirect("enrollment:my_groups")


@login_required
@require_http_methods(["GET", "POST"])
def consents(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = _visible_cohort(cohort_id)
    missing = consents_missing(request.user, cohort, at=asked_for_at(cohort))
    done_url = _safe_next(request, _next_step_url(cohort))
    if not missing:
        messages.info(request, "You've signed every agreement this group needs.")
        return redirect(done_url)
    form = ConsentForm(request.POST if request.method == "POST" else None, documents=missing)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.sign_consents(
                    member=request.user,
                    documents=missing,
                    signed_name=form.cleaned_data["signed_name"],
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, "Thank you: your agreements are signed.")
                return redirect(done_url)
        return render(
            request,
            "enrollment/consents.html",
            {"cohort": cohort, "program": cohort.program, "form": form, "next": done_url},
            status=400,
        )
    return render(
        request,
        "enrollment/consents.html",
        {"cohort": cohort, "program": cohort.program, "form": form, "next": done_url},
    )


@login_required
@require_POST
def accept(request: HttpRequest, pk: int) -> HttpResponse:
    enrollment = _own_enrollment(request, pk)
    try:
        services.accept_offer(enrollment=enrollment, actor=request.user)
    except DomainError as error:
        step = error.detail.get("url") if isinstance(error.detail, dict) else None
        if step:
            # A step to take first (new agreements, or an intake a place taken long ago never
            # had for this group): take the member there, and back here to accept while the
            # offer stands.
            messages.info(request, error.message)
            return redirect(f"{step}?{urlencode({'next': reverse('enrollment:my_groups')})}")
        messages.error(request, error.message)
    else:
        messages.success(request, "Your seat is confirmed. Welcome to the group.")
    return redirect("enrollment:my_groups")


@login_required
@require_POST
def decline(request: HttpRequest, pk: int) -> HttpResponse:
    enrollment = _own_enrollment(request, pk)
    # The seat goes on only to someone waiting, and only while the group takes members from its
    # list (once it has started meeting, seats are no longer offered from it). Counted before
    # the decline, which turns the next person's place into an offer.
    cohort = enrollment.cohort
    passes_on = cohort.is_joinable and cohort.waiting_count > 0
    try:
        services.decline_offer(enrollment=enrollment, actor=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        if enrollment.pairing_id is not None:
            # A couple's offer is answered for both: both places on the list have ended.
            said = (
                "You've declined the seats for you and your partner, so you have both left the "
                "waiting list"
            )
            offered_on = "; they will be offered to the next people waiting."
        else:
            said, offered_on = (
                "You've declined the seat and left the waiting list",
                "; it will be offered to the next person waiting.",
            )
        messages.info(request, said + (offered_on if passes_on else "."))
    return redirect("enrollment:my_groups")


@login_required
@require_http_methods(["GET", "POST"])
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    enrollment = _own_enrollment(request, pk)
    if not enrollment.is_live:
        # Said for every way a place ends: left, declined, removed by the practice, completed.
        messages.info(request, "Your place in this group has already ended.")
        return redirect("enrollment:my_groups")
    # Bound on every POST: leaving a waiting list sends no fields, and an unbound form would
    # refuse it without a word.
    form = WithdrawForm(request.POST if request.method == "POST" else None)

    def page(status: int = 200) -> HttpResponse:
        # What leaving would end on the care board is counted only when the page is shown.
        care = (
            care_queries.left_behind(enrollment.member, enrollment.cohort_id)
            if enrollment.status == EnrollmentStatus.CONFIRMED
            else None
        )
        context = {"enrollment": enrollment, "cohort": enrollment.cohort, "form": form}
        return render(request, "enrollment/withdraw.html", {**context, "care": care}, status=status)

    if request.method == "POST":
        # Someone offered a seat has not taken it: they leave the waiting list, not the group.
        was_waiting = enrollment.status != EnrollmentStatus.CONFIRMED
        if form.is_valid():
            try:
                services.withdraw(
                    enrollment=enrollment,
                    actor=request.user,
                    goodbye=form.cleaned_data["goodbye"],
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                if was_waiting:
                    messages.success(request, "You've left the waiting list for this group.")
                else:
                    messages.success(
                        request, "You've left the group. Thank you for being part of it."
                    )
                    if distress.sounds_in_crisis(form.cleaned_data["goodbye"]):
                        distress.offer_support(request, distress.GOODBYE)
                return redirect("enrollment:my_groups")
        return page(status=400)
    return page()


# --------------------------------------------------------------------------------------------------
# Couples


@login_required
@require_http_methods(["GET", "POST"])
def partner_invite(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = _visible_cohort(cohort_id)
    if not cohort.program.for_couples:
        raise Http404("No such group")
    # A step still to take (the agreements, the intake) comes first, and leads back here: the
    # form would only refuse the invitation with it, and with no way on.
    requirement = steps.first_unmet(request.user, cohort)
    if requirement is not None and requirement.url:
        messages.info(request, requirement.message)
        return redirect(f"{requirement.url}?{urlencode({'next': request.path})}")
    form = PartnerInviteForm(request.POST if request.method == "POST" else None)
    # An invitation already waiting: sending again replaces its link, and the page says so.
    waiting = next(
        (i for i in queries.invitations_waiting(request.user) if i.cohort_id == cohort.pk), None
    )
    context = {"cohort": cohort, "program": cohort.program, "form": form, "waiting": waiting}
    if request.method == "POST":
        if form.is_valid():
            try:
                services.invite_partner(
                    member=request.user, cohort=cohort, email=form.cleaned_data["email"]
                )
            except DomainError as error:
                form.add_error("email", error.message)
            else:
                messages.success(
                    request,
                    "We've e-mailed your partner. When they accept, you'll take your seats "
                    "together (or wait together if the group is full).",
                )
                return redirect("enrollment:my_groups")
        return render(request, "enrollment/partner_invite.html", context, status=400)
    return render(request, "enrollment/partner_invite.html", context)


@login_required
@require_POST
def partner_invite_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        invite = services.cancel_partner_invite(invite_id=pk, member=request.user)
    except InviteInvalid:
        raise Http404("No such invitation") from None  # someone else's looks like none at all
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, f"Your invitation to {invite.email} is cancelled: its link no longer works."
        )
    return redirect("enrollment:my_groups")


def _invitation_ended(
    request: HttpRequest, invite: PartnerInvite, state: str, status: int
) -> HttpResponse:
    """What became of an invitation that can no longer be accepted, for the partner it was
    sent to, with somewhere to go next."""
    return render(
        request,
        "enrollment/partner_invite_ended.html",
        {
            "invite": invite,
            "cohort": invite.cohort,
            "state": state,
            "days": services.PARTNER_INVITE_DAYS,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def partner_accept(request: HttpRequest, token: str) -> HttpResponse:
    invite = services.invitation_by_link(token)
    # Only the address it was sent to learns anything about it: to anyone else it is no link.
    if invite is None or str(getattr(request.user, "email", "")).lower() != invite.email.lower():
        raise Http404("No such invitation")
    state = services.invitation_state(invite)
    if state != services.INVITE_OPEN:
        return _invitation_ended(
            request, invite, state, status=200 if request.method == "GET" else 409
        )
    context: dict[str, Any] = {"invite": invite, "cohort": invite.cohort}
    if request.method == "POST":
        try:
            pair = services.accept_partner_invite(token=token, member=request.user)
        except DomainError as error:
            # Called off, or its group changed, while the page was open: say what happened.
            fresh = services.invitation_by_link(token)
            state = services.invitation_state(fresh) if fresh else services.INVITE_OPEN
            if fresh is not None and state != services.INVITE_OPEN:
                return _invitation_ended(request, fresh, state, status=409)
            context["error"] = error
            # Their own step that no page puts right: the same next steps as a refused join.
            context["cannot_join"] = queries.cannot_join_yet(request.user, invite.cohort)
            return render(request, "enrollment/partner_accept.html", context, status=error.status)
        forget_member_side(request)
        if all(e.status == EnrollmentStatus.CONFIRMED for e in pair):
            messages.success(request, "You've joined together: you both have a seat.")
        else:
            messages.info(
                request,
                "The group is full, so you're on the waiting list together. When two seats are "
                "free they'll be offered to you both at once.",
            )
        return redirect("enrollment:my_groups")
    return render(request, "enrollment/partner_accept.html", context)


# --------------------------------------------------------------------------------------------------
# Staff


#: Waiting-list rows per roster page.
WAITING_PER_PAGE = 50


def _roster_page(
    request: HttpRequest, cohort: Cohort, status: int = 200, **context: Any
) -> HttpResponse:
    # A long waiting list is shown a page at a time; a page number that is not one shows the
    # nearest page (the first, or the last).
    data, waiting_page = queries.roster_page(cohort, request.GET.get("waiting"), WAITING_PER_PAGE)
    context.setdefault("capacity_form", CapacityForm(initial={"capacity": cohort.capacity}))
    return render(
        request,
        "enrollment/roster.html",
        {"cohort": cohort, "roster": data, "waiting_page": waiting_page, **context},
        status=status,
    )


@login_required
def roster(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = _staff_cohort(request, cohort_id)
    return _roster_page(request, cohort)


@login_required
@require_POST
def capacity(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = _staff_cohort(request, cohort_id)
    form = CapacityForm(request.POST)
    if form.is_valid():
        try:
            services.change_capacity(
                cohort=cohort, capacity=form.cleaned_data["capacity"], actor=request.user
            )
        except DomainError as error:
            form.add_error("capacity", error.message)
        else:
            messages.success(request, "The capacity is updated.")
            return redirect("enrollment:roster", cohort_id=cohort.pk)
    return _roster_page(request, cohort, status=400, capacity_form=form)


@login_required
@require_http_methods(["GET", "POST"])
def remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff remove someone from a group: a page of its own that asks for the reason."""
    enrollment = get_object_or_404(
        Enrollment.objects.select_related("cohort", "member").defer("member__password"), pk=pk
    )
    cohort = _staff_cohort(request, enrollment.cohort_id)
    roster_url = reverse("enrollment:roster", kwargs={"cohort_id": cohort.pk})
    if enrollment.status not in LIVE:
        messages.info(request, f"{enrollment.member.display_name} is no longer in this group.")
        return redirect(roster_url)
    # A couple leaves together: the page names the partner whose place ends too.
    partner = (
        Enrollment.objects.select_related("member")
        .defer("member__password")
        .filter(pairing_id=enrollment.pairing_id, status__in=LIVE)
        .exclude(pk=enrollment.pk)
        .first()
        if enrollment.pairing_id
        else None
    )
    form = RemoveForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            services.remove(
                enrollment=enrollment, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            removed = enrollment.member.display_name
            if partner is not None:
                removed += f" and their partner {partner.member.display_name} have"
            else:
                removed += " has"
            messages.success(request, f"{removed} been removed.")
        return redirect(roster_url)
    return render(
        request,
        "enrollment/remove.html",
        {"enrollment": enrollment, "cohort": cohort, "form": form, "partner": partner},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def readmit(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff let someone the practice removed join the group again: a page of its own that says
    what it does (and does not do) before they confirm."""
    enrollment = get_object_or_404(
        Enrollment.objects.select_related("member").defer("member__password"), pk=pk
    )
    cohort = _staff_cohort(request, enrollment.cohort_id)
    roster_url = reverse("enrollment:roster", kwargs={"cohort_id": cohort.pk})
    name = enrollment.member.display_name
    if not enrollment.member.is_active:
        messages.info(request, services.ACCOUNT_CLOSED_NO_READMIT)
        return redirect(roster_url)
    if not enrollment.bars_joining:
        if enrollment.readmitted_at:
            messages.info(request, f"{name} has already been let back in to this group.")
        elif enrollment.is_live:
            messages.info(request, f"{name} still has a place in this group.")
        else:
            messages.info(request, f"Nothing keeps {name} from joining this group themselves.")
        return redirect(roster_url)
    closed = cohort.closed_for_joining
    if closed:
        messages.info(request, f"{closed} {name} can't be let back in to join it now.")
        return redirect(roster_url)
    if request.method == "POST":
        try:
            services.readmit(enrollment=enrollment, actor=request.user)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                f"{name} can join this group again. We've e-mailed them to say so.",
            )
        return redirect(roster_url)
    return render(request, "enrollment/readmit.html", {"enrollment": enrollment, "cohort": cohort})
