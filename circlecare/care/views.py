"""Pages for relational care. Thin: check who may see what, call a query or a service, render."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from circlecare import distress
from circlecare.accounts.http import signed_in as _user
from circlecare.accounts.models import User
from circlecare.care import queries, services
from circlecare.care.forms import (
    BoardSettingForm,
    PostForm,
    ReasonForm,
    ReflectionEditForm,
    ReflectionForm,
    ResolveReportForm,
    ThanksForm,
    WeekForm,
    leader_words,
)
from circlecare.care.models import RESOLUTION_NOTE_MAX, BlockKind, CareMatch, CohortWeek
from circlecare.errors import DomainError, NotFound
from circlecare.programs.models import ProgramKind


def _data(request: HttpRequest) -> Any:
    """The bound data of a POST, even an empty one (an unticked box posts nothing)."""
    return request.POST if request.method == "POST" else None


def _clinical(request: HttpRequest) -> None:
    """Journal pages hold private text: never cached (SECURITY.md D4)."""
    request.clinical = True  # type: ignore[attr-defined]


# --- overview and the weekly programme -------------------------------------------------------


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    my_reports = queries.my_reports(user)
    return render(
        request,
        "care/home.html",
        {
            "groups": queries.member_cohorts(user),
            "led": queries.led_cohorts(user),
            "open_matches": queries.my_open_matches(user),
            "my_reports": my_reports,
            "report_leaders": leader_words(
                (report.post.cohort for report in my_reports), plural=True
            ),
        },
    )


@login_required
def programme(request: HttpRequest, cohort_id: int) -> HttpResponse:
    cohort = queries.cohort_for_programme(request.user, cohort_id)
    state, current, upcoming = queries.week_number(cohort)
    return render(
        request,
        "care/programme.html",
        {
            "cohort": cohort,
            "weeks": queries.programme(cohort),
            "current": current if state == "running" else None,
            "state": state,
            # Before the group starts, its next meeting is its first.
            "starts_at": upcoming if state == "upcoming" else None,
            "can_adapt": cohort.is_led_by(request.user),
        },
    )


@login_required
def adapt_week(request: HttpRequest, cohort_id: int, number: int) -> HttpResponse:
    user = _user(request)
    cohort = queries.cohort_led_by(user, cohort_id)
    if not 1 <= number <= cohort.program.weeks:
        raise Http404
    base = cohort.program.curriculum.filter(number=number).first()
    existing = CohortWeek.objects.filter(cohort=cohort, number=number).first()
    initial = {
        name: getattr(existing, name, "") or getattr(base, name, "")
        for name in ("topic", "skill", "practice", "reflection_prompt")
    }
    form = WeekForm(_data(request), initial=initial)
    if request.method == "POST" and "reset" in request.POST:
        # Going back to the program's week discards whatever is in the fields, valid or not.
        services.adapt_week(
            cohort=cohort, number=number, changes=services.WeekChanges(), actor=user
        )
        messages.success(request, f"Week {number} now follows the program's plan.")
        return redirect("care:programme", cohort_id=cohort.pk)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            # Only what differs from the program's own week is kept as this cohort's adaptation.
            changes = services.WeekChanges(
                **{
                    name: value
                    for name, value in data.items()
                    if value and value != (getattr(base, name, "") or "")
                }
            )
            services.adapt_week(cohort=cohort, number=number, changes=changes, actor=user)
            messages.success(
                request,
                f"Week {number} now follows the program's plan."
                if changes.empty
                else f"Week {number} is adapted for this group.",
            )
            return redirect("care:programme", cohort_id=cohort.pk)
        return render(
            request,
            "care/adapt_week.html",
            {"cohort": cohort, "number": number, "form": form, "base": base, "existing": existing},
            status=400,
        )
    return render(
        request,
        "care/adapt_week.html",
        {"cohort": cohort, "number": number, "form": form, "base": base, "existing": existing},
    )


# --- the care board ---------------------------------------------------------------------------


def _board_context(request: HttpRequest, cohort: Any, form: PostForm) -> dict[str, Any]:
    user = _user(request)
    return {
        "cohort": cohort,
        "posts": queries.board_posts(user, cohort),
        "form": form,
        "is_facilitator": cohort.is_led_by(user),
        "can_post": queries.is_member(user, cohort),
        "blocks": queries.my_blocks(user),
    }


@login_required
def board(request: HttpRequest, cohort_id: int) -> HttpResponse:
    user = _user(request)
    cohort = queries.cohort_for_board(user, cohort_id)
    form = PostForm(_data(request))
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                post = services.create_post(
                    cohort=cohort, draft=services.PostDraft(**data), actor=user
                )
            except DomainError as exc:
                if queries.is_member(user, cohort):
                    form.add_error(None, exc.message)
                else:
                    messages.error(request, exc.message)  # the page shows them no form
                status = exc.status
            else:
                messages.success(request, "Your post is on the board.")
                if distress.sounds_in_crisis(post.title, post.details, post.when_text, post.where):
                    distress.offer_support(request, distress.BOARD)
                return redirect("care:post", post_id=post.pk)
        return render(
            request, "care/board.html", _board_context(request, cohort, form), status=status
        )
    return render(request, "care/board.html", _board_context(request, cohort, form))


def _post_context(request: HttpRequest, post: Any, **extra: Any) -> dict[str, Any]:
    user = _user(request)
    matches = queries.post_matches(user, post)
    mine = next((m for m in matches if m.responder_id == user.pk and m.status != "cancelled"), None)
    return {
        "post": post,
        "cohort": post.cohort,
        "matches": matches,
        "my_match": mine,
        "is_facilitator": post.cohort.is_led_by(user),
        "is_member": queries.is_member(user, post.cohort),
        "author_left": not queries.is_member(post.author, post.cohort),
        "my_report": queries.my_report(user, post),
        "thanks_form": ThanksForm(),
        **extra,
    }


@login_required
def post_detail(request: HttpRequest, post_id: int) -> HttpResponse:
    post = queries.visible_post(_user(request), post_id)
    return render(request, "care/post_detail.html", _post_context(request, post))


def _gone_from_board(request: HttpRequest, post_id: int) -> HttpResponse:
    """A member acts on a post that left the board while their page was open: say so."""
    cohort_id = queries.board_of_gone_post(_user(request), post_id)
    if cohort_id is None:
        raise Http404
    messages.error(request, "This post is no longer on the board, so nothing was changed.")
    return redirect("care:board", cohort_id=cohort_id)


def _act_on_post(request: HttpRequest, post_id: int, action: str) -> HttpResponse:
    user = _user(request)
    try:
        post = queries.visible_post(user, post_id)
    except Http404:
        return _gone_from_board(request, post_id)
    try:
        if action == "respond":
            services.respond(post=post, actor=user)
            # The chat is the meeting's own, and after the last meeting there is no next one.
            upcoming = queries.week_number(post.cohort)[2]
            messages.success(
                request,
                "You've responded. "
                + (
                    "Talk together at your next meeting to arrange the details, then both mark "
                    "it done."
                    if upcoming is not None
                    else "Arrange the details together, then both mark it done."
                ),
            )
        elif action == "close":
            services.close_post(post=post, actor=user)
            messages.success(request, "Your post is closed. Nobody new can respond to it.")
        elif action == "unhide":
            services.unhide_post(post=post, actor=user)
            messages.success(request, "The post is visible again.")
    except NotFound as exc:
        raise Http404 from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("care:post", post_id=post.pk)


@login_required
@require_POST
def respond(request: HttpRequest, post_id: int) -> HttpResponse:
    return _act_on_post(request, post_id, "respond")


@login_required
@require_POST
def close_post(request: HttpRequest, post_id: int) -> HttpResponse:
    return _act_on_post(request, post_id, "close")


@login_required
@require_POST
def unhide_post(request: HttpRequest, post_id: int) -> HttpResponse:
    return _act_on_post(request, post_id, "unhide")


def _reason_page(
    request: HttpRequest, post_id: int, *, facilitator: bool, template: str
) -> HttpResponse:
    user = _user(request)
    try:
        post = queries.visible_post(user, post_id)
    except Http404:
        if request.method != "POST":
            raise
        return _gone_from_board(request, post_id)
    allowed = post.cohort.is_led_by(user) if facilitator else queries.is_member(user, post.cohort)
    if not allowed:
        raise Http404
    if not facilitator and request.method != "POST":
        # Say so before they write a reason that could only be refused.
        refusal = services.why_not_report(post=post, actor=user)
        if refusal:
            messages.info(request, refusal)
            return redirect("care:post", post_id=post.pk)
    form = ReasonForm(_data(request))
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            reason = form.cleaned_data["reason"]
            try:
                if facilitator:
                    services.hide_post(post=post, reason=reason, actor=user)
                    messages.success(
                        request, "The post is hidden from members. The reason is kept."
                    )
                    return redirect("care:facilitate", cohort_id=post.cohort_id)
                services.report_post(post=post, reason=reason, actor=user)
                messages.success(
                    request,
                    f"Thank you. The group's {post.cohort.program.leader_word}s will look at "
                    "this post.",
                )
                return redirect("care:board", cohort_id=post.cohort_id)
            except NotFound as exc:
                raise Http404 from exc
            except DomainError as exc:
                form.add_error(None, exc.message)
                status = exc.status
    return render(request, template, {"post": post, "form": form}, status=status)


@login_required
def hide_post(request: HttpRequest, post_id: int) -> HttpResponse:
    return _reason_page(request, post_id, facilitator=True, template="care/hide_post.html")


@login_required
def report_post(request: HttpRequest, post_id: int) -> HttpResponse:
    return _reason_page(request, post_id, facilitator=False, template="care/report_post.html")


# --- matches ----------------------------------------------------------------------------------


def _match_response(
    request: HttpRequest, match: CareMatch, *, ok: str | None, error: str | None
) -> HttpResponse:
    if request.htmx:  # type: ignore[attr-defined]
        match = queries.match_for(_user(request), match.pk)
        return render(
            request,
            "care/_match.html",
            {"match": match, "ok": ok, "error": error, "thanks_form": ThanksForm()},
        )
    if ok:
        messages.success(request, ok)
    if error:
        messages.error(request, error)
    try:
        queries.visible_post(_user(request), match.post_id)
    except Http404:
        # The post left their view while the page was open (hidden, its board turned off, the
        # member gone from the group): their care page, not a missing page.
        return redirect("care:home")
    return redirect("care:post", post_id=match.post_id)


@login_required
@require_POST
def match_done(request: HttpRequest, match_id: int) -> HttpResponse:
    user = _user(request)
    match = queries.match_for(user, match_id)
    try:
        match = services.mark_done(match=match, actor=user)
    except DomainError as exc:
        return _match_response(request, match, ok=None, error=exc.message)
    ok = (
        "You've both marked this as done."
        if match.status == "done"
        else "Marked as done. It counts once you've both marked it."
    )
    return _match_response(request, match, ok=ok, error=None)


@login_required
@require_POST
def match_cancel(request: HttpRequest, match_id: int) -> HttpResponse:
    user = _user(request)
    match = queries.match_for(user, match_id)
    try:
        services.cancel_match(match=match, actor=user)
    except DomainError as exc:
        return _match_response(request, match, ok=None, error=exc.message)
    return _match_response(request, match, ok="Called off. That's all right.", error=None)


def _thanks_refused(request: HttpRequest, match: CareMatch, error: str) -> HttpResponse:
    """Without JavaScript, the post's page again with the error by the thank-you box it is
    about (as it is when sent in place), not at the top of the page, away from the box."""
    try:
        post = queries.visible_post(_user(request), match.post_id)
    except Http404:
        messages.error(request, error)
        return redirect("care:home")
    context = _post_context(request, post, refused_match=match.pk, refused_error=error)
    return render(request, "care/post_detail.html", context, status=400)


@login_required
@require_POST
def match_thanks(request: HttpRequest, match_id: int) -> HttpResponse:
    user = _user(request)
    match = queries.match_for(user, match_id)
    form = ThanksForm(request.POST)
    if not form.is_valid():
        errors = form.errors.get("text") or ["Please write a few words of thanks."]
        if not request.htmx:  # type: ignore[attr-defined]
            return _thanks_refused(request, match, str(errors[0]))
        return _match_response(request, match, ok=None, error=str(errors[0]))
    try:
        services.send_thanks(match=match, text=form.cleaned_data["text"], actor=user)
    except DomainError as exc:
        return _match_response(request, match, ok=None, error=exc.message)
    return _match_response(request, match, ok="Your thanks was sent.", error=None)


# --- blocking and muting ----------------------------------------------------------------------


@login_required
@require_POST
def block(request: HttpRequest, cohort_id: int, user_id: int) -> HttpResponse:
    user = _user(request)
    cohort = queries.cohort_for_board(user, cohort_id)
    other = get_object_or_404(User, pk=user_id)
    kind = request.POST.get("kind", "")
    try:
        services.set_block(blocked=other, kind=kind, cohort=cohort, actor=user)
    except NotFound as exc:
        raise Http404 from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"You won't see {other.display_name}'s posts any more. You can undo this below."
            if kind == BlockKind.MUTE
            else f"You've blocked {other.display_name}: you won't see each other's posts or "
            "respond to them, and anything you'd agreed together is called off. You can undo "
            "the block below.",
        )
    return redirect("care:board", cohort_id=cohort.pk)


@login_required
@require_POST
def unblock(request: HttpRequest, cohort_id: int, user_id: int) -> HttpResponse:
    user = _user(request)
    cohort = queries.cohort_for_board(user, cohort_id)
    try:
        services.remove_block(blocked_id=user_id, actor=user)
    except NotFound:
        # A second press (a double click, a resubmitted form): the first one already undid it.
        messages.info(request, "That's already undone.")
    else:
        messages.success(request, "Undone.")
    return redirect("care:board", cohort_id=cohort.pk)


# --- mutuality and the facilitator's view -----------------------------------------------------


@login_required
def mutuality(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    return render(
        request,
        "care/mutuality.html",
        {"flow": queries.member_flow(user), "thanks": queries.thanks_received(user)},
    )


@login_required
def facilitate(request: HttpRequest, cohort_id: int) -> HttpResponse:
    user = _user(request)
    cohort = queries.cohort_led_by(user, cohort_id)
    enabled = queries.board_enabled(cohort)
    setting_form = BoardSettingForm(_data(request), initial={"enabled": enabled})
    if request.method == "POST":
        if setting_form.is_valid():
            try:
                services.set_board_enabled(
                    cohort=cohort, enabled=setting_form.cleaned_data["enabled"], actor=user
                )
            except NotFound as exc:
                raise Http404 from exc
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(
                    request,
                    "The care board is on: members of this group can now use it."
                    if setting_form.cleaned_data["enabled"]
                    else "The care board is off: members of this group no longer see it. "
                    "What was on it is kept, should you turn it on again.",
                )
        return redirect("care:facilitate", cohort_id=cohort.pk)
    return render(
        request,
        "care/facilitate.html",
        {
            "cohort": cohort,
            "board_on": enabled,
            "is_circle": cohort.program.kind == ProgramKind.CARE_CIRCLE,
            "is_lead": cohort.lead_id == user.pk,
            "setting_form": setting_form,
            "flow": queries.circle_flow(cohort) if enabled else None,
            # Open even with the board off: reports made while it was on still wait (and are
            # counted on the workspace and the care home).
            "reports": queries.open_reports(cohort),
            "resolved": queries.resolved_reports(cohort) if enabled else [],
            "note_max": RESOLUTION_NOTE_MAX,
            "hidden": queries.hidden_posts(cohort) if enabled else [],
            "shared": queries.shared_reflections(cohort),
        },
    )


@login_required
@require_POST
def resolve_report(request: HttpRequest, report_id: int) -> HttpResponse:
    user = _user(request)
    report = queries.report_led_by(user, report_id)
    form = ResolveReportForm(request.POST)
    if not form.is_valid():
        errors = form.errors.get("note") or ["Please check the note."]
        messages.error(request, f"Nothing was changed. {errors[0]}")
    else:
        try:
            services.resolve_report(report=report, note=form.cleaned_data["note"], actor=user)
        except NotFound as exc:
            raise Http404 from exc
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "The report is marked resolved.")
    return redirect(f"{reverse('care:facilitate', args=[report.post.cohort_id])}#reports-heading")


@login_required
def shared_reflection(request: HttpRequest, cohort_id: int, reflection_id: int) -> HttpResponse:
    user = _user(request)
    cohort = queries.cohort_led_by(user, cohort_id)
    _clinical(request)
    if request.method == "HEAD":
        # Nobody reads a HEAD response (a link checker, a preview): it must not tell the member
        # their entry was read, nor write a read to the audit log.
        if not queries.is_shared_with(cohort, reflection_id):
            raise Http404
        return HttpResponse()
    try:
        reflection = services.read_shared_reflection(
            cohort=cohort, reflection_id=reflection_id, actor=user
        )
    except NotFound as exc:
        raise Http404 from exc
    return render(
        request, "care/shared_reflection.html", {"cohort": cohort, "reflection": reflection}
    )


# --- the journal ------------------------------------------------------------------------------


def _prompts(user: User) -> list[tuple[Any, Any]]:
    rows = []
    for cohort, _enrollment in queries.member_cohorts(user):
        week = queries.this_week(cohort)
        rows.append((cohort, week))
    return rows


@login_required
def journal(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _clinical(request)
    prompts = _prompts(user)
    cohorts = [c for c, _w in prompts]
    initial_cohort = request.GET.get("cohort")
    form = ReflectionForm(
        _data(request),
        cohorts=cohorts,
        initial={"cohort": initial_cohort} if initial_cohort else None,
    )
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            cohort = data["cohort"]
            week = next((w for c, w in prompts if cohort and c.pk == cohort.pk), None)
            plan = week.plan if week else None
            try:
                entry = services.write_reflection(
                    body=data["body"],
                    actor=user,
                    cohort=cohort,
                    week_number=plan.number if plan else None,
                    prompt=plan.reflection_prompt if plan else "",
                    share=data["share"],
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, "Saved to your journal.")
                _support_after_writing(request, entry)
                return redirect("care:journal")
        status = 400
    else:
        status = 200
    return render(
        request,
        "care/journal.html",
        {
            "form": form,
            "prompts": _prompt_cards(prompts),
            "entries": list(queries.my_reflections(user)),
        },
        status=status,
    )


def _support_after_writing(request: HttpRequest, entry: Any) -> None:
    if distress.sounds_in_crisis(entry.body):
        shared = entry.shared_with_facilitator and entry.cohort_id is not None
        distress.offer_support(
            request,
            distress.SHARED_JOURNAL.format(leaders=f"{entry.cohort.program.leader_word}s")
            if shared
            else distress.PRIVATE_JOURNAL,
        )


def _prompt_cards(prompts: list[tuple[Any, Any]]) -> list[tuple[list[str], str]]:
    """This week's prompts, each once, with every group that asks it this week."""
    cards: dict[str, list[str]] = {}
    for cohort, week in prompts:
        plan = week.plan if week else None
        if plan is None or not plan.reflection_prompt:
            continue
        cards.setdefault(plan.reflection_prompt, []).append(f"{cohort.title} · week {plan.number}")
    return [(labels, text) for text, labels in cards.items()]


