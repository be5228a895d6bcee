"""My questionnaires (take one, send answers, my FHIR export); staff alerts and outcome reports.

Handlers call the same services and queries as the questionnaire, alert and report pages, and
staff reads write the same audit events. Someone else's questionnaire or alert answers 404 exactly
like a missing one. Answers, alert notes and FHIR exports need a token's "clinical" scope.
"""

import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from typing import Any, overload

from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from ninja import Field, Path, Query, Schema
from ninja.pagination import paginate
from pydantic import StrictInt

from circlecare.accounts.http import signed_in
from circlecare.accounts.models import PersonalAccessToken, User
from circlecare.api import (
    AUTH,
    ERRORS,
    ID_MAX,
    ErrorOut,
    Input,
    Pagination,
    Router,
    error,
    require_scope,
)
from circlecare.audit.models import AuditAction
from circlecare.audit.services import record
from circlecare.errors import DomainError, NotFound
from circlecare.measures import queries
from circlecare.measures.fhir import member_bundle
from circlecare.measures.forms import ReportForm
from circlecare.measures.instruments import Instrument, InvalidAnswers, get
from circlecare.measures.models import Assessment, RiskAlert
from circlecare.measures.outcomes import (
    ChangeCounts,
    Figure,
    InstrumentOutcome,
    OutcomeReport,
    program_report,
)
from circlecare.measures.services import (
    NOTE_MAX_LENGTH,
    acknowledge_alert,
    may_handle_alert,
    may_see_alerts,
    report_unsaved_risk_answer,
)
from circlecare.measures.services import submit_assessment as submit_service
from circlecare.measures.stats import Rate
from circlecare.programs.models import Program

logger = logging.getLogger(__name__)

router = Router(auth=AUTH)

#: Shown with every answer that says the member thinks of hurting themselves, saved or not.
CRISIS_RESOURCES = (
    "If you need support right now, you don't have to wait for your next group. Call or text 988 "
    "(the US Suicide & Crisis Lifeline) any time, day or night; it's free and confidential. If "
    "you or someone else is in immediate danger, call 911. If you are outside the US, contact "
    "your local emergency number."
)


# --------------------------------------------------------------------------------------------------
# Helpers shared with the clinic API


def has_scope(request: HttpRequest, scope: str) -> bool:
    """Whether the caller's token carries ``scope`` (a browser session carries every scope)."""
    token: PersonalAccessToken | None = getattr(request, "api_token", None)
    return token is None or token.allows(scope)


class AuditedPage(Sequence[Any]):
    """A list endpoint's rows for ``Pagination``: only the rows of the page asked for are turned
    into output, and ``on_page`` (an audit record) runs for exactly those rows."""

    def __init__(
        self,
        rows: QuerySet[Any] | Sequence[Any],
        *,
        out: Callable[[Any], Any],
        on_page: Callable[[list[Any]], None],
    ) -> None:
        self._rows = rows
        self._out = out
        self._on_page = on_page

    def __len__(self) -> int:
        rows = self._rows
        return rows.count() if isinstance(rows, QuerySet) else len(rows)

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, int):
            return self[index : index + 1][0]
        page = list(self._rows[index])
        self._on_page(page)
        return [self._out(row) for row in page]

    def __iter__(self) -> Iterator[Any]:
        return iter(self[0 : len(self)])


# --------------------------------------------------------------------------------------------------
# Schemas


class GroupRef(Schema):
    id: int
    name: str
    program: str


class QuestionnaireOut(Schema):
    id: int
    instrument: str = Field(..., description="The instrument's code, e.g. PHQ9.")
    name: str
    group: GroupRef
    occasion: str = Field(..., description="intake, weekly, final or checkin.")
    week: int = Field(..., description="The programme week it belongs to (0 for intake).")
    status: str = Field(..., description="due, completed or missed.")
    due_at: datetime
    completed_at: datetime | None = None
    total: int | None = None
    band: str | None = None
    percentage: int | None = None
    answers: list[int] | None = Field(
        None, description="The answers as given; only with the 'clinical' scope."
    )


