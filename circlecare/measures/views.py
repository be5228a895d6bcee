"""Thin views: check who is asking, call a query or a service, render."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import resolve, reverse
from django.views.decorators.http import require_http_methods

from circlecare.accounts.http import local_path
from circlecare.audit.models import AuditAction
from circlecare.audit.services import record
from circlecare.enrollment import steps as join_steps
from circlecare.enrollment.errors import StepRequired
from circlecare.enrollment.queries import live_enrollment
from circlecare.errors import DomainError, NotFound
from circlecare.measures import queries
from circlecare.measures.errors import AlreadyAcknowledged, AlreadySubmitted, AssessmentClosed
from circlecare.measures.fhir import member_bundle_json
from circlecare.measures.forms import AcknowledgeForm, QuestionnaireForm, ReportForm, is_risk_answer
from circlecare.measures.instruments import InvalidAnswers, get
from circlecare.measures.models import Assessment, AssessmentStatus, Occasion, RiskAlert
from circlecare.measures.outcomes import cohort_report, program_report, report_csv
from circlecare.measures.plans import INTAKE_VALID_DAYS, intake_codes, weekly_codes
from circlecare.measures.services import (
    acknowledge_alert,
    may_handle_alert,
    may_see_alerts,
    report_unsaved_risk_answer,
    risk_answer_taken_back,
    share_intake,
    submit_assessment,
    submit_intake,
)
from circlecare.measures.steps import INTAKE_STEP, missing_intake, reusable_intake
from circlecare.measures.tracking import NOT_ON_TRACK_RULE, trajectories
from circlecare.programs.models import ACTIVE, Cohort
from circlecare.programs.queries import joining_cohort

logger = logging.getLogger(__name__)

#: Shown if even the crisis template cannot render: no template, no database, no session.
CRISIS_FALLBACK = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
    "<title>Support right now · circlecare</title></head><body><main>"
    "<h1>If you need support right now</h1>"
    '<p>Call or text <a href="tel:988">988</a> (US Suicide &amp; Crisis Lifeline), any time, day '
    'or night. If you or someone else is in immediate danger, call <a href="tel:911">911</a>.</p>'
    "<p>If you are outside the US, contact your local emergency number.</p>"
    "</main></body></html>"
)


def _clinical(request: HttpRequest) -> None:
    request.clinical = True  # type: ignore[attr-defined]


def crisis_response(
    request: HttpRequest,
    *,
    saved: bool | None = True,
    next_url: str | None = None,
    note: str | None = None,
) -> HttpResponse:
    """The crisis page, in the site's layout with the member still shown as signed in (someone in
    distress must not think they were thrown out). ``saved``: the answers were saved (True), could
    not be (False), or there were none (None: the page only offers support). If that layout cannot be rendered (its
    context needs the database), the page without it; if even that fails, a static page."""
    context = {"saved": saved, "next_url": next_url, "note": note, "request": request}
    try:
        try:
            html = render_to_string("measures/support.html", context, request=request)
        except Exception:
            logger.exception("crisis page rendered without the request's context")
            html = render_to_string("measures/support.html", context)
        response = HttpResponse(html)
    except Exception:  # the crisis resources must be shown whatever else fails
        logger.exception("crisis page fell back to the static version")
        response = HttpResponse(CRISIS_FALLBACK)
    response["Cache-Control"] = "no-store"
    return response


def _posted_risk_answer(request: HttpRequest) -> bool:
    """Whether the POST answers a ninth question with one of the PHQ-9's answers above 0: only
    the PHQ-9 has one (item 9 is its risk question), so this needs no database."""
    if request.method != "POST":
        return False
    return is_risk_answer(request.POST.get("item_9"), get("PHQ9"))


#: The questionnaire form carries which one it asks (signed), so a risk answer sent after it
#: was taken back still reaches the group's clinician; a form left open longer is not trusted.
ASKED_SALT = "circlecare.measures.asked"
ASKED_MAX_AGE = 2 * 24 * 3600
TOLD_THE_CLINICIAN = (
    "Your group's clinician or facilitator has been told how you answered the question about "
    "hurting yourself, so they can get in touch."
)


def asked_token(assessment: Assessment) -> str:
    return signing.dumps(
        [assessment.pk, assessment.member_id, assessment.cohort_id], salt=ASKED_SALT
    )


def _alert_for_taken_back(request: HttpRequest, user: Any, pk: Any) -> bool:
    """A risk answer posted for questionnaire ``pk`` that no longer exists: when the form's
    signed field says it was this member's, in a group of theirs, its clinician is told (see
    ``risk_answer_taken_back``). Whether they were, or already had been. Never raises."""
    try:
        assessment_id, member_id, cohort_id = signing.loads(
            request.POST.get("asked", ""), salt=ASKED_SALT, max_age=ASKED_MAX_AGE
        )
        if (assessment_id, member_id) != (int(pk), user.pk) or cohort_id is None:
            return False
        alert = risk_answer_taken_back(
            member=user, cohort_id=cohort_id, assessment_id=assessment_id
        )
    except (signing.BadSignature, TypeError, ValueError):
        return False
    except Exception:  # the crisis page comes first, whatever fails here
        logger.exception("a risk answer on a questionnaire taken back could not raise an alert")
        return False
    return alert is not None


def risk_answer_from_signed_out(request: HttpRequest, user: Any) -> str | None:
    """A questionnaire with a risk answer, sent by someone whose session has just ended (idle
    too long): nothing can be saved, but whoever leads the group is told where the questionnaire
    is known (one of theirs, by its address), and the caller shows the crisis page, not the
    sign-in page, with what this returns as its first words. None for any other request."""
    if not request.path.startswith("/measures/") or not _posted_risk_answer(request):
        return None
    told = False
    try:
        match = resolve(request.path)
        if match.url_name == "take":
            assessment = Assessment.objects.filter(pk=match.kwargs["pk"], member=user).first()
            if assessment is not None:
                report_unsaved_risk_answer(assessment=assessment, actor=user)
                told = True
            else:
                told = _alert_for_taken_back(request, user, match.kwargs["pk"])
    except Exception:  # the crisis page comes first, whatever fails here
        logger.exception("a risk answer sent after signing out could not raise an alert")
    return (
        "You were signed out after a while without activity, so your answers couldn't be saved."
        + (" " + TOLD_THE_CLINICIAN if told else " Please sign in and answer again when you can.")
    )


def crisis_on_failure(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Whatever fails while handling a risk answer, the member still sees crisis resources."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except Http404:
            # A questionnaire taken back while its form was open (its meeting moved later, a
            # check-in after an absence was recorded, or the member left the group) is not found,
            # but the risk answer was still given: the form says which questionnaire it was, and
            # the group's clinician is told. Any other address gets the page that says nothing of
            # what exists.
            if _posted_risk_answer(request):
                pk = kwargs.get("pk")
                if pk is not None and _alert_for_taken_back(request, request.user, pk):
                    return crisis_response(
                        request,
                        note="This questionnaire is no longer open, so your answers couldn't "
                        "be saved. " + TOLD_THE_CLINICIAN,
                    )
                return crisis_response(request, saved=False)
            raise
        except Exception:
            if _posted_risk_answer(request):
                logger.exception("handling a questionnaire with a risk answer failed")
                return crisis_response(request, saved=False)
            raise

    return wrapped


#: Session key set when a risk answer was saved, read (once) by the support page.
RISK_ANSWER_SAVED = "circlecare_risk_answer_saved"


def support(request: HttpRequest) -> HttpResponse:
    """Shown straight after a risk answer was saved, and reachable by anyone at any time: it
    speaks of saved answers and a follow-up only on the visit right after they were saved."""
    saved = bool(request.session.pop(RISK_ANSWER_SAVED, False))
    return crisis_response(
        request,
        saved=True if saved else None,
        next_url=local_path(request.GET.get("next")),
    )


@login_required
def due(request: HttpRequest) -> HttpResponse:
    _clinical(request)
    items = list(queries.due_for_member(request.user))
    return render(request, "measures/due.html", {"items": items})


def _submit_view(
    request: HttpRequest,
    *,
    instrument_code: str,
    submit: Any,
    template_context: dict[str, Any],
    success_url: str,
    assessment: Assessment | None = None,
    thanks: str | None = "Thank you. Your answers are saved.",
) -> HttpResponse:
    """``assessment``, when given, is the one being answered: a risk answer the form could not
    store raises its alert (``report_unsaved_risk_answer``). ``thanks`` is said after saving,
    unless the page the member goes on to says so itself (None)."""
    instrument = get(instrument_code)
    form = QuestionnaireForm(instrument, request.POST if request.method == "POST" else None)
    context = {"form": form, "instrument": instrument, **template_context}
    if request.method != "POST":
        return render(request, "measures/questionnaire.html", context)
    risk = form.risk_answered

    def tell_the_clinician() -> None:
        if risk and assessment is not None:
            report_unsaved_risk_answer(assessment=assessment, actor=request.user)

    try:
        if not form.is_valid():
            if risk:
                # The answers can't be saved as they are, but the risk answer was given.
                context["show_crisis"] = True
                tell_the_clinician()
            return render(request, "measures/questionnaire.html", context, status=400)
        submit(form.answers())
    except InvalidAnswers as exc:
        form.add_error(None, exc.message)
        context["show_crisis"] = risk
        tell_the_clinician()
        return render(request, "measures/questionnaire.html", context, status=400)
    except AlreadySubmitted as exc:
        if risk:
            tell_the_clinician()
            return crisis_response(request, note=exc.message)
        messages.info(request, exc.message)
        return redirect(success_url)
    except Http404:
        raise
    except DomainError as exc:
        if risk:
            tell_the_clinician()
            return crisis_response(request, saved=False)
        messages.error(request, exc.message)
        return redirect(success_url)
    except Exception:
        if risk:
            logger.exception("saving a questionnaire with a risk answer failed")
            return crisis_response(request, saved=False)
        raise
    if risk:
        # The support page says the answers are saved only right after they were.
        request.session[RISK_ANSWER_SAVED] = True
        target = reverse("measures:support")
        return redirect(f"{target}?{urlencode({'next': success_url})}")
    if thanks:
        messages.success(request, thanks)
    return redirect(success_url)


@crisis_on_failure
@login_required
@require_http_methods(["GET", "POST"])
def take(request: HttpRequest, pk: int) -> HttpResponse:
    _clinical(request)
    assessment = get_object_or_404(
        Assessment.objects.select_related("cohort__program"), pk=pk, member=request.user
    )
    if assessment.status != AssessmentStatus.DUE and request.method == "GET":
        if assessment.status == AssessmentStatus.COMPLETED:
            messages.info(request, "You've already sent these answers. Thank you.")
        else:
            messages.info(request, AssessmentClosed.for_assessment(assessment).message)
        return redirect("measures:due")

    def submit(answers: list[int]) -> None:
        try:
            submit_assessment(assessment=assessment, answers=answers, actor=request.user)
        except NotFound as exc:
            raise Http404 from exc

    return _submit_view(
        request,
        instrument_code=assessment.instrument,
        submit=submit,
        template_context={
            "assessment": assessment,
            "cohort": assessment.cohort,
            "meeting": queries.checkin_meeting(assessment),
            "asked": asked_token(assessment),
        },
        success_url=reverse("measures:due"),
        assessment=assessment,
    )


@crisis_on_failure
@login_required
@require_http_methods(["GET", "POST"])
def intake(request: HttpRequest, cohort_pk: int) -> HttpResponse:
    _clinical(request)
    try:
        # With what the eligibility step before it needs (the lead's licences), as a join reads it.
        cohort = joining_cohort(cohort_pk)
    except Cohort.DoesNotExist:
        raise Http404 from None
    # Open, full (waiting list) or running (a seat offered later): intake can be needed in all.
    if cohort.status not in ACTIVE:
        raise Http404
    # Not for a group nobody new may join now, nor for one the member may not join, nor before
    # its agreements: the group's page says why (and shows groups they can join), or the
    # agreements page asks for them.
    refusal: tuple[str, str | None] | None = None
    closed = cohort.closed_for_joining
    if closed and live_enrollment(request.user, cohort) is None:
        refusal = (closed, None)
    else:
        earlier = join_steps.first_unmet(request.user, cohort, before=INTAKE_STEP)
        if earlier is not None:
            refusal = (earlier.message, earlier.url)
    if refusal is not None:
        if _posted_risk_answer(request):
            # Nothing is stored, but a risk answer given is a risk answer: crisis resources first.
            return crisis_response(request, saved=False)
        message, url = refusal
        messages.info(request, message)
        return redirect(url or cohort.get_absolute_url())
    missing = missing_intake(request.user, cohort)
    here = reverse("measures:intake", args=[cohort.pk])
    next_url = local_path(request.GET.get("next")) or cohort.get_absolute_url()
    fresh = request.GET.get("fresh") == "1"
    kept = {"next": next_url} if request.GET.get("next") else {}

    def address(*, fresh: bool) -> str:
        """This page again, keeping where it leads on; ``fresh``: asking every question."""
        query = urlencode({**kept, **({"fresh": "1"} if fresh else {})})
        return f"{here}?{query}" if query else here

    success_url = address(fresh=fresh)
    # The questionnaire a form answers is named in it: sent a second time (a double press of
    # "Send", another tab, shared answers meanwhile), one questionnaire's answers must not be
    # stored as the next one's.
    posted = request.POST.get("instrument") if request.method == "POST" else None
    if posted in intake_codes(cohort.program.kind) and posted not in missing:
        return _intake_already_answered(request, cohort, posted, success_url=success_url)
    if not missing:
        return render(
            request,
            "measures/intake_done.html",
            {"cohort": cohort, "next_url": next_url},
        )
    if request.method == "POST" and "share" in request.POST:
        return _share_intake(
            request, cohort, then=address(fresh=False), fresh_url=address(fresh=True)
        )
    # Answers given for another group lately are the member's to share or not: they are asked
    # first, unless they chose to answer again ("fresh").
    if request.method == "GET" and not fresh:
        recent = reusable_intake(request.user, cohort)
        if recent:
            return render(
                request,
                "measures/intake_share.html",
                {
                    "cohort": cohort,
                    "recent": [(row.completed_at, get(row.instrument)) for row in recent],
                    "fresh_url": address(fresh=True),
                    "still_missing": len(missing) - len(recent),
                },
            )
    code = posted if posted in missing else missing[0]
    codes = intake_codes(cohort.program.kind)
    step = codes.index(code) + 1

    def submit(answers: list[int]) -> None:
        submit_intake(member=request.user, cohort=cohort, instrument=code, answers=answers)

    return _submit_view(
        request,
        instrument_code=code,
        submit=submit,
        template_context={
            "cohort": cohort,
            "intake": True,
            "step": step,
            "steps": len(codes),
        },
        success_url=success_url,
        # After the last part, the page it leads to thanks the member and says the answers are
        # saved: once is enough.
        thanks=None if step == len(codes) else "Thank you. Your answers are saved.",
    )


def _intake_already_answered(
    request: HttpRequest, cohort: Cohort, code: str, *, success_url: str
) -> HttpResponse:
    """Answers posted for an intake questionnaire already completed for this group: not stored,
    as for any questionnaire sent twice; a risk answer among them is still met with crisis
    resources, and the group's clinician is told."""
    exc = AlreadySubmitted()
    if _posted_risk_answer(request):
        row = Assessment.objects.filter(
            member_id=request.user.pk,
            cohort=cohort,
            instrument=code,
            occasion=Occasion.INTAKE,
            meeting_week=0,
        ).first()
        if row is not None:
            report_unsaved_risk_answer(assessment=row, actor=request.user)
        return crisis_response(request, note=exc.message)
    messages.info(request, exc.message)
    return redirect(success_url)


