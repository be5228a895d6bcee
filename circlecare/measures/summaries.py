"""Score summaries: each member's first and last score per (cohort, instrument), kept as
completed scores arrive, so that outcome reports read one small row per member instead of
every score.

* ``add`` folds a newly completed score into its summary. ``services.submit_assessment`` calls it
  in the transaction that completes the score, so a summary is never behind a committed score.
  It is one ``INSERT … ON CONFLICT DO UPDATE``: the earlier of the two baselines and the later of
  the two last scores win, in programme order (``timepoints``: week, then completion time, then
  id; the order the member's chart and the group overview use). Merging is commutative, so two
  scores of one member submitted at the same moment both count whatever order the transactions
  commit in (the upsert locks the row and sees the committed one).
* ``rebuild`` recomputes summaries from the completed assessments in one set-based statement
  per scope: for history loaded in bulk (the demo), the data migration, repairs, and the
  outcome report when a program's number of weeks has changed since a row was written.

Scores are completed only by submission, and a completed score is never edited or deleted (the
clinical record is kept, see ``accounts.data_rights``); whatever writes completed scores any other
way must call ``add`` or ``rebuild`` for them.

A summary's ``last_*`` is capped at the program's last week (``weeks``), as the report's
definition of the last score is (``timepoints.in_programme``); ``weeks`` on the row says which cap
was used.

A summary also carries where its member stands in the cohort, so the report needs no pass over
the enrollments: ``seated`` (they took a seat: an enrollment with ``confirmed_at``) and
``left_early`` (a seat of theirs ended as withdrawn or removed and they are not back in the
group; a group the practice cancelled ended everyone's seat, which is not leaving it early). ``seats_changed`` recomputes both from the member's enrollments in the cohort; the seat
services (``enrollment.services``) call it in the transaction of every change to a seat that was
once confirmed, and ``add`` and ``rebuild`` set them for the rows they write.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet

from circlecare.enrollment.models import GROUP_CANCELLED, Enrollment, EnrollmentStatus
from circlecare.measures.plans import CHECKIN_CODE
from circlecare.measures.timepoints import ORDER, before_sql, in_programme_sql, order_by_sql

#: Packs (member id, cohort id) into one 64-bit number; ids stay far below 2**32.
PAIR = 2**32
#: Pairs per statement when rebuilding a list of (member, cohort) pairs.
PAIRS_PER_STATEMENT = 1000

_COMPLETED = "completed"
#: A seat that ended early, and a seat that is held or ran its course.
LEFT = (EnrollmentStatus.WITHDRAWN.value, EnrollmentStatus.REMOVED.value)
STAYED = (EnrollmentStatus.CONFIRMED.value, EnrollmentStatus.COMPLETED.value)


def _tables() -> tuple[str, str, str, str]:
    from circlecare.measures.models import Assessment, ScoreSummary
    from circlecare.programs.models import Cohort, Program

    return (
        ScoreSummary._meta.db_table,
        Assessment._meta.db_table,
        Cohort._meta.db_table,
        Program._meta.db_table,
    )


def _refresh_seats_sql(
    enrollment_where: str,
    params: list[Any],
    summary_where: str,
    summary_params: list[Any],
) -> tuple[str, list[Any]]:
    """Set ``seated`` and ``left_early`` on the summaries matching ``summary_where`` from the
    enrollments matching ``enrollment_where`` (both scopes cover the same members and cohorts):
    one statement, grouped by (member, cohort). Rows whose flags are already right are not
    written."""
    summary = _tables()[0]
    enrollment = Enrollment._meta.db_table
    marks = ", ".join(["%s"] * len(LEFT)), ", ".join(["%s"] * len(STAYED))
    sql = f"""
        UPDATE {summary} SET seated = x.seated, left_early = x.left_early
        FROM (
            SELECT y.member_id, y.cohort_id, (y.seated = 1) AS seated,
                   (y.left_any = 1 AND y.back = 0) AS left_early
            FROM (
                SELECT e.member_id, e.cohort_id,
                       MAX(CASE WHEN e.confirmed_at IS NOT NULL THEN 1 ELSE 0 END) AS seated,
                       MAX(CASE WHEN e.confirmed_at IS NOT NULL AND e.status IN ({marks[0]})
                                AND e.end_reason <> %s THEN 1 ELSE 0 END) AS left_any,
                       MAX(CASE WHEN e.status IN ({marks[1]}) THEN 1 ELSE 0 END) AS back
                FROM {enrollment} e
                WHERE {enrollment_where}
                GROUP BY e.member_id, e.cohort_id
            ) y
        ) x
        WHERE {summary}.member_id = x.member_id AND {summary}.cohort_id = x.cohort_id
            AND ({summary}.seated <> x.seated OR {summary}.left_early <> x.left_early)
            AND {summary_where}
    """  # nosec B608  # noqa: S608 - table names come from the models, values are parameters
    return sql, [*LEFT, GROUP_CANCELLED, *STAYED, *params, *summary_params]


def _refresh_seats(
    enrollment_where: str,
    params: list[Any],
    summary_where: str,
    summary_params: list[Any],
    *,
    using: str,
) -> None:
    sql, all_params = _refresh_seats_sql(enrollment_where, params, summary_where, summary_params)
    with connections[using].cursor() as cursor:
        cursor.execute(sql, all_params)


def seats_changed_sql(member_id: int, cohort_id: int) -> tuple[str, list[Any]]:
    """The statement ``seats_changed`` runs, for a caller that sends it with others."""
    summary = _tables()[0]
    return _refresh_seats_sql(
        "e.member_id = %s AND e.cohort_id = %s",
        [member_id, cohort_id],
        f"{summary}.member_id = %s AND {summary}.cohort_id = %s",
        [member_id, cohort_id],
    )


def seats_changed(member_id: int, cohort_id: int, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """A seat of ``member_id`` in ``cohort_id`` was confirmed or ended: bring the seat flags of
    their summaries in that cohort up to date. One statement; nothing when they have none."""
    sql, params = seats_changed_sql(member_id, cohort_id)
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)


#: A summary's columns for a baseline or a last score, from the assessment's columns.
_POINT = {"week": "meeting_week", "total": "total", "at": "completed_at", "assessment_id": "id"}
_COLUMNS = (
    "member_id, cohort_id, instrument, weeks, "
    + ", ".join(f"baseline_{c}" for c in _POINT)
    + ", "
    + ", ".join(f"last_{c}" for c in _POINT)
)


def _place(table: str, prefix: str) -> list[str]:
    """The columns of a summary's baseline or last score that ``ORDER`` compares, in its order."""
    by_source = {source: f"{table}.{prefix}_{column}" for column, source in _POINT.items()}
    return [by_source[column] for column in ORDER]


