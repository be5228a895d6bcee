"""Outcome reports for a program or a cohort, stated the honest way (MEASURES.md).

Definitions
-----------
* **Started**: a member who took a seat (an enrollment with ``confirmed_at``) in a cohort of
  the program whose first meeting falls in the period, and who has a baseline score on the
  instrument. Scores are ordered by programme week (intake is week 0), then by when they were
  completed (``timepoints``, the rule the member's chart and the group overview follow too). The
  baseline is the member's first score in that cohort: normally the intake (an intake shared
  from another group is a copy in this cohort, so it counts); for a member with no intake in
  this cohort, the first weekly score in it.
* **Last score**: the member's last score in that order up to the program's last week (the
  final questionnaire, or the latest weekly one before it; of two answers in one week, the one
  completed later).
* **With a follow-up score**: the last score is from a later week than the baseline.
* **Left early**: the member's seat ended as withdrawn or removed, and not because the practice
  cancelled the group (its members count as started; a note says how many groups were
  cancelled).
* **Completers**: members with a baseline and a follow-up score who attended at least two
  meetings of the cohort (attendance as recorded by the meetings app: attended or late).
* **Intent-to-treat** (ITT): the denominator is everyone who started; no follow-up score counts
  as not improved (and not recovered, and not deteriorated).
* **Reliable improvement / deterioration**: PHQ-9 by ≥ 6, GAD-7 by ≥ 4 (NHS Talking Therapies
  thresholds), WHO-5 by ≥ 10 percentage points (the developers' rule of thumb). UCLA-3 has no
  published threshold, so for it the report shows the change only: among members with a
  follow-up score, how many scored lower, the same and higher at the last score, with no verdict.
* **Recovery** (PHQ-9, GAD-7): among members in caseness at baseline (PHQ-9 ≥ 10, GAD-7 ≥ 8),
  below the threshold at the last score. **Reliable recovery**: recovery and reliable
  improvement.
* **PHQ-9 + GAD-7 together** (therapy): reliably improved when at least one improves reliably
  and neither deteriorates reliably; among members with a baseline on both.

Every rate carries its numerator, denominator and a Wilson 95 % interval. The numbers come from
database aggregates over the score summaries (``ScoreSummary``: each member's baseline and last
score per cohort and instrument, kept as scores are submitted; see ``summaries``): one pass of
filtered ``COUNT`` aggregates over the summary rows, grouped by instrument and by completer or
not, gives every figure (for the PHQ-9 + GAD-7 figure, a grouped pass first puts a member's two
instruments side by side), "left early" included: whether a member took a seat and whether they
left early are kept on their summaries too, so the pass reads no enrollments. No Python loop runs
over members or scores. Without a control group, a change is not proof that the group caused it;
the report sentence says so.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from django.db import connections, transaction
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    When,
)
from django.utils import timezone

from circlecare import csvsafe
from circlecare.measures import summaries
from circlecare.measures.instruments import Instrument, get
from circlecare.measures.models import Assessment, ScoreSummary
from circlecare.measures.plans import primary_code, weekly_codes
from circlecare.measures.stats import Rate, rate
from circlecare.measures.timepoints import follow_up_q
from circlecare.meetings.models import PRESENT, Attendance, Meeting, MeetingStatus
from circlecare.programs.models import ENDED, Cohort, CohortStatus, Program, ProgramKind

STARTED_DEFINITION = (
    "Started: took a seat in one of the groups and has a baseline score on the questionnaire; "
    "a member with no baseline score in the group (for example, one who left before answering "
    "it) cannot show a change and is not counted."
)
COMPLETERS_DEFINITION = (
    "Completers are members with a baseline and a follow-up score who attended at least two "
    "meetings."
)
COMPLETER_MEETINGS = 2
NO_CONTROL_CAVEAT = (
    "There is no control group, so these changes are not proof that the group caused them."
)


@dataclass(frozen=True)
class Figure:
    """One outcome, intent-to-treat and among completers; a rate is ``None`` when n is 0.

    ``followed_up`` is how many of the intent-to-treat population have a follow-up score at all
    (attendance aside): when it is 0 there is no result yet, and an intent-to-treat "0 of n" says
    only that, not that nobody improved."""

    name: str
    itt: Rate | None
    completers: Rate | None
    population: str
    followed_up: int

    @property
    def awaiting_follow_up(self) -> bool:
        """Someone is counted, but nobody has a follow-up score yet."""
        return self.itt is not None and self.followed_up == 0


@dataclass(frozen=True)
class ChangeCounts:
    """Which way the score went between baseline and last score, among members with a
    follow-up: for an instrument with no published reliable-change threshold, the change is
    shown this way, without a verdict."""

    lower: int
    same: int
    higher: int
    #: "lower" or "higher": which way is better on this instrument.
    better: str


@dataclass(frozen=True)
class InstrumentOutcome:
    code: str
    name: str
    started: int
    with_follow_up: int
    left_early: int
    in_caseness: int | None
    reliable_improvement: Figure | None
    reliable_deterioration: Figure | None
    recovery: Figure | None
    reliable_recovery: Figure | None
    threshold_basis: str
    change: ChangeCounts | None = None

    @property
    def figures(self) -> list[Figure]:
        return [
            f
            for f in (
                self.reliable_improvement,
                self.recovery,
                self.reliable_recovery,
                self.reliable_deterioration,
            )
            if f is not None
        ]


@dataclass(frozen=True)
class OutcomeReport:
    title: str
    start: date | None
    end: date | None
    by_week: int
    instruments: list[InstrumentOutcome]
    combined: Figure | None = None
    synthetic: bool = False
    notes: list[str] = field(default_factory=list)
    #: The instrument the sentence leads with (``plans.primary_code``) when the report has it.
    primary_code: str = ""
    #: For one group still running: the programme week it has reached (0 before its first
    #: meeting). The figures are then results so far, not results by the last week.
    reached_week: int | None = None
    #: For one group cancelled before its last week: ``reached_week`` is the week it ended in.
    cancelled: bool = False
    #: How many groups the report covers, and how many of them have not finished.
    groups: int = 0
    unfinished_groups: int = 0

    @property
    def window(self) -> str:
        """ "by week 8", or, for a group still running, "so far, in week 3 of 8"; for one
        cancelled in its third week, "by week 3 of 8, when the group was cancelled"."""
        if self.reached_week is None:
            return f"by week {self.by_week}"
        if self.cancelled:
            if self.reached_week == 0:
                return "before the group's first meeting (it was cancelled before it met)"
            return f"by week {self.reached_week} of {self.by_week}, when the group was cancelled"
        if self.reached_week == 0:
            return "so far, before the group's first meeting"
        return f"so far, in week {self.reached_week} of {self.by_week}"

    @property
    def not_yet(self) -> str:
        """ "by week 8 yet", or, for a group still running, "yet (the group is in week 3 of 8)"."""
        if self.reached_week is None:
            return f"by week {self.by_week} yet"
        if self.cancelled:
            if self.reached_week == 0:
                return "(the group was cancelled before it met)"
            return f"by week {self.reached_week} of {self.by_week}, when the group was cancelled"
        if self.reached_week == 0:
            return "yet (the group has not met yet)"
        return f"yet (the group is in week {self.reached_week} of {self.by_week})"

    @property
    def primary(self) -> InstrumentOutcome | None:
        """The program kind's primary instrument (PHQ-9 for therapy, WHO-5 otherwise), whatever
        order a measurement plan lists its instruments in; else the first."""
        for outcome in self.instruments:
            if outcome.code == self.primary_code:
                return outcome
        return self.instruments[0] if self.instruments else None

    def sentence(self) -> str:
        """The result in one honest sentence, with its denominators and the caveat."""
        return summary_sentence(self)


def _pct(r: Rate) -> str:
    value, low, high = r.as_percentages(1)
    return f"{value:.1f}% (95% CI {low:.1f}–{high:.1f})"


def _members(n: int) -> str:
    return f"{n:,} member{'' if n == 1 else 's'}"


def summary_sentence(report: OutcomeReport) -> str:
    primary = report.primary
    if primary is None or primary.started == 0:
        # One group's report has no period: "in this period" belongs to a programme's.
        period = " in this period" if report.start is not None else ""
        return (
            f"No member who started {report.title}{period} has a baseline score yet, "
            "so there is no result to report."
        )
    improvement = primary.reliable_improvement
    deterioration = primary.reliable_deterioration
    if primary.with_follow_up == 0:
        # "0 improved (0.0%)" would read as a result; with no follow-up there is none yet.
        return (
            f"{_members(primary.started)} started "
            f"{report.title} with a baseline {primary.name} score, and none has a follow-up "
            f"score {report.not_yet}, so there is no result to report"
            + (f"; {primary.left_early:,} left early." if primary.left_early else ".")
        )
    if improvement is None or improvement.itt is None:
        return (
            f"Of {_members(primary.started)} who started {report.title}, "
            f"{primary.with_follow_up:,} {'has' if primary.with_follow_up == 1 else 'have'} a "
            f"follow-up {primary.name} score and {primary.left_early:,} left early; "
            f"{primary.name} has no published reliable-change threshold, so only the change is "
            f"shown. {NO_CONTROL_CAVEAT}"
        )
    itt = improvement.itt
    parts = [
        f"Of {_members(primary.started)} who started {report.title}, {itt.k:,} improved reliably on "
        f"the {primary.name} {report.window}: {_pct(itt)} counting everyone who "
        "started (intent-to-treat)"
    ]
    if improvement.completers is not None:
        comp = improvement.completers
        parts.append(
            f", and {comp.k:,} of the {comp.n:,} with a follow-up score who attended at least "
            f"{COMPLETER_MEETINGS} meetings, {_pct(comp)} (completers)"
        )
    parts.append(f"; {primary.left_early:,} left early")
    if deterioration is not None and deterioration.itt is not None:
        det = deterioration.itt
        parts.append(f", and {det.k:,} of {det.n:,} deteriorated reliably, {_pct(det)}")
    parts.append(f". {NO_CONTROL_CAVEAT}")
    return "".join(parts)


def _rate(k: int, n: int) -> Rate | None:
    return rate(k, n) if n > 0 else None


#: Packs (member id, cohort id) into one 64-bit number; ids stay far below 2**32.
PAIR = summaries.PAIR


def _pair() -> Any:
    return ExpressionWrapper(F("member_id") * PAIR + F("cohort_id"), output_field=BigIntegerField())


def _per_member(
    cohorts: QuerySet[Cohort], codes: list[str], weeks: int
) -> tuple[QuerySet[Any], dict[str, Any]]:
    """The summary rows the report counts, one per (member, cohort, instrument), each with its
    instrument's baseline and last total and whether a follow-up exists (``<code>_base``,
    ``<code>_last``, ``<code>_follow`` = 1, for every code alike: a row holds its own instrument's
    values, named for each code so one instrument's conditions read them); and, by name, the
    expressions for whether the member attended enough meetings to be a completer
    (``completer``), whether the seat ended early (``left``) and whether the summary was capped
    at another number of weeks than the program has now (``is_stale``).

    Only members who took a seat (an enrollment with ``confirmed_at``) count, and only baselines
    up to ``weeks``."""
    # "Took a seat in this cohort" is kept on the summary (``summaries.seats_changed``).
    qs = ScoreSummary.objects.filter(
        seated=True, cohort__in=cohorts, instrument__in=codes, baseline_week__lte=weeks
    ).alias(pair=_pair())
    # Attended at least two meetings, as a semi-join on the packed (member, cohort) number:
    # PostgreSQL hashes the (member, cohort) pairs with enough attendance once, instead of
    # counting one member's attendance per row.
    attended_enough = (
        Attendance.objects.filter(
            meeting__cohort__in=cohorts,
            status__in=PRESENT,
        )
        .order_by()
        .values("member_id", "meeting__cohort_id")
        .annotate(n=Count("pk"))
        .filter(n__gte=COMPLETER_MEETINGS)
        .annotate(
            pair=ExpressionWrapper(
                F("member_id") * PAIR + F("meeting__cohort_id"), output_field=BigIntegerField()
            )
        )
        .values("pair")
    )
    per_row = {
        "completer": _flag(Q(pair__in=attended_enough)),
        "is_stale": _flag(~Q(weeks=weeks)),
        "left": _flag(Q(left_early=True)),
    }
    rows: dict[str, Any] = {}
    for code in codes:
        rows[f"{code}_base"] = F("baseline_total")
        rows[f"{code}_last"] = F("last_total")
        rows[f"{code}_follow"] = _flag(follow_up_q("last_week", "baseline_week"))
    return qs.alias(**rows), per_row


def _flag(condition: Q) -> Any:
    return Case(When(condition, then=1), default=0, output_field=IntegerField())


def _conditions(instrument: Instrument) -> tuple[dict[str, Q], Any]:
    """The filters for each count, and the "better by" expression they rely on (or None)."""
    code = instrument.code
    base, last = F(f"{code}_base"), F(f"{code}_last")
    started = Q(**{f"{code}_base__isnull": False})
    follow_up = Q(**{f"{code}_follow": 1})
    # Left early: a seat ended as withdrawn or removed, and not back in the group.
    conditions = {"started": started, "follow_up": follow_up, "left": started & Q(left=1)}
    better_by: Any = None
    if instrument.reliable_change is not None:
        factor = (
            instrument.percentage_factor if instrument.reliable_change_on == "percentage" else 1
        )
        # "Better by" in the units the threshold is stated in; raw totals are whole numbers, so
        # ``better ≥ t`` is exact.
        better = (base - last) if instrument.higher_is_worse else (last - base)
        threshold = instrument.reliable_change
        conditions["improved"] = follow_up & Q(**{f"{code}_better__gte": threshold})
        conditions["deteriorated"] = follow_up & Q(**{f"{code}_better__lte": -threshold})
        better_by = ExpressionWrapper(better * (factor or 1), output_field=IntegerField())
    else:
        # No published threshold (UCLA-3): only which way the score went, with no verdict.
        conditions["lower"] = follow_up & Q(**{f"{code}_last__lt": base})
        conditions["same"] = follow_up & Q(**{f"{code}_last": base})
        conditions["higher"] = follow_up & Q(**{f"{code}_last__gt": base})
    if instrument.caseness_threshold is not None:
        c = instrument.caseness_threshold
        case = Q(**{f"{code}_base__gte": c})
        conditions["case"] = case
        conditions["case_follow_up"] = case & follow_up
        recovered = case & follow_up & Q(**{f"{code}_last__lt": c})
        conditions["recovered"] = recovered
        if "improved" in conditions:
            conditions["reliably_recovered"] = recovered & conditions["improved"]
    return conditions, better_by


def _columns_sql(condition: Q, quote: Any) -> str:
    """SQL for a condition on ``_pivot``'s 0/1 columns: equalities to whole numbers, joined
    with AND, OR and NOT; the names are the report's own columns."""
    parts = []
    for child in condition.children:
        if isinstance(child, Q):
            parts.append(_columns_sql(child, quote))
        else:
            column, value = child  # type: ignore[misc]  # a Q's leaves are (name, value)
            parts.append(f"{quote(column)} = {int(value)}")
    sql = "(" + f" {condition.connector} ".join(parts) + ")"
    return f"(NOT {sql})" if condition.negated else sql