def _share_intake(
    request: HttpRequest, cohort: Cohort, *, then: str, fresh_url: str
) -> HttpResponse:
    """The member chose to use the answers they gave another group lately: ``then`` is where
    they go on to, ``fresh_url`` the questions asked afresh."""
    try:
        shared = share_intake(member=request.user, cohort=cohort)
    except StepRequired as exc:
        messages.info(request, exc.message)
        return redirect((exc.detail or {}).get("url") or cohort.get_absolute_url())
    if not shared:
        messages.info(
            request,
            "Those answers can't be used any more (they are more than "
            f"{INTAKE_VALID_DAYS} days old now), so please answer the questions again.",
        )
        return redirect(fresh_url)
    if any(row.has_risk for row in shared):
        # As after any risk answer saved: the group's lead has been told; support comes first.
        request.session[RISK_ANSWER_SAVED] = True
        return redirect(f"{reverse('measures:support')}?{urlencode({'next': then})}")
    messages.success(request, "Your answers are shared with this group.")
    return redirect(then)


@login_required
def progress(request: HttpRequest) -> HttpResponse:
    """The member's own scores over time, in plain words, with a table alternative."""
    _clinical(request)
    rows = list(queries.member_history(request.user))
    groups: dict[int, dict[str, Any]] = {}
    for row in rows:
        groups.setdefault(row.cohort_id, {"cohort": row.cohort, "rows": []})["rows"].append(row)
    sections = []
    for group in groups.values():
        cohort = group["cohort"]
        codes = tuple(
            dict.fromkeys(
                [
                    *intake_codes(cohort.program.kind),
                    *(r.instrument for r in group["rows"] if get(r.instrument).validated),
                ]
            )
        )
        tracks = [
            t
            for t in trajectories(group["rows"], weeks=cohort.program.weeks, codes=codes)
            if t.points
        ]
        sections.append(
            {
                "cohort": cohort,
                "tracks": tracks,
                "charts": [t.chart_data(for_member=True) for t in tracks],
                "synthetic": any(r.synthetic for r in group["rows"]),
                "element_id": f"member-charts-{cohort.pk}",
            }
        )
    return render(request, "measures/progress.html", {"sections": sections})


