"""SECURITY.md Z1 and Z2: every route of the site and every API operation, against every role.

Routes of the meetings and care apps are walked by their own matrices (tests/meetings and tests/care
test_access_matrix.py); this file walks every other page and checks that, together, the matrices cover
every URL pattern: a new route that nobody classified fails here. Another person's object answers a
404 byte-identical to a missing one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from circlecare.clinic.services import create_individual_notes, save_group_note
from circlecare.enrollment.models import EnrollmentStatus
from circlecare.measures.models import RiskAlert
from circlecare.measures.services import submit_assessment
from circlecare.meetings.models import Attendance
from circlecare.programs.models import ProgramKind
from tests.care.test_access_matrix import MATRIX as CARE_MATRIX
from tests.factories import (
    ClinicianFactory,
    CohortFactory,
    EnrollmentFactory,
    LicenseFactory,
    ProgramFactory,
    UserFactory,
)
from tests.measures.factories import AssessmentFactory, answers_for
from tests.meetings.factories import meeting_at
from tests.meetings.test_access_matrix import MATRIX as MEETINGS_MATRIX

pytestmark = pytest.mark.django_db

ROLES = [
    "anonymous",
    "other_member",
    "other_clinician",
    "member",
    "facilitator",
    "clinician",
    "coordinator",
]
LOGIN = "login"


def world() -> dict[str, Any]:
    lic = LicenseFactory(state="NY")
    program = ProgramFactory(kind=ProgramKind.THERAPY)
    cohort = CohortFactory(program=program, lead=lic.clinician.user,
                           co_facilitator=UserFactory(is_facilitator=True))  # fmt: skip
    other = CohortFactory(lead=ClinicianFactory().user)
    member = EnrollmentFactory(cohort=cohort).member
    offered = EnrollmentFactory(
        member=member,
        cohort=CohortFactory(lead=cohort.lead),
        status=EnrollmentStatus.OFFERED,
        offer_expires_at=timezone.now() + timedelta(days=1),
    )
    enrollment = member.enrollments.get(cohort=cohort)
    other_member = EnrollmentFactory(cohort=other).member
    meeting = meeting_at(cohort, timezone.now() - timedelta(minutes=20))
    Attendance.objects.create(
        meeting=meeting, member=member, status="attended", at=meeting.starts_at
    )
    group_note = save_group_note(meeting=meeting, text="Group narrative", actor=cohort.lead)
    individual = create_individual_notes(meeting=meeting, actor=cohort.lead)[0]
    due = AssessmentFactory(member=member, cohort=cohort, meeting_week=4)
    risky = AssessmentFactory(member=member, cohort=cohort, meeting_week=5)
    submit_assessment(assessment=risky, answers=answers_for("PHQ9", 6, risk=1), actor=member)
    return {
        "program": program,
        "cohort": cohort,
        "enrollment": enrollment,
        "offered": offered,
        "meeting": meeting,
        "group_note": group_note,
        "individual": individual,
        "due": due,
        "alert": RiskAlert.objects.get(assessment=risky),
        "users": {
            "anonymous": None,
            "other_member": other_member,
            "other_clinician": other.lead,
            "member": member,
            "facilitator": cohort.co_facilitator,
            "clinician": cohort.lead,
            "coordinator": UserFactory(is_staff=True),
        },
    }


W = dict[str, Any]
Route = tuple[str, Callable[[W], str], dict[str, int | str]]


def url(name: str, *args: Any) -> Callable[[W], str]:
    return lambda w: reverse(name, args=[a(w) if callable(a) else a for a in args])


def pk(key: str) -> Callable[[W], int]:
    return lambda w: w[key].pk


def cohort(w: W) -> int:
    return int(w["cohort"].pk)


def member_pk(w: W) -> int:
    return int(w["users"]["member"].pk)


# name → (method, url, expected status for each signed-in role; anonymous is checked separately)
ROUTES: dict[str, tuple[str, Callable[[W], str]]] = {
    "home": ("get", url("home")),
    "programs:list": ("get", url("programs:list")),
    "programs:detail": ("get", lambda w: w["program"].get_absolute_url()),
    "programs:cohort": ("get", url("programs:cohort", cohort)),
    "inquiries:contact": ("get", url("inquiries:contact")),
    "inquiries:thanks": ("get", url("inquiries:thanks")),
    "health": ("get", url("health")),
    "session_status": ("get", url("session_status")),
    "profile": ("get", url("profile")),
    "account_signup": ("get", url("account_signup")),
    "tokens": ("get", url("tokens")),
    "token_revoke": ("post", url("token_revoke", 999999)),
    "my_data": ("get", url("my_data")),
    "delete_account": ("get", url("delete_account")),
    "enrollment:my_groups": ("get", url("enrollment:my_groups")),
    "enrollment:join": ("get", url("enrollment:join", cohort)),
    "enrollment:consents": ("get", url("enrollment:consents", cohort)),
    "enrollment:partner_invite": ("get", url("enrollment:partner_invite", cohort)),
    "enrollment:partner_accept": ("get", url("enrollment:partner_accept", "no-such-token")),
    "enrollment:partner_invite_cancel": ("post", url("enrollment:partner_invite_cancel", 999999)),
    "enrollment:accept": ("post", url("enrollment:accept", pk("offered"))),
    "enrollment:decline": ("post", url("enrollment:decline", pk("offered"))),
    "enrollment:withdraw": ("get", url("enrollment:withdraw", pk("enrollment"))),
    "enrollment:roster": ("get", url("enrollment:roster", cohort)),
    "enrollment:capacity": ("post", url("enrollment:capacity", cohort)),
    "enrollment:remove": ("post", url("enrollment:remove", pk("enrollment"))),
    "enrollment:readmit": ("get", url("enrollment:readmit", pk("enrollment"))),
    "clinic:home": ("get", url("clinic:home")),
    "clinic:notes": ("get", url("clinic:notes", pk("meeting"))),
    "clinic:save_group": ("post", url("clinic:save_group", pk("meeting"))),
    "clinic:start_individual": ("post", url("clinic:start_individual", pk("meeting"))),
    "clinic:note": ("get", url("clinic:note", "individual", pk("individual"))),
    "clinic:save_individual": ("post", url("clinic:save_individual", pk("individual"))),
    "clinic:sign": ("post", url("clinic:sign", "group", pk("group_note"))),
    "clinic:amend": ("post", url("clinic:amend", "group", pk("group_note"))),
    "measures:due": ("get", url("measures:due")),
    "measures:support": ("get", url("measures:support")),
    "measures:progress": ("get", url("measures:progress")),
    "measures:my_fhir": ("get", url("measures:my_fhir")),
    "measures:take": ("get", url("measures:take", pk("due"))),
    "measures:intake": ("get", url("measures:intake", cohort)),
    "measures:clinician_home": ("get", url("measures:clinician_home")),
    "measures:cohort": ("get", url("measures:cohort", cohort)),
    "measures:member": ("get", url("measures:member", cohort, member_pk)),
    "measures:member_fhir": ("get", url("measures:member_fhir", cohort, member_pk)),
    "measures:alerts": ("get", url("measures:alerts")),
    "measures:alert": ("get", url("measures:alert", pk("alert"))),
    "measures:report": ("get", url("measures:report")),
    "measures:report_csv": ("get", url("measures:report_csv")),
}


def observe(name: str) -> dict[str, int | str]:
    method, build = ROUTES[name]
    w = world()
    target = build(w)
    seen: dict[str, int | str] = {}
    for role in ROLES:
        client = Client()
        user = w["users"][role]
        if user is not None:
            client.force_login(user)
        response = client.post(target) if method == "post" else client.get(target)
        status: int | str = response.status_code
        if status == 302 and response["Location"].startswith("/accounts/login/"):
            status = LOGIN
        seen[role] = status
    return seen


EVERYONE = {role: 200 for role in ROLES}
SIGNED_IN = {**EVERYONE, "anonymous": LOGIN}


def only(default: int | str = 404, **allowed: int | str) -> dict[str, int | str]:
    """Signed-in roles get ``default`` unless named; anonymous visitors are sent to log in."""
    return {**dict.fromkeys(ROLES, default), "anonymous": LOGIN, **allowed}


LEADS = {"facilitator": 200, "clinician": 200}
STAFF = {**LEADS, "coordinator": 200}

EXPECTED: dict[str, dict[str, int | str]] = {
    "home": EVERYONE,
    "programs:list": EVERYONE,
    "programs:detail": EVERYONE,
    "programs:cohort": EVERYONE,
    "inquiries:contact": EVERYONE,
    "inquiries:thanks": EVERYONE,
    "health": EVERYONE,
    "session_status": EVERYONE,  # says only whether the asker is signed in
    "profile": SIGNED_IN,
    # The sign-up form for visitors; someone already signed in is sent on to their pages.
    "account_signup": {**dict.fromkeys(ROLES, 302), "anonymous": 200},
    "tokens": SIGNED_IN,
    "token_revoke": only(),  # nobody's token 999999: the same 404 as someone else's
    "my_data": SIGNED_IN,
    "delete_account": SIGNED_IN,
    "enrollment:my_groups": SIGNED_IN,
    "enrollment:join": only(302),  # everyone is led to their next step (or told why not)
    "enrollment:consents": only(302),
    "enrollment:partner_invite": only(),  # not a couples group
    "enrollment:partner_accept": only(),  # no such invitation
    "enrollment:partner_invite_cancel": only(),  # nobody's invitation: as someone else's
    "enrollment:accept": only(member=302),
    "enrollment:decline": only(member=302),
    "enrollment:withdraw": only(member=200),
    "enrollment:roster": only(**STAFF),
    "enrollment:capacity": only(facilitator=400, clinician=400, coordinator=400),  # empty form
    "enrollment:remove": only(facilitator=400, clinician=400, coordinator=400),  # no reason given
    # Still in the group, so nothing to let them back into: staff are sent back to the roster.
    "enrollment:readmit": only(facilitator=302, clinician=302, coordinator=302),
    "clinic:home": only(other_clinician=200, **STAFF),
    "clinic:notes": only(**STAFF),
    "clinic:save_group": only(facilitator=302, clinician=302),
    "clinic:start_individual": only(facilitator=302, clinician=302),
    "clinic:note": only(**STAFF),
    "clinic:save_individual": only(facilitator=302, clinician=302),
    "clinic:sign": only(facilitator=400, clinician=400),  # the review box was not ticked
    "clinic:amend": only(facilitator=302, clinician=302),
    "measures:due": SIGNED_IN,
    "measures:support": EVERYONE,
    "measures:progress": SIGNED_IN,
    "measures:my_fhir": SIGNED_IN,
    "measures:take": only(member=200),
    "measures:intake": SIGNED_IN,  # a join step any member may take for a group they may join
    "measures:clinician_home": only(other_clinician=200, **STAFF),
    "measures:cohort": only(**LEADS),
    "measures:member": only(**LEADS),
    "measures:member_fhir": only(**LEADS),
    "measures:alerts": only(other_clinician=200, **STAFF),
    "measures:alert": only(**STAFF),
    "measures:report": only(coordinator=200),
    "measures:report_csv": only(coordinator=302),  # to the report form: no period chosen
}


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_route_answers_each_role_as_expected(name: str) -> None:
    assert observe(name) == EXPECTED[name]


#: Namespaces and names outside the project's own pages: the admin (staff-only, Django's own
#: checks), sign-in and account pages (django-allauth) and the API (walked below via OpenAPI).
FOREIGN_NAMESPACES = {"admin", "api"}
ALLAUTH_PREFIXES = ("account_", "mfa_", "usersessions_", "socialaccount_")


def _allauths_own(pattern: URLPattern) -> bool:
    """An allauth page, not one of the project's views standing in for it (sign-up is ours)."""
    view = getattr(pattern.callback, "view_class", pattern.callback)
    return pattern.name.startswith(ALLAUTH_PREFIXES) and not view.__module__.startswith(
        "circlecare."
    )