def _count(qs: QuerySet[Any], counted: dict[str, Q], *, grouped: bool) -> dict[str, int]:
    """How many rows of ``qs`` meet each condition of ``counted``."""
    if not grouped:
        # ``qs`` is one row per member with 0/1 columns (``_pivot``): count them in an outer
        # SELECT over it. (Django's ``aggregate()`` gives the same numbers, but spends some
        # 30 ms re-walking every column's expression to point it at the subquery.)
        connection = connections[qs.db]
        inner, params = qs.query.sql_with_params()
        sums = ", ".join(
            f"SUM(CASE WHEN {_columns_sql(cond, connection.ops.quote_name)} THEN 1 ELSE 0 END)"
            for cond in counted.values()
        )
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {sums} FROM ({inner}) member_rows", params)  # nosec B608  # noqa: S608
            row = cursor.fetchone()
        return {name: int(value or 0) for name, value in zip(counted, row, strict=True)}
    aggregates = {name: Count("member_id", filter=cond) for name, cond in counted.items()}
    # One row per (instrument, completer or not): every count is made once per row, with the
    # attendance looked up once per row, and the completer figures are the counts of the
    # completers' row. A row's counts for other instruments than its own are not read.
    counts: dict[str, int] = {}
    for row in qs.values("instrument", "completer").annotate(**aggregates).order_by():
        code, completer = row["instrument"], row["completer"]
        counts["stale"] = counts.get("stale", 0) + row["stale"]
        prefix = f"{code}__"
        for key, value in row.items():
            if not key.startswith(prefix):
                continue
            name = key[len(prefix) :]
            counts[key] = counts.get(key, 0) + value
            if completer:
                completer_key = prefix + ("completer" if name == "follow_up" else f"c_{name}")
                counts[completer_key] = counts.get(completer_key, 0) + value
    counts.setdefault("stale", 0)
    return counts