@login_required
def my_fhir(request: HttpRequest) -> HttpResponse:
    _clinical(request)
    body = member_bundle_json(request.user, queries.member_history(request.user))
    response = HttpResponse(body, content_type="application/fhir+json")
    response["Content-Disposition"] = 'attachment; filename="my-questionnaires-fhir.json"'
    return response


# --- clinicians -------------------------------------------------------------------------------


def _led_cohort_or_404(request: HttpRequest, cohort_pk: int) -> Cohort:
    cohort = queries.led_cohort(request.user, cohort_pk)
    if cohort is None:
        raise Http404
    return cohort


@login_required
def cohort_overview(request: HttpRequest, cohort_pk: int) -> HttpResponse:
    _clinical(request)
    cohort = _led_cohort_or_404(request, cohort_pk)
    rows = queries.cohort_overview(cohort)
    for row in rows:
        record(
            actor=request.user,
            action=AuditAction.ASSESSMENT_VIEWED,
            target=cohort,
            subject=row.member,
            data={"view": "cohort_overview", "cohort": cohort.pk},
        )
    return render(
        request,
        "measures/cohort_overview.html",
        {
            "cohort": cohort,
            "rows": rows,
            "waiting": queries.waiting_with_intake(cohort),
            "checkin_weeks": queries.checkin_trends(cohort),
            "report": cohort_report(cohort),
            "not_on_track_rule": NOT_ON_TRACK_RULE,
        },
    )