class OptionOut(Schema):
    value: int
    label: str


class ItemOut(Schema):
    number: int
    text: str
    options: list[OptionOut]
    scored: bool = True


class InstrumentOut(Schema):
    code: str
    name: str
    title: str
    instructions: str
    items: list[ItemOut]
    attribution: str
    notice: str


class QuestionnaireDetailOut(QuestionnaireOut):
    form: InstrumentOut = Field(..., description="The questions, in order, with their answers.")


class AnswersIn(Input):
    # Strict: a JSON true, "5" or 5.0 is not an answer (lax parsing would read true as 1).
    answers: list[StrictInt] = Field(
        ...,
        max_length=20,
        description="One answer per scored item in order, then optionally the unscored ones: "
        "whole numbers (not strings, decimals or true/false).",
    )


class SubmittedOut(QuestionnaireOut):
    crisis_resources: str | None = Field(
        None, description="Where to find support right now; present after a risk answer."
    )


class PersonRef(Schema):
    id: int
    display_name: str


class AlertOut(Schema):
    id: int
    member: PersonRef
    group: GroupRef
    instrument: str
    raised_at: datetime
    escalated_at: datetime | None
    is_open: bool
    assignee: PersonRef
    acknowledged_at: datetime | None
    acknowledged_by: PersonRef | None
    action_note: str = Field("", description="What was done, written on acknowledgement.")


class AcknowledgeIn(Input):
    # An empty note is the service's to refuse (note_required), as a blank one is.
    note: str = Field(..., max_length=NOTE_MAX_LENGTH, description="What was done and by whom.")


class RateOut(Schema):
    k: int
    n: int
    proportion: float
    low: float = Field(..., description="Lower bound of the 95% Wilson interval.")
    high: float = Field(..., description="Upper bound of the 95% Wilson interval.")


class FigureOut(Schema):
    name: str
    population: str
    itt: RateOut | None = Field(None, description="Counting everyone who started.")
    completers: RateOut | None = None
    n_with_follow_up: int = Field(
        ...,
        description="How many of the figure's intent-to-treat population have a follow-up score "
        "at all. 0 means there is no result yet: an intent-to-treat 0 of n then says only that, "
        "not that nobody improved.",
    )


class ChangeCountsOut(Schema):
    lower: int = Field(
        ..., description="Members with a follow-up score whose last score is below their baseline."
    )
    same: int = Field(
        ..., description="Members with a follow-up score whose last score equals their baseline."
    )
    higher: int = Field(
        ..., description="Members with a follow-up score whose last score is above their baseline."
    )
    better: str = Field(..., description="lower or higher: which way is better on this instrument.")


class InstrumentOutcomeOut(Schema):
    code: str
    name: str
    started: int
    with_follow_up: int
    left_early: int
    in_caseness: int | None
    threshold_basis: str
    figures: list[FigureOut]
    change: ChangeCountsOut | None = Field(
        None,
        description="For an instrument with no published reliable-change threshold (the UCLA-3): "
        "which way the score went between baseline and last score, among the with_follow_up "
        "members, as counts without a verdict. Null when the instrument has figures instead.",
    )


class OutcomeReportOut(Schema):
    title: str
    start: date | None
    end: date | None
    by_week: int
    sentence: str = Field(..., description="The result in one sentence, with the caveat.")
    synthetic: bool = Field(..., description="True when demo data is included.")
    notes: list[str]
    instruments: list[InstrumentOutcomeOut]
    combined: FigureOut | None = None


# --------------------------------------------------------------------------------------------------
# Building output


def _group(assessment_or_alert: Assessment | RiskAlert) -> dict[str, Any]:
    cohort = assessment_or_alert.cohort
    return {
        "id": cohort.pk,
        "name": cohort.name or cohort.program.title,
        "program": cohort.program.slug,
    }