def project_routes() -> set[str]:
    found: set[str] = set()

    def walk(patterns: list[Any], namespace: str | None) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = p.namespace or namespace
                if ns in FOREIGN_NAMESPACES:
                    continue
                walk(
                    p.url_patterns,
                    f"{namespace}:{p.namespace}" if namespace and p.namespace else ns,
                )
            elif isinstance(p, URLPattern) and p.name and not _allauths_own(p):
                found.add(f"{namespace}:{p.name}" if namespace else p.name)

    walk(get_resolver().url_patterns, None)
    return found


def test_every_route_is_in_a_matrix() -> None:
    covered = (
        set(ROUTES)
        | {f"meetings:{name}" for name in MEETINGS_MATRIX}
        | {f"care:{name}" for name in CARE_MATRIX}
    )
    missing = project_routes() - covered
    assert not missing, f"routes missing from an access matrix: {sorted(missing)}"
    assert set(ROUTES) == set(EXPECTED)


OBJECT_ROUTES = {
    # route → (method, someone else's object, a missing one)
    "enrollment:withdraw": ("get", url("enrollment:withdraw", pk("enrollment")),
                            url("enrollment:withdraw", 10**9)),
    "enrollment:roster": ("get", url("enrollment:roster", cohort), url("enrollment:roster", 10**9)),
    "enrollment:readmit": ("post", url("enrollment:readmit", pk("enrollment")),
                           url("enrollment:readmit", 10**9)),
    "clinic:notes": ("get", url("clinic:notes", pk("meeting")), url("clinic:notes", 10**9)),
    "clinic:note": ("get", url("clinic:note", "individual", pk("individual")),
                    url("clinic:note", "individual", 10**9)),
    "measures:take": ("get", url("measures:take", pk("due")), url("measures:take", 10**9)),
    "measures:member": ("get", url("measures:member", cohort, member_pk),
                        url("measures:member", cohort, 10**9)),
    "measures:alert": ("get", url("measures:alert", pk("alert")), url("measures:alert", 10**9)),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(OBJECT_ROUTES))