@login_required
def journal_entry(request: HttpRequest, reflection_id: int) -> HttpResponse:
    user = _user(request)
    _clinical(request)
    reflection = queries.my_reflection(user, reflection_id)
    form = ReflectionEditForm(
        _data(request),
        initial={"body": reflection.body, "share": reflection.shared_with_facilitator},
        cohort=reflection.cohort,
    )
    if not reflection.cohort_id:
        form.fields.pop("share")
    if request.method == "POST":
        if form.is_valid():
            try:
                entry = services.update_reflection(
                    reflection=reflection,
                    body=form.cleaned_data["body"],
                    share=bool(form.cleaned_data.get("share")),
                    actor=user,
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, "Saved.")
                _support_after_writing(request, entry)
                return redirect("care:journal_entry", reflection_id=reflection.pk)
        return render(
            request,
            "care/journal_entry.html",
            {"reflection": reflection, "form": form},
            status=400,
        )
    return render(request, "care/journal_entry.html", {"reflection": reflection, "form": form})


@login_required
def journal_delete(request: HttpRequest, reflection_id: int) -> HttpResponse:
    user = _user(request)
    _clinical(request)
    reflection = queries.my_reflection(user, reflection_id)
    if request.method != "POST":
        return render(request, "care/journal_delete.html", {"reflection": reflection})
    services.delete_reflection(reflection=reflection, actor=user)
    messages.success(request, "The entry is deleted.")
    return redirect("care:journal")