def questionnaire_out(row: Assessment, *, clinical: bool) -> dict[str, Any]:
    return {
        "id": row.pk,
        "instrument": row.instrument,
        "name": get(row.instrument).name,
        "group": _group(row),
        "occasion": row.occasion,
        "week": row.meeting_week,
        "status": row.status,
        "due_at": row.due_at,
        "completed_at": row.completed_at,
        "total": row.total,
        "band": row.band or None,
        "percentage": row.percentage,
        "answers": row.answer_list if clinical and row.is_completed else None,
    }


def instrument_out(instrument: Instrument) -> dict[str, Any]:
    options = [{"value": v, "label": label} for v, label in instrument.options]
    items: list[dict[str, Any]] = [
        {"number": item.number, "text": item.text, "options": options} for item in instrument.items
    ]
    items += [
        {
            "number": extra.number,
            "text": extra.text,
            "options": [{"value": v, "label": label} for v, label in extra.options],
            "scored": False,
        }
        for extra in instrument.unscored_items
    ]
    return {
        "code": instrument.code,
        "name": instrument.name,
        "title": instrument.title,
        "instructions": instrument.instructions,
        "items": items,
        "attribution": instrument.attribution,
        "notice": instrument.notice,
    }


def _person(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.pk, "display_name": user.display_name}


def alert_out(alert: RiskAlert) -> dict[str, Any]:
    return {
        "id": alert.pk,
        "member": _person(alert.member),
        "group": _group(alert),
        # Only the PHQ-9 asks the risk question, so an alert whose questionnaire was taken back
        # (and is gone) came from one too.
        "instrument": alert.assessment.instrument if alert.assessment else "PHQ9",
        "raised_at": alert.raised_at,
        "escalated_at": alert.escalated_at,
        "is_open": alert.is_open,
        "assignee": _person(alert.assignee),
        "acknowledged_at": alert.acknowledged_at,
        "acknowledged_by": _person(alert.acknowledged_by),
        "action_note": alert.action_note,
    }