@login_required
def member_chart(request: HttpRequest, cohort_pk: int, member_pk: int) -> HttpResponse:
    _clinical(request)
    cohort = _led_cohort_or_404(request, cohort_pk)
    member = queries.member_in_cohort(cohort, member_pk)
    if member is None:
        raise Http404
    rows = list(
        Assessment.objects.filter(
            cohort=cohort, member=member, status=AssessmentStatus.COMPLETED
        ).order_by("completed_at", "pk")
    )
    # The plan's questionnaires, then any other validated one answered here: the intake asks
    # its own pair whatever a plan asks weekly, and a risk answer's PHQ-9 must be on the chart
    # its alert links to.
    codes = dict.fromkeys(
        [
            *weekly_codes(cohort.program),
            *intake_codes(cohort.program.kind),
            *(r.instrument for r in rows if get(r.instrument).validated),
        ]
    )
    tracks = trajectories(rows, weeks=cohort.program.weeks, codes=codes)
    checkins = [r for r in rows if r.instrument == "CHECKIN"]
    made_up = any(r.synthetic for r in rows)
    record(
        actor=request.user,
        action=AuditAction.ASSESSMENT_VIEWED,
        target=member,
        subject=member,
        data={"view": "member_chart", "cohort": cohort.pk},
    )
    return render(
        request,
        "measures/member_chart.html",
        {
            "cohort": cohort,
            "member": member,
            "tracks": tracks,
            # One entry per track, in order: each canvas finds its chart by the track's place.
            "charts": [t.chart_data() for t in tracks],
            "checkins": checkins,
            "not_on_track_rule": NOT_ON_TRACK_RULE,
            # "all" or "some": a real answer given in the demo is not called made up.
            "synthetic": ("all" if all(r.synthetic for r in rows) else "some" if made_up else ""),
        },
    )