def _aggregate(qs: QuerySet[Any], counted: dict[str, Q], *, grouped: bool) -> dict[str, int]:
    connection = connections[qs.db]
    if connection.vendor != "postgresql":
        return _count(qs, counted, grouped=grouped)
    with transaction.atomic(using=qs.db):
        # One pass is cheap to run but looks expensive to the planner, and compiling it with JIT
        # costs more (about 0.3 s) than the pass itself takes; and enough memory to group the
        # summaries in a hash table rather than sorting on disk.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('jit', 'off', true), set_config('work_mem', '64MB', true)"
            )
        return _count(qs, counted, grouped=grouped)


#: The counts made again among completers (members with a follow-up who attended enough).
COMPLETER_COUNTS = ("improved", "deteriorated", "case_follow_up", "recovered", "reliably_recovered")


def _pivot(
    rows: QuerySet[Any], per_row: dict[str, Any], conditions: dict[str, dict[str, Q]]
) -> tuple[QuerySet[Any], dict[str, Q]]:
    """One row per (member, cohort), for figures that need two instruments of a member
    together, and the conditions to count on it.

    Each instrument's condition is tested on that instrument's summary row (a member has one per
    instrument) and kept as a 0/1 column of the member's row, with ``completer``, ``left`` and
    ``is_stale``; the counts then test those plain columns (``_columns_sql``)."""
    flags: dict[str, Any] = {name: Max(expression) for name, expression in per_row.items()}
    counted: dict[str, Q] = {"stale": Q(is_stale=1)}
    for code, conds in conditions.items():
        for name, cond in conds.items():
            if name == "left":
                continue  # below, from this row's flags
            column = f"n_{code}_{name}"
            flags[column] = Max(_flag(Q(instrument=code) & cond))
            counted[f"{code}__{name}"] = Q(**{column: 1})
            if name in COMPLETER_COUNTS:
                counted[f"{code}__c_{name}"] = Q(**{column: 1, "completer": 1})
        counted[f"{code}__completer"] = Q(**{f"n_{code}_follow_up": 1, "completer": 1})
        # Left early: started on this instrument, and the seat ended early.
        counted[f"{code}__left"] = Q(**{f"n_{code}_started": 1, "left": 1})
    both = Q(n_PHQ9_started=1, n_GAD7_started=1)
    both_follow = both & Q(n_PHQ9_follow_up=1, n_GAD7_follow_up=1)
    both_completer = both_follow & Q(completer=1)
    good = (Q(n_PHQ9_improved=1) | Q(n_GAD7_improved=1)) & Q(
        n_PHQ9_deteriorated=0, n_GAD7_deteriorated=0
    )
    counted["both__started"] = both
    counted["both__follow_up"] = both_follow
    counted["both__completer"] = both_completer
    counted["both__improved"] = both_follow & good
    counted["both__c_improved"] = both_completer & good
    return rows.values("cohort_id", "member_id").annotate(**flags), counted