def _rate(value: Rate | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {
        "k": value.k,
        "n": value.n,
        "proportion": value.proportion,
        "low": value.low,
        "high": value.high,
    }


def _figure(figure: Figure | None) -> dict[str, Any] | None:
    if figure is None:
        return None
    return {
        "name": figure.name,
        "population": figure.population,
        "itt": _rate(figure.itt),
        "completers": _rate(figure.completers),
        "n_with_follow_up": figure.followed_up,
    }


def _change(change: ChangeCounts | None) -> dict[str, Any] | None:
    if change is None:
        return None
    return {
        "lower": change.lower,
        "same": change.same,
        "higher": change.higher,
        "better": change.better,
    }


def _instrument_outcome(outcome: InstrumentOutcome) -> dict[str, Any]:
    return {
        "code": outcome.code,
        "name": outcome.name,
        "started": outcome.started,
        "with_follow_up": outcome.with_follow_up,
        "left_early": outcome.left_early,
        "in_caseness": outcome.in_caseness,
        "threshold_basis": outcome.threshold_basis,
        "figures": [_figure(f) for f in outcome.figures],
        "change": _change(outcome.change),
    }


def report_out(report: OutcomeReport) -> dict[str, Any]:
    return {
        "title": report.title,
        "start": report.start,
        "end": report.end,
        "by_week": report.by_week,
        "sentence": report.sentence(),
        "synthetic": report.synthetic,
        "notes": list(report.notes),
        "instruments": [_instrument_outcome(i) for i in report.instruments],
        "combined": _figure(report.combined),
    }


def _own_assessment(request: HttpRequest, pk: int) -> Assessment:
    row = (
        Assessment.objects.select_related("cohort__program")
        .filter(pk=pk, member_id=request.user.pk)
        .first()
    )
    if row is None:
        raise Http404
    return row


def _risk_answered(instrument: str, answers: Sequence[int]) -> bool:
    """Whether the raw answers say "yes" to the PHQ-9's risk question (item 9), valid or not."""
    return instrument == "PHQ9" and len(answers) >= 9 and answers[8] > 0


# --------------------------------------------------------------------------------------------------
# Members


@router.get(
    "/questionnaires",
    response={200: list[QuestionnaireOut], ERRORS: ErrorOut},
    summary="My questionnaires",
    description=(
        "What is due now (earliest first), then the ones I have answered (latest first) with "
        "their total and band. The answers themselves need the 'clinical' scope."
    ),
)
@paginate(Pagination)
def list_questionnaires(request: HttpRequest) -> Any:
    require_scope(request, "read")
    clinical = has_scope(request, "clinical")
    user = signed_in(request)
    due = list(queries.due_for_member(user))
    past = list(queries.member_history(user))[::-1]
    return [questionnaire_out(row, clinical=clinical) for row in due + past]


@router.get(
    "/questionnaires/{assessment_id}",
    response={200: QuestionnaireDetailOut, ERRORS: ErrorOut},
    summary="One of my questionnaires",
    description="With its questions and answer options, in the instrument's own words.",
)
def get_questionnaire(request: HttpRequest, assessment_id: int = Path(..., ge=1, le=ID_MAX)) -> Any:
    require_scope(request, "read")
    row = _own_assessment(request, assessment_id)
    return {
        **questionnaire_out(row, clinical=has_scope(request, "clinical")),
        "form": instrument_out(get(row.instrument)),
    }


@router.post(
    "/questionnaires/{assessment_id}/answers",
    response={200: SubmittedOut, ERRORS: ErrorOut},
    summary="Send my answers",
    description=(
        "Answers are sent once and can't be changed (a second time is 409). Answers that can't "
        "be scored are 422 with `detail.item`, the question to look at. After an answer that "
        "says the member may hurt themselves, the answer includes `crisis_resources` (and so "
        "does any error's `detail`)."
    ),
)
def submit_answers(
    request: HttpRequest, payload: AnswersIn, assessment_id: int = Path(..., ge=1, le=ID_MAX)
) -> Any:
    require_scope(request, "write")
    require_scope(request, "clinical")
    row = _own_assessment(request, assessment_id)
    risk = _risk_answered(row.instrument, payload.answers)
    crisis = {"crisis_resources": CRISIS_RESOURCES} if risk else {}

    def tell_the_clinician() -> None:
        # A risk answer that could not be stored still reaches the group's clinician.
        report_unsaved_risk_answer(assessment=row, actor=request.user)

    try:
        saved = submit_service(assessment=row, answers=payload.answers, actor=request.user)
    except InvalidAnswers as exc:
        if risk:
            tell_the_clinician()
        return error(request, 422, exc.code, exc.message, {"item": exc.item, **crisis})
    except NotFound as exc:
        raise Http404 from exc
    except DomainError as exc:
        if not risk:
            raise
        tell_the_clinician()
        detail = exc.detail if isinstance(exc.detail, dict) else {}
        return error(request, exc.status, exc.code, exc.message, {**detail, **crisis})
    except Exception:
        if not risk:
            raise
        # Whatever failed, someone who has just given a risk answer still sees where to turn.
        logger.exception("saving a questionnaire with a risk answer failed")
        return error(
            request,
            409,
            "not_saved",
            "Your answers could not be saved just now. Please try again in a moment.",
            crisis,
        )
    out = questionnaire_out(saved, clinical=True)
    return {**out, "crisis_resources": CRISIS_RESOURCES if saved.has_risk or risk else None}


@router.get(
    "/fhir",
    response={200: dict[str, Any], ERRORS: ErrorOut},
    summary="My results as FHIR",
    description=(
        "A FHIR R4 `collection` Bundle of my answered questionnaires (QuestionnaireResponse and "
        "score Observations), the same as the download on my progress page."
    ),
)
def my_fhir(request: HttpRequest) -> Any:
    require_scope(request, "read")
    require_scope(request, "clinical")
    user = signed_in(request)
    return member_bundle(user, queries.member_history(user))


# --------------------------------------------------------------------------------------------------
# Staff


def _alert_viewed(actor: User, view: str) -> Callable[[list[RiskAlert]], None]:
    def on_page(alerts: list[RiskAlert]) -> None:
        for alert in alerts:
            record(
                actor=actor,
                action=AuditAction.ALERT_VIEWED,
                target=alert,
                subject=alert.member,
                data={"view": view},
            )

    return on_page


@router.get(
    "/alerts",
    head=False,
    response={200: list[AlertOut], ERRORS: ErrorOut},
    summary="Risk alerts for me",
    description=(
        "Alerts of the groups I lead or co-facilitate (every group's for a coordinator): open "
        "ones first, newest first. `open=true` keeps the open ones, `false` the acknowledged."
    ),
)
@paginate(Pagination)
def list_alerts(request: HttpRequest, only_open: bool | None = Query(None, alias="open")) -> Any:
    require_scope(request, "read")
    require_scope(request, "clinical")
    user = signed_in(request)
    if not may_see_alerts(user):
        raise Http404
    queue = queries.alert_queue(user).select_related("assessment")
    if only_open is not None:
        queue = queue.filter(acknowledged_at__isnull=only_open)
    return AuditedPage(queue, out=alert_out, on_page=_alert_viewed(user, "api"))


def _alert(request: HttpRequest, pk: int) -> RiskAlert:
    row = (
        RiskAlert.objects.select_related(
            "member", "cohort__program", "assignee", "acknowledged_by", "assessment"
        )
        .defer(*queries.ALERT_PEOPLE_HASHES)
        .filter(pk=pk)
        .first()
    )
    if row is None or not may_handle_alert(request.user, row):
        raise Http404
    return row


@router.get(
    "/alerts/{alert_id}",
    head=False,
    response={200: AlertOut, ERRORS: ErrorOut},
    summary="One risk alert",
)
def get_alert(request: HttpRequest, alert_id: int = Path(..., ge=1, le=ID_MAX)) -> Any:
    require_scope(request, "read")
    require_scope(request, "clinical")
    row = _alert(request, alert_id)
    _alert_viewed(signed_in(request), "detail")([row])
    return alert_out(row)


@router.post(
    "/alerts/{alert_id}/acknowledge",
    response={200: AlertOut, ERRORS: ErrorOut},
    summary="Acknowledge a risk alert",
    description="With a note of what was done. Once only: a second acknowledgement is 409.",
)
def acknowledge(
    request: HttpRequest, payload: AcknowledgeIn, alert_id: int = Path(..., ge=1, le=ID_MAX)
) -> Any:
    require_scope(request, "write")
    require_scope(request, "clinical")
    row = _alert(request, alert_id)
    try:
        acknowledge_alert(alert=row, actor=request.user, note=payload.note)
    except NotFound as exc:
        raise Http404 from exc
    return alert_out(_alert(request, alert_id))


@router.get(
    "/reports/outcomes",
    head=False,
    response={200: OutcomeReportOut, ERRORS: ErrorOut},
    summary="Outcome report for a program",
    description=(
        "For coordinators: the outcomes of every group of a program whose first meeting falls in "
        "[start, end] (default: the last year and the next 90 days). Each figure is a count out "
        "of its denominator with a 95% Wilson interval, intent-to-treat and among completers."
    ),
)
def outcome_report(
    request: HttpRequest,
    program_id: int = Query(..., ge=1, le=ID_MAX),
    start: date | None = None,
    end: date | None = None,
) -> HttpResponse | dict[str, Any]:
    require_scope(request, "read")
    user = signed_in(request)
    if not user.is_staff:
        raise Http404
    program = Program.objects.filter(pk=program_id).first()
    if program is None:
        raise Http404
    default_start, default_end = ReportForm.default_period()
    start = start or default_start
    end = end or default_end
    if start > end:
        message = "The end of the period must be on or after its start."
        return error(request, 422, "invalid", message, [{"loc": ["query", "end"], "msg": message}])
    report = program_report(program, start, end)
    record(
        actor=user,
        action=AuditAction.ASSESSMENT_VIEWED,
        target=program,
        data={"view": "outcome_report"},
    )
    return report_out(report)