@login_required
def member_fhir(request: HttpRequest, cohort_pk: int, member_pk: int) -> HttpResponse:
    _clinical(request)
    cohort = _led_cohort_or_404(request, cohort_pk)
    member = queries.member_in_cohort(cohort, member_pk)
    if member is None:
        raise Http404
    rows = Assessment.objects.filter(
        cohort=cohort, member=member, status=AssessmentStatus.COMPLETED
    ).order_by("completed_at", "pk")
    record(
        actor=request.user,
        action=AuditAction.ASSESSMENT_VIEWED,
        target=member,
        subject=member,
        data={"view": "fhir_export", "cohort": cohort.pk},
    )
    response = HttpResponse(member_bundle_json(member, rows), content_type="application/fhir+json")
    response["Content-Disposition"] = f'attachment; filename="member-{member.pk}-fhir.json"'
    return response


#: How many open alerts the queue page lists; the heading counts them all.
OPEN_ALERTS_SHOWN = 200


@login_required
def alerts(request: HttpRequest) -> HttpResponse:
    _clinical(request)
    if not may_see_alerts(request.user):
        raise Http404
    queue = queries.alert_queue(request.user)
    waiting = queries.open_alerts(request.user)
    open_alerts = list(waiting[:OPEN_ALERTS_SHOWN])
    open_total = len(open_alerts) if len(open_alerts) < OPEN_ALERTS_SHOWN else waiting.count()
    recent = list(queue.filter(acknowledged_at__isnull=False).order_by("-acknowledged_at")[:20])
    for alert in [*open_alerts, *recent]:
        record(
            actor=request.user,
            action=AuditAction.ALERT_VIEWED,
            target=alert,
            subject=alert.member,
            data={"view": "queue"},
        )
    return render(
        request,
        "measures/alerts.html",
        {"open_alerts": open_alerts, "open_total": open_total, "recent": recent},
    )