def _report(
    cohorts: QuerySet[Cohort],
    *,
    title: str,
    kind: str,
    codes: tuple[str, ...],
    weeks: int,
    start: date | None,
    end: date | None,
) -> OutcomeReport:
    instruments = [get(code) for code in codes if get(code).validated]
    # The PHQ-9 + GAD-7 figure (therapy) needs both instruments of a member on one row.
    pair_codes = ("PHQ9", "GAD7")
    has_combined = kind == ProgramKind.THERAPY and all(
        any(i.code == c and i.reliable_change is not None for i in instruments) for c in pair_codes
    )
    rows, per_row = _per_member(cohorts, [i.code for i in instruments], weeks)
    conditions: dict[str, dict[str, Q]] = {}
    for instrument in instruments:
        conds, better = _conditions(instrument)
        conditions[instrument.code] = conds
        if better is not None:
            rows = rows.alias(**{f"{instrument.code}_better": better})
    counts: dict[str, int] = {}
    if conditions:
        if has_combined:
            qs, counted = _pivot(rows, per_row, conditions)
        else:
            # Each figure counts one instrument's rows, grouped by instrument and completer or
            # not (see ``_count``).
            qs = rows.alias(is_stale=per_row["is_stale"], left=per_row["left"]).annotate(
                completer=per_row["completer"]
            )
            counted = {
                f"{code}__{name}": cond
                for code, conds in conditions.items()
                for name, cond in conds.items()
            }
            counted["stale"] = Q(is_stale=1)
        counts = _aggregate(qs, counted, grouped=not has_combined)
        if counts["stale"]:
            # The program's number of weeks changed since some summaries were written: recompute
            # those cohorts' summaries with the weeks it has now, then count again.
            stale = set(
                ScoreSummary.objects.filter(cohort__in=cohorts)
                .exclude(weeks=weeks)
                .values_list("cohort_id", flat=True)
            )
            summaries.rebuild(cohorts=Cohort.objects.filter(pk__in=stale), using=qs.db)
            counts = _aggregate(qs, counted, grouped=not has_combined)
    # One pass over the groups: how many have not finished, and whether any holds made-up demo
    # scores (a partial index on synthetic rows keeps that a quick look-up per group).
    made_up = Assessment.objects.filter(synthetic=True, cohort=OuterRef("pk"))
    groups = cohorts.order_by().aggregate(
        unfinished=Count("pk", filter=~Q(status__in=ENDED)),
        cancelled=Count("pk", filter=Q(status=CohortStatus.CANCELLED)),
        all=Count("pk"),
        synthetic=Count("pk", filter=Exists(made_up)),
    )
    synthetic = bool(groups["synthetic"])

    outcomes = [_instrument_outcome(i, counts) for i in instruments]
    combined = None
    if has_combined:
        n_started, n_completers = counts["both__started"], counts["both__completer"]
        combined = Figure(
            name="Reliable improvement on PHQ-9 or GAD-7, with neither reliably worse",
            itt=_rate(counts["both__improved"], n_started),
            completers=_rate(counts["both__c_improved"], n_completers),
            population="members with a baseline on both PHQ-9 and GAD-7",
            followed_up=counts["both__follow_up"],
        )
    return OutcomeReport(
        title=title,
        start=start,
        end=end,
        by_week=weeks,
        instruments=outcomes,
        combined=combined,
        synthetic=synthetic,
        notes=[
            STARTED_DEFINITION,
            COMPLETERS_DEFINITION,
            *_cancelled_note(groups["cancelled"], groups["all"]),
            NO_CONTROL_CAVEAT,
        ],
        primary_code=primary_code(kind),
        groups=groups["all"],
        unfinished_groups=groups["unfinished"],
    )