def test_someone_elses_object_looks_exactly_like_a_missing_one(name: str) -> None:
    method, theirs, missing = OBJECT_ROUTES[name]
    w = world()
    client = Client()
    client.force_login(w["users"]["other_member"])
    answers = []
    for build in (theirs, missing):
        response = getattr(client, method)(build(w))
        answers.append((response.status_code, response.content))
    assert answers[0][0] == 404
    assert answers[0] == answers[1]


# Every API operation, and where its access is checked for each role: a key of the API matrix
# (tests/api/test_access_matrix.py CASES), or the kind of operation it is. A new operation that is
# not classified here fails the test below.
API_MATRIX = "matrix"
API_OPERATIONS: dict[str, tuple[str, str]] = {
    "GET /api/v1/programs": ("public", "the catalog"),
    "GET /api/v1/programs/{slug}": ("public", "the catalog"),
    "GET /api/v1/cohorts": ("public", "the catalog"),
    "GET /api/v1/cohorts/{cohort_id}": ("public", "the catalog"),
    "GET /api/v1/me": ("own", "the caller's profile (tests/api/test_core.py)"),
    "PATCH /api/v1/me": ("own", "the caller's profile (tests/api/test_core.py)"),
    "GET /api/v1/enrollments": ("list", "the caller's own"),
    "POST /api/v1/enrollments": ("own", "joins the caller (tests/api/test_enrollments.py)"),
    "GET /api/v1/enrollments/rosters": ("list", "groups the caller runs"),
    "GET /api/v1/enrollments/rosters/{cohort_id}": (API_MATRIX, "roster"),
    "GET /api/v1/enrollments/{enrollment_id}": (API_MATRIX, "my enrollment"),
    "POST /api/v1/enrollments/{enrollment_id}/accept": (API_MATRIX, "accept offer"),
    "POST /api/v1/enrollments/{enrollment_id}/decline": (API_MATRIX, "decline offer"),
    "POST /api/v1/enrollments/{enrollment_id}/withdraw": (API_MATRIX, "withdraw"),
    "GET /api/v1/meetings": ("list", "the caller's meetings"),
    "GET /api/v1/meetings/calendar": ("own", "the caller's calendar link"),
    "POST /api/v1/meetings/calendar": ("own", "the caller's calendar link"),
    "DELETE /api/v1/meetings/calendar": ("own", "the caller's calendar link"),
    "GET /api/v1/meetings/{meeting_id}": (API_MATRIX, "meeting"),
    "GET /api/v1/meetings/{meeting_id}/attendance": (API_MATRIX, "attendance"),
    "POST /api/v1/meetings/{meeting_id}/attendance": (API_MATRIX, "record attendance"),
    "GET /api/v1/care/groups": ("list", "the caller's boards"),
    "GET /api/v1/care/groups/{group_id}/posts": (API_MATRIX, "board"),
    "POST /api/v1/care/groups/{group_id}/posts": (API_MATRIX, "new post"),
    "GET /api/v1/care/posts/{post_id}": (API_MATRIX, "post"),
    "POST /api/v1/care/posts/{post_id}/respond": ("own", "tests/api/test_care.py"),
    "POST /api/v1/care/posts/{post_id}/close": (API_MATRIX, "close post"),
    "POST /api/v1/care/posts/{post_id}/report": (API_MATRIX, "report post"),
    "GET /api/v1/care/matches": ("list", "the caller's matches"),
    "GET /api/v1/care/matches/{match_id}": (API_MATRIX, "match"),
    "POST /api/v1/care/matches/{match_id}/done": (API_MATRIX, "mark done"),
    "POST /api/v1/care/matches/{match_id}/cancel": (API_MATRIX, "call off"),
    "POST /api/v1/care/matches/{match_id}/thanks": (API_MATRIX, "send thanks"),
    "GET /api/v1/measures/questionnaires": ("list", "the caller's questionnaires"),
    "GET /api/v1/measures/questionnaires/{assessment_id}": (API_MATRIX, "questionnaire"),
    "POST /api/v1/measures/questionnaires/{assessment_id}/answers": (API_MATRIX, "send answers"),
    "GET /api/v1/measures/fhir": ("own", "the caller's records (tests/api/test_measures.py)"),
    "GET /api/v1/measures/alerts": ("list", "tests/api/test_measures.py"),
    "GET /api/v1/measures/alerts/{alert_id}": (API_MATRIX, "alert"),
    "POST /api/v1/measures/alerts/{alert_id}/acknowledge": (API_MATRIX, "acknowledge alert"),
    "GET /api/v1/measures/reports/outcomes": (API_MATRIX, "outcome report"),
    "GET /api/v1/clinic/meetings/{meeting_id}/notes": (API_MATRIX, "notes"),
    "POST /api/v1/clinic/meetings/{meeting_id}/notes/group": (API_MATRIX, "save group note"),
    "POST /api/v1/clinic/meetings/{meeting_id}/notes/individual": (
        API_MATRIX,
        "start individual notes",
    ),
    "POST /api/v1/clinic/notes/individual/{note_id}/save": (API_MATRIX, "save individual note"),
    "GET /api/v1/clinic/notes/{kind}/{note_id}": (API_MATRIX, "note"),
    "POST /api/v1/clinic/notes/{kind}/{note_id}/amend": (API_MATRIX, "amend note"),
    "POST /api/v1/clinic/notes/{kind}/{note_id}/sign": (API_MATRIX, "sign note"),
}


def test_every_api_operation_is_classified() -> None:
    from circlecare.api import api
    from tests.api.test_access_matrix import CASES

    schema = api.get_openapi_schema()
    operations = {
        f"{method.upper()} {path}" for path, ops in schema["paths"].items() for method in ops
    }
    assert operations == set(API_OPERATIONS), (
        f"unclassified: {sorted(operations - set(API_OPERATIONS))}; "
        f"gone: {sorted(set(API_OPERATIONS) - operations)}"
    )
    named = {case for kind, case in API_OPERATIONS.values() if kind == API_MATRIX}
    assert named <= set(CASES), f"not in the API matrix: {sorted(named - set(CASES))}"