@login_required
@require_http_methods(["GET", "POST"])
def alert(request: HttpRequest, pk: int) -> HttpResponse:
    _clinical(request)
    alerts = RiskAlert.objects.select_related(
        "member", "cohort__program", "assignee", "acknowledged_by", "assessment"
    ).defer(*queries.ALERT_PEOPLE_HASHES)
    row = get_object_or_404(alerts, pk=pk)
    if not may_handle_alert(request.user, row):
        raise Http404
    form = AcknowledgeForm(request.POST if request.method == "POST" else None)
    unsaved_note = ""
    status = 400 if request.method == "POST" else 200
    if request.method == "POST" and form.is_valid():
        try:
            acknowledge_alert(alert=row, actor=request.user, note=form.cleaned_data["note"])
        except NotFound as exc:
            raise Http404 from exc
        except AlreadyAcknowledged as exc:
            # Someone else got there first: show the alert as it now stands, who did what, and
            # this person's own account of what they did, which was not saved, to copy. Their
            # own second press (a double click, a resent form) is said as such, and a note that
            # is the one saved is not offered for copying.
            row = get_object_or_404(alerts, pk=pk)
            note = form.cleaned_data["note"].strip()
            if row.acknowledged_by_id == request.user.pk:
                messages.info(request, "You've already acknowledged this alert.")
                unsaved_note = "" if note == row.action_note else note
            else:
                messages.info(request, exc.message)
                unsaved_note = note
            status = exc.status
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Thank you. The alert is acknowledged.")
            return redirect("measures:alert", pk=row.pk)
    record(
        actor=request.user,
        action=AuditAction.ALERT_VIEWED,
        target=row,
        subject=row.member,
        data={"view": "detail"},
    )
    return render(
        request,
        "measures/alert.html",
        {
            "alert": row,
            "form": form,
            "unsaved_note": unsaved_note,
            "leads": row.cohort.is_led_by(request.user),
            "standing": queries.standing_in_cohort(row.cohort_id, row.member_id),
        },
        status=status,
    )