def _cancelled_note(cancelled: int, groups: int) -> list[str]:
    """Groups the practice cancelled ended every seat in them: their members are counted as
    started, but their ending is not anyone's leaving early. Say so when there are any."""
    if not cancelled:
        return []
    which = (
        "The practice cancelled this group"
        if groups == 1
        else f"{cancelled:,} of the {groups:,} groups were cancelled by the practice"
    )
    return [
        f"{which}: {'its' if cancelled == 1 else 'their'} members count as started, and those "
        "without a follow-up score as not improved, but not as having left early."
    ]


def _instrument_outcome(instrument: Instrument, counts: dict[str, int]) -> InstrumentOutcome:
    code = instrument.code

    def c(name: str) -> int:
        return counts.get(f"{code}__{name}", 0)

    started, follow, completers = c("started"), c("follow_up"), c("completer")
    improvement = deterioration = recovery = reliable_recovery = None
    change: ChangeCounts | None = None
    if instrument.reliable_change is not None:
        improvement = Figure(
            "Reliable improvement",
            _rate(c("improved"), started),
            _rate(c("c_improved"), completers),
            "everyone who started",
            follow,
        )
        deterioration = Figure(
            "Reliable deterioration",
            _rate(c("deteriorated"), started),
            _rate(c("c_deteriorated"), completers),
            "everyone who started",
            follow,
        )
    else:
        change = ChangeCounts(
            lower=c("lower"),
            same=c("same"),
            higher=c("higher"),
            better="lower" if instrument.higher_is_worse else "higher",
        )
    in_case: int | None = None
    if instrument.caseness_threshold is not None:
        in_case = c("case")
        population = f"in the clinical range at baseline ({instrument.name} ≥ {instrument.caseness_threshold})"
        recovery = Figure(
            "Recovery",
            _rate(c("recovered"), in_case),
            _rate(c("c_recovered"), c("c_case_follow_up")),
            population,
            c("case_follow_up"),
        )
        if instrument.reliable_change is not None:
            reliable_recovery = Figure(
                "Reliable recovery",
                _rate(c("reliably_recovered"), in_case),
                _rate(c("c_reliably_recovered"), c("c_case_follow_up")),
                population,
                c("case_follow_up"),
            )
    return InstrumentOutcome(
        code=code,
        name=instrument.name,
        started=started,
        with_follow_up=follow,
        left_early=c("left"),
        in_caseness=in_case,
        reliable_improvement=improvement,
        reliable_deterioration=deterioration,
        recovery=recovery,
        reliable_recovery=reliable_recovery,
        threshold_basis=instrument.reliable_change_basis,
        change=change,
    )


