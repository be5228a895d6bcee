"""Joining a group on PostgreSQL in one round trip, so the cohort lock is held only inside the server.

``services.enroll`` decides a join under the cohort row's lock. Done with the ORM, that decision is
four statements and a COMMIT after the lock is taken, and between each of them the request's thread
has to be scheduled again; when many members press "Take a seat" at once, those waits, not the
database, are what every other join stands behind. Here the same decision is one query string of
four statements, which PostgreSQL runs as one implicit transaction and commits before answering:

1. ``set_config('lock_timeout', …, true)`` bounds the lock wait for this transaction only;
2. ``SELECT … FOR UPDATE`` takes the cohort row's lock;
3. one statement reads the counts (a new snapshot, taken after the lock is held), inserts the
   enrollment and its audit event, and keeps the cohort's open/full label true;
4. ``measures.summaries``' seat-flag refresh for this member and cohort, in the same transaction
   (it writes nothing unless a flag changes).

It commits only the two plain outcomes, with the rules of ``services.enroll``: a free seat and
nobody waiting (confirmed), or no free seat (a waiting-list place, behind everyone who has not let
an offer lapse). Anything else commits nothing and returns ``None`` so that ``services.enroll``
decides it the usual way under the lock: a member who already has a place, or whose place in
this group the practice ended (and nobody has let them back in since), a cohort that is no
longer open, whose dates or time zone changed since the caller read it, or whose programme is
now for couples, and a free seat while people wait (that seat is being offered to the list).

It needs psycopg's client-side binding, which sends a query string with its parameters in one
message (Django's default); with server-side binding, ``available`` says no.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection

from circlecare.audit.models import AuditAction, AuditEvent
from circlecare.enrollment.models import (
    LIVE,
    NOT_OWN_REMOVAL,
    SEAT_HOLDING,
    Enrollment,
    EnrollmentStatus,
)
from circlecare.measures import summaries
from circlecare.programs.models import JOINABLE, Cohort, CohortStatus, Program

#: Columns whose values the statement decides; every other column is written as the ORM would.
_ENROLLMENT_DECIDED = {"status", "queued_at", "confirmed_at", "created_at", "updated_at"}
_AUDIT_DECIDED = {"at", "target_id", "data"}


def available() -> bool:
    return connection.vendor == "postgresql" and not connection.settings_dict.get(
        "OPTIONS", {}
    ).get("server_side_binding")


def _column(model: Any, name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _orm_values(instance: Any, decided: set[str]) -> tuple[list[str], list[Any]]:
    """Columns and values for ``instance`` as ``Model.save`` would write them, except ``decided``."""
    columns, values = [], []
    for field in instance._meta.concrete_fields:
        if field.primary_key or field.name in decided:
            continue
        columns.append(connection.ops.quote_name(field.column))
        values.append(field.get_db_prep_save(field.pre_save(instance, True), connection))
    return columns, values


@cache
def _statement(enrollment_columns: tuple[str, ...], audit_columns: tuple[str, ...]) -> str:
    """The decision as one statement (built once per process; values are parameters)."""
    e, c, a = _table(Enrollment), _table(Cohort), _table(AuditEvent)
    pk = _column(Enrollment, "id")
    ec = {name: _column(Enrollment, name) for name in _ENROLLMENT_DECIDED}
    ec.update(
        member=_column(Enrollment, "member"),
        cohort=_column(Enrollment, "cohort"),
        passes=_column(Enrollment, "passes"),
        pairing=_column(Enrollment, "pairing"),
        end_reason=_column(Enrollment, "end_reason"),
        readmitted_at=_column(Enrollment, "readmitted_at"),
    )
    cc = {
        name: _column(Cohort, name)
        for name in (
            "id",
            "capacity",
            "status",
            "enrollment_deadline",
            "first_meeting_date",
            "time_zone",
        )
    }
    p, p_id, p_couples = _table(Program), _column(Program, "id"), _column(Program, "for_couples")
    cohort_program = _column(Cohort, "program")
    ac = {name: _column(AuditEvent, name) for name in _AUDIT_DECIDED}
    held = ", ".join(f"'{s.value}'" for s in SEAT_HOLDING)
    live = ", ".join(f"'{s.value}'" for s in LIVE)
    confirmed, waiting = EnrollmentStatus.CONFIRMED.value, EnrollmentStatus.WAITLISTED.value
    # ``barred`` counts what ``models.removed_by_practice`` selects: removed, not for a reason
    # that was not the member's own, and not since let back in.
    removed = EnrollmentStatus.REMOVED.value
    # The end reasons are the product's own constants; a quote in one would be doubled.
    not_own = ", ".join("'" + reason.replace("'", "''") + "'" for reason in NOT_OWN_REMOVAL)
    joinable = ", ".join(f"'{s.value}'" for s in JOINABLE)
    full, open_ = CohortStatus.FULL.value, CohortStatus.OPEN.value
    enrollment_values = ", ".join([f"%(e{i})s" for i in range(len(enrollment_columns))])
    audit_values = ", ".join([f"%(a{i})s" for i in range(len(audit_columns))])
    return f"""
        WITH c AS (
            SELECT {cc["id"]} AS id, {cc["capacity"]} AS capacity, {cc["status"]} AS status
            FROM {c}
            WHERE {cc["id"]} = %(cohort)s
                AND {cc["status"]} IN ({joinable})
                AND NOT (SELECT {p_couples} FROM {p} WHERE {p_id} = {c}.{cohort_program})
                AND %(now)s < %(joinable_until)s
                AND {cc["first_meeting_date"]} = %(first_meeting)s
                AND {cc["enrollment_deadline"]} IS NOT DISTINCT FROM %(deadline)s
                AND {cc["time_zone"]} = %(time_zone)s
        ), n AS (
            SELECT
                COUNT(*) FILTER (WHERE {ec["status"]} IN ({held})) AS held,
                COUNT(*) FILTER (WHERE {ec["status"]} = '{waiting}') AS waiting,
                -- A couple waiting together is one place ahead (queries.waiting_positions).
                COUNT(*) FILTER (WHERE {ec["status"]} = '{waiting}' AND {ec["passes"]} = 0
                    AND {ec["pairing"]} IS NULL)
                + COUNT(DISTINCT {ec["pairing"]}) FILTER (
                    WHERE {ec["status"]} = '{waiting}' AND {ec["passes"]} = 0) AS ahead,
                COUNT(*) FILTER (WHERE {ec["member"]} = %(member)s AND {ec["status"]} IN ({live}))
                    AS mine,
                COUNT(*) FILTER (WHERE {ec["member"]} = %(member)s AND {ec["status"]} = '{removed}'
                    AND {ec["end_reason"]} NOT IN ({not_own}) AND {ec["readmitted_at"]} IS NULL)
                    AS barred
            FROM {e}
            WHERE {ec["cohort"]} = %(cohort)s
        ), d AS (
            SELECT
                CASE WHEN n.held < c.capacity THEN '{confirmed}' ELSE '{waiting}' END AS status,
                clock_timestamp() AS now
            FROM c, n
            WHERE n.mine = 0 AND n.barred = 0 AND (n.held >= c.capacity OR n.waiting = 0)
        ), ins AS (
            INSERT INTO {e} ({", ".join(enrollment_columns)},
                {ec["status"]}, {ec["queued_at"]}, {ec["confirmed_at"]},
                {ec["created_at"]}, {ec["updated_at"]})
            SELECT {enrollment_values}, d.status, d.now,
                CASE WHEN d.status = '{confirmed}' THEN d.now END, d.now, d.now
            FROM d
            RETURNING {pk} AS id, {ec["status"]} AS status, {ec["queued_at"]} AS now
        ), audit AS (
            INSERT INTO {a} ({", ".join(audit_columns)}, {ac["at"]}, {ac["target_id"]}, {ac["data"]})
            SELECT {audit_values}, ins.now, ins.id::text,
                jsonb_build_object('status', ins.status, 'cohort', %(cohort)s::bigint)
            FROM ins
        ), label AS (
            UPDATE {c} SET {cc["status"]} =
                CASE WHEN n.held + 1 >= c.capacity THEN '{full}' ELSE '{open_}' END
            FROM c, n, ins
            WHERE {c}.{cc["id"]} = c.id AND ins.status = '{confirmed}'
                AND {c}.{cc["status"]} <>
                    CASE WHEN n.held + 1 >= c.capacity THEN '{full}' ELSE '{open_}' END
        )
        SELECT ins.id, ins.status, ins.now, n.held, n.ahead
        FROM n LEFT JOIN ins ON TRUE
    """  # nosec B608  # noqa: S608 - names come from the models, values are parameters


def enroll(*, member: Any, cohort: Cohort, actor: Any, now: datetime) -> Enrollment | None:
    """Join ``cohort`` in one round trip, or ``None`` when ``services.enroll`` must decide.

    ``cohort`` is as the caller read it and checked it at ``now``; the statement re-checks,
    under the lock, every column that decision rests on. Whether the group still takes new
    members by its calendar is decided by the instant ``Cohort.joinable_until_for`` works out
    from the dates and zone the caller read (the rule the group page and the catalog go by),
    sent as a parameter; the statement only checks that the row still has those dates and that
    zone, so it never states the rule itself. Raises what the database raises: a lock timeout,
    or the one-live-place constraint.
    """
    draft = Enrollment(member=member, cohort=cohort, status=EnrollmentStatus.WAITLISTED)
    audit = AuditEvent(
        actor=actor if getattr(actor, "pk", None) else None,
        action=AuditAction.ENROLLMENT_CREATED,
        target_type=Enrollment._meta.label_lower,
        subject=member,
    )
    enrollment_columns, enrollment_values = _orm_values(draft, _ENROLLMENT_DECIDED)
    audit_columns, audit_values = _orm_values(audit, _AUDIT_DECIDED)
    params: dict[str, Any] = {
        "cohort": cohort.pk,
        "member": member.pk,
        "now": now,
        "joinable_until": Cohort.joinable_until_for(
            cohort.first_meeting_date, cohort.enrollment_deadline, cohort.time_zone
        ),
        "first_meeting": cohort.first_meeting_date,
        "deadline": cohort.enrollment_deadline,
        "time_zone": cohort.time_zone,
        **{f"e{i}": v for i, v in enumerate(enrollment_values)},
        **{f"a{i}": v for i, v in enumerate(audit_values)},
    }
    timeout_ms = int(getattr(settings, "SEAT_LOCK_TIMEOUT_MS", 3000))
    lock = f"SELECT 1 FROM {_table(Cohort)} WHERE {_column(Cohort, 'id')} = %(cohort)s FOR UPDATE"  # nosec B608  # noqa: S608
    flags_sql, flags_params = summaries.seats_changed_sql(member.pk, cohort.pk)
    # Its placeholders are positional; the batch's are named.
    assert flags_sql.count("%") == len(flags_params)
    flags_sql = flags_sql % tuple(f"%(f{i})s" for i in range(len(flags_params)))
    params.update({f"f{i}": v for i, v in enumerate(flags_params)})
    sql = ";\n".join(
        [
            f"SELECT set_config('lock_timeout', '{timeout_ms}ms', true)",
            lock,
            _statement(tuple(enrollment_columns), tuple(audit_columns)),
            flags_sql,
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        cursor.nextset()
        cursor.nextset()
        pk, status, now, held, ahead = cursor.fetchone()
    if pk is None:
        return None
    draft.pk = pk
    draft._state.adding, draft._state.db = False, connection.alias  # as if read from the database
    draft.status = status
    draft.queued_at = draft.created_at = draft.updated_at = now
    draft.confirmed_at = now if status == EnrollmentStatus.CONFIRMED else None
    draft.held_before = held  # type: ignore[attr-defined]
    if status == EnrollmentStatus.WAITLISTED:
        draft.place = ahead + 1  # type: ignore[attr-defined]
    return draft