def _export_rows(user: User) -> list[dict[str, Any]]:
    return [
        {
            "written": timezone.localtime(r.created_at).isoformat(),
            "updated": timezone.localtime(r.updated_at).isoformat(),
            "group": r.cohort.title if r.cohort_id and r.cohort else None,
            "week": r.week_number,
            "prompt": r.prompt or None,
            "text": r.body,
            "shared_with_facilitator": r.shared_with_facilitator,
            "read_by_facilitator": timezone.localtime(r.read_at).isoformat() if r.read_at else None,
        }
        for r in queries.my_reflections(user).order_by("created_at", "pk")
    ]


@login_required
def journal_export_json(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _clinical(request)
    body = json.dumps(
        {"journal": _export_rows(user), "exported": timezone.now().isoformat()},
        ensure_ascii=False,
        indent=2,
    )
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="circlecare-journal.json"'
    return response


@login_required
def journal_export(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _clinical(request)
    return render(
        request,
        "care/journal_export.html",
        {"entries": list(queries.my_reflections(user).order_by("created_at", "pk"))},
    )


@login_required
def nudge(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    nudge = queries.standing_nudge(user)
    # "At the next meeting" only while the group has one to come.
    next_meeting = queries.week_number(nudge.cohort)[2] if nudge and nudge.cohort else None
    return render(request, "care/nudge.html", {"nudge": nudge, "next_meeting": next_meeting})