# --- coordinators -----------------------------------------------------------------------------


def _staff_or_404(request: HttpRequest) -> None:
    if not request.user.is_staff:
        raise Http404


def _report_from_request(request: HttpRequest) -> tuple[ReportForm, Any]:
    cohort_pk = request.GET.get("cohort")
    if cohort_pk:
        try:
            cohort = Cohort.objects.select_related("program").get(pk=int(cohort_pk))
        except (ValueError, Cohort.DoesNotExist):
            raise Http404 from None
        record(
            actor=request.user,
            action=AuditAction.ASSESSMENT_VIEWED,
            target=cohort,
            data={"view": "cohort_outcome_report"},
        )
        return ReportForm(), cohort_report(cohort)
    if "program" in request.GET:
        form = ReportForm(request.GET)
        if form.is_valid():
            data = form.cleaned_data
            return form, program_report(data["program"], data["start"], data["end"])
        return form, None
    start, end = ReportForm.default_period()
    return ReportForm(initial={"start": start, "end": end}), None


@login_required
def report(request: HttpRequest) -> HttpResponse:
    _clinical(request)
    _staff_or_404(request)
    form, result = _report_from_request(request)
    if result is not None:
        target = form.cleaned_data["program"] if form.is_bound else None
        if target is not None:
            record(
                actor=request.user,
                action=AuditAction.ASSESSMENT_VIEWED,
                target=target,
                data={"view": "outcome_report"},
            )
    status = 400 if form.is_bound and not form.is_valid() else 200
    return render(
        request,
        "measures/report.html",
        {"form": form, "report": result, "query": request.GET.urlencode()},
        status=status,
    )


@login_required
def report_export(request: HttpRequest) -> HttpResponse:
    _clinical(request)
    _staff_or_404(request)
    form, result = _report_from_request(request)
    if result is None:
        return redirect(reverse("measures:report") + "?" + request.GET.urlencode())
    if form.is_bound:
        record(
            actor=request.user,
            action=AuditAction.ASSESSMENT_VIEWED,
            target=form.cleaned_data["program"],
            data={"view": "outcome_report_csv"},
        )
    response = HttpResponse(report_csv(result), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="outcome-report.csv"'
    return response


@login_required
def clinician_home(request: HttpRequest) -> HttpResponse:
    """The groups a clinician or facilitator leads, with links to their overviews."""
    _clinical(request)
    cohorts = list(queries.led_cohorts(request.user))
    if not cohorts and not request.user.is_staff:
        raise Http404
    open_count = queries.open_alerts(request.user).count()
    return render(
        request, "measures/clinician_home.html", {"cohorts": cohorts, "open_count": open_count}
    )