def add(row: Any, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Fold ``row``, a just-completed ``Assessment`` (saved), into its member's summary
    (creating the summary if needed). Check-ins have none."""
    if row.instrument == CHECKIN_CODE:
        return
    summary, assessment, cohort, program = _tables()
    s = summary
    earlier = before_sql(_place("excluded", "baseline"), _place(s, "baseline"))
    later = (
        f"excluded.last_week IS NOT NULL AND ({s}.last_week IS NULL OR "
        f"{before_sql(_place(s, 'last'), _place('excluded', 'last'))})"
    )
    counted = in_programme_sql("a.meeting_week", "p.weeks")
    baseline = ", ".join(f"a.{source}" for source in _POINT.values())
    last = ", ".join(f"CASE WHEN {counted} THEN a.{source} END" for source in _POINT.values())
    updates = ", ".join(
        [
            f"baseline_{c} = CASE WHEN {earlier} THEN excluded.baseline_{c} ELSE {s}.baseline_{c} END"
            for c in _POINT
        ]
        + [
            f"last_{c} = CASE WHEN {later} THEN excluded.last_{c} ELSE {s}.last_{c} END"
            for c in _POINT
        ]
    )
    # The values come from the stored row, so that the completion time is compared as the
    # database keeps it (the same text on SQLite as the assessment's own column).
    sql = f"""
        INSERT INTO {s} ({_COLUMNS})
        SELECT a.member_id, a.cohort_id, a.instrument, p.weeks, {baseline}, {last}
        FROM {assessment} a
            INNER JOIN {cohort} c ON c.id = a.cohort_id
            INNER JOIN {program} p ON p.id = c.program_id
        WHERE a.id = %s AND a.status = %s
        ON CONFLICT (cohort_id, member_id, instrument) DO UPDATE SET {updates}
    """  # nosec B608  # noqa: S608 - table names come from the models, values are parameters
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Wait for a seat change in flight in this cohort (the seat services hold the row
            # FOR UPDATE), and hold seat changes off until this commits: a new summary's seat
            # flags are read from the enrollments as they are once both are settled. (SQLite
            # runs one writer at a time.)
            cursor.execute(f"SELECT 1 FROM {cohort} WHERE id = %s FOR KEY SHARE", [row.cohort_id])  # nosec B608  # noqa: S608
        cursor.execute(sql, [row.pk, _COMPLETED])
    seats_changed(row.member_id, row.cohort_id, using=using)


def _rebuild(
    where: str,
    params: list[Any],
    summary_where: str,
    summary_params: list[Any],
    seat_scope: tuple[str, list[Any]],
    *,
    using: str,
) -> None:
    summary, assessment, cohort, program = _tables()
    counted = f"CASE WHEN {in_programme_sql('a.meeting_week', 'p.weeks')} THEN 1 ELSE 0 END"
    scores = "PARTITION BY a.member_id, a.cohort_id, a.instrument"
    sources = list(_POINT.values())
    delete = f"DELETE FROM {summary} WHERE {summary_where}"  # nosec B608  # noqa: S608
    # Each score's place from the front (the baseline is the first) and, among the scores up to
    # the program's last week, from the back (the last score is the first from the back).
    picked = ", ".join(
        [f"MAX(CASE WHEN r.from_front = 1 THEN r.{c} END)" for c in sources]
        + [f"MAX(CASE WHEN r.counted = 1 AND r.from_back = 1 THEN r.{c} END)" for c in sources]
    )
    insert = f"""
        INSERT INTO {summary} ({_COLUMNS})
        SELECT r.member_id, r.cohort_id, r.instrument, r.weeks, {picked}
        FROM (
            SELECT a.member_id, a.cohort_id, a.instrument, p.weeks,
                   {", ".join(f"a.{c}" for c in sources)}, {counted} AS counted,
                   ROW_NUMBER() OVER ({scores} ORDER BY {order_by_sql("a")}) AS from_front,
                   ROW_NUMBER() OVER (
                       {scores}, {counted} ORDER BY {order_by_sql("a", descending=True)}
                   ) AS from_back
            FROM {assessment} a
                INNER JOIN {cohort} c ON c.id = a.cohort_id
                INNER JOIN {program} p ON p.id = c.program_id
            WHERE a.status = %s AND a.instrument <> %s AND {where}
        ) r
        GROUP BY r.member_id, r.cohort_id, r.instrument, r.weeks
    """  # nosec B608  # noqa: S608 - table names come from the models, values are parameters
    with connections[using].cursor() as cursor:
        cursor.execute(delete, summary_params)
        cursor.execute(insert, [_COMPLETED, CHECKIN_CODE, *params])
    _refresh_seats(*seat_scope, summary_where, summary_params, using=using)


def rebuild(
    *,
    cohorts: QuerySet[Any] | None = None,
    pairs: Iterable[tuple[int, int]] | None = None,
    instrument: str | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> None:
    """Recompute the summaries of ``cohorts`` (a queryset of cohorts), of ``pairs`` of
    (member id, cohort id), optionally of one ``instrument`` only, or of everything when no scope
    is given, from the completed assessments: one grouped statement per scope (or per
    ``PAIRS_PER_STATEMENT`` pairs).

    ``cohorts`` must not itself depend on the summaries (it is read again after they are
    deleted). Meant for bulk loads, migrations and repairs, where the scores in scope are not being
    submitted meanwhile; a score merged by a submission that commits while a rebuild of the
    same rows runs could be overwritten by the rebuild's earlier view.
    """

    def scoped(
        where: str, params: list[Any]
    ) -> tuple[str, list[Any], str, list[Any], tuple[str, list[Any]]]:
        table = _tables()[0]  # qualified: the seat update joins a subquery with the same columns
        a_where, s_where, e_where = (
            where.format(t="a."),
            where.format(t=f"{table}."),
            where.format(t="e."),
        )
        seat_scope = (e_where, list(params))
        if instrument is not None:
            a_where += " AND a.instrument = %s"
            s_where += f" AND {table}.instrument = %s"
            params = [*params, instrument]
        return a_where, params, s_where, params, seat_scope

    if cohorts is not None:
        sub, sub_params = cohorts.values("pk").query.sql_with_params()
        _rebuild(*scoped("{t}cohort_id IN (" + sub + ")", list(sub_params)), using=using)
        return
    if pairs is not None:
        packed = sorted({member * PAIR + cohort for member, cohort in pairs})
        for offset in range(0, len(packed), PAIRS_PER_STATEMENT):
            chunk = packed[offset : offset + PAIRS_PER_STATEMENT]
            cohort_ids = sorted({p % PAIR for p in chunk})
            where = (
                "{t}cohort_id IN (" + ", ".join(["%s"] * len(cohort_ids)) + ") AND "
                f"({{t}}member_id * {PAIR} + {{t}}cohort_id) IN ("
                + ", ".join(["%s"] * len(chunk))
                + ")"
            )
            _rebuild(*scoped(where, [*cohort_ids, *chunk]), using=using)
        return
    _rebuild(*scoped("1 = 1", []), using=using)