def program_report(program: Program, start: date, end: date) -> OutcomeReport:
    """Outcomes of every cohort of ``program`` whose first meeting falls in [start, end]."""
    cohorts = Cohort.objects.filter(program=program, first_meeting_date__range=(start, end))
    report = _report(
        cohorts,
        title=program.title,
        kind=program.kind,
        codes=weekly_codes(program),
        weeks=program.weeks,
        start=start,
        end=end,
    )
    unfinished = report.unfinished_groups
    if not unfinished:
        return report
    # A period can take in groups still running or yet to meet: their members count as started,
    # and those without a follow-up score yet as not improved. Say so, rather than let that
    # read as a result.
    verb = "has" if unfinished == 1 else "have"
    note = (
        f"{unfinished:,} of the {report.groups:,} groups in this period {verb} not finished: "
        "their members count as started, and those without a follow-up score yet count as not "
        "improved, so these figures will change."
    )
    return replace(report, notes=[*report.notes, note])


def cohort_report(cohort: Cohort, *, now: datetime | None = None) -> OutcomeReport:
    """Outcomes of one cohort, by its program's last week; for a group still running, the
    results so far, saying which week it has reached."""
    program = cohort.program
    label = f"{program.title} ({cohort.name})" if cohort.name else program.title
    report = _report(
        Cohort.objects.filter(pk=cohort.pk),
        title=label,
        kind=program.kind,
        codes=weekly_codes(program),
        weeks=program.weeks,
        start=None,
        end=None,
    )
    if cohort.status == CohortStatus.CANCELLED:
        # Its meetings from the cancellation on were called off: the week it ended in is its
        # last meeting held, however many of their dates have passed since.
        held = (
            Meeting.objects.filter(cohort=cohort, starts_at__lte=now or timezone.now())
            .exclude(status=MeetingStatus.CANCELLED)
            .aggregate(week=Max("number"))["week"]
            or 0
        )
        if held >= program.weeks:
            return report
        return replace(report, reached_week=held, cancelled=True)
    if cohort.status in ENDED:
        return report
    # A meeting's number is its programme week, cancelled or not: its date still passes.
    reached = (
        Meeting.objects.filter(cohort=cohort, starts_at__lte=now or timezone.now()).aggregate(
            week=Max("number")
        )["week"]
        or 0
    )
    if reached >= program.weeks:
        return report
    report = replace(report, reached_week=reached)
    note = (
        f"The group is still running: these are results {report.window}, not by week "
        f"{report.by_week}."
    )
    return replace(report, notes=[*report.notes, note])


def report_csv(report: OutcomeReport) -> str:
    """The report as CSV: one row per figure and population, with k, n and the interval.

    ``n_with_follow_up`` (the last column) is, on a figure's rows, how many of its
    intent-to-treat population have a follow-up score at all; 0 means there is no result yet,
    so an intent-to-treat ``0`` of ``n`` there is not "nobody improved". A rate whose n is 0
    (no completers yet) has k and n 0 and empty percent and interval cells."""
    out = io.StringIO()
    writer = csvsafe.writer(out)
    writer.writerow(
        [
            "report",
            "period_start",
            "period_end",
            "by_week",
            "instrument",
            "measure",
            "population",
            "analysis",
            "k",
            "n",
            "percent",
            "ci95_low",
            "ci95_high",
            "n_with_follow_up",
        ]
    )
    head = [
        report.title,
        report.start.isoformat() if report.start else "",
        report.end.isoformat() if report.end else "",
        report.by_week,
    ]

    def figure_rows(instrument: str, f: Figure) -> None:
        for analysis, r in (("intent-to-treat", f.itt), ("completers", f.completers)):
            if r is None:
                cells: list[Any] = [0, 0, "", "", ""]
            else:
                cells = [r.k, r.n, *(f"{v:.1f}" for v in r.as_percentages(1))]
            writer.writerow(
                [*head, instrument, f.name, f.population, analysis, *cells, f.followed_up]
            )

    for o in report.instruments:
        for label, value in (
            ("started", o.started),
            ("with follow-up score", o.with_follow_up),
            ("left early", o.left_early),
        ):
            writer.writerow([*head, o.name, label, "", "count", value, "", "", "", "", ""])
        if o.change is not None:
            population = f"with a follow-up score ({o.change.better} is better)"
            for label, value in (
                ("score lower at the last score", o.change.lower),
                ("score the same at the last score", o.change.same),
                ("score higher at the last score", o.change.higher),
            ):
                n = o.with_follow_up
                writer.writerow(
                    [*head, o.name, label, population, "count", value, n, "", "", "", ""]
                )
        for f in o.figures:
            figure_rows(o.name, f)
    if report.combined is not None:
        figure_rows("PHQ-9 + GAD-7", report.combined)
    for note in report.notes:
        writer.writerow([*head, "", "note", note, "", "", "", "", "", "", ""])
    if report.synthetic:
        writer.writerow(
            [*head, "", "note", "Includes made-up demo data.", "", "", "", "", "", "", ""]
        )
    return out.getvalue()


__all__ = [
    "COMPLETERS_DEFINITION",
    "NO_CONTROL_CAVEAT",
    "STARTED_DEFINITION",
    "ChangeCounts",
    "Figure",
    "InstrumentOutcome",
    "OutcomeReport",
    "cohort_report",
    "program_report",
    "report_csv",
]
