"""Who may call what: every member and staff operation, for every role.

Anonymous callers get 401; someone else's object answers 404 with the error shape, exactly like a
missing one; the group's lead, co-facilitator and coordinators see staff views of their groups only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db.models import Model
from django.utils import timezone

from circlecare.care.models import CareMatch, CarePost, CareReport, MatchStatus
from circlecare.clinic.models import GroupNote, IndividualNote
from circlecare.clinic.services import create_individual_notes, sign_note
from circlecare.enrollment.models import Enrollment, EnrollmentStatus
from circlecare.measures.models import Assessment, RiskAlert
from circlecare.measures.services import submit_assessment
from circlecare.meetings.models import Attendance, AttendanceStatus
from circlecare.programs.models import ProgramKind
from tests.api.helpers import NOT_FOUND, Api, Practice, make_practice
from tests.care.factories import CarePostFactory
from tests.factories import CohortFactory, EnrollmentFactory, ProgramFactory, UserFactory
from tests.measures.factories import AssessmentFactory, answers_for

pytestmark = pytest.mark.django_db

ROLES = [
    "anonymous",
    "member",
    "other_member",
    "lead",
    "co_facilitator",
    "other_clinician",
    "coordinator",
]


def _objects(p: Practice) -> dict[str, Any]:
    enrollment = Enrollment.objects.get(member=p.member, cohort=p.cohort)
    helper = UserFactory(display_name="Helper")
    EnrollmentFactory(member=helper, cohort=p.cohort)
    post = CarePostFactory(cohort=p.cohort, author=p.member)
    helpers_post = CarePostFactory(cohort=p.cohort, author=helper)
    match = CareMatch.objects.create(
        post=post, cohort=p.cohort, responder=helper, giver=helper, receiver=p.member
    )
    questionnaire = AssessmentFactory(member=p.member, cohort=p.cohort, meeting_week=2)
    risky = AssessmentFactory(member=p.member, cohort=p.cohort, meeting_week=3)
    submit_assessment(assessment=risky, answers=answers_for("PHQ9", 12, risk=1), actor=p.member)
    alert = RiskAlert.objects.get(assessment=risky)
    note = GroupNote.objects.create(meeting=p.meeting, author=p.lead, text="Group words.")
    offer = EnrollmentFactory(
        member=p.member,
        cohort=CohortFactory(program=ProgramFactory(kind=ProgramKind.SKILLS)),
        status=EnrollmentStatus.OFFERED,
        confirmed_at=None,
        offered_at=timezone.now(),
        offer_expires_at=timezone.now() + timedelta(hours=24),
    )
    thanked_post = CarePostFactory(cohort=p.cohort, author=p.member)
    done = timezone.now()
    done_match = CareMatch.objects.create(
        post=thanked_post,
        cohort=p.cohort,
        responder=helper,
        giver=helper,
        receiver=p.member,
        status=MatchStatus.DONE,
        giver_done_at=done,
        receiver_done_at=done,
        done_at=done,
    )
    for person in (p.member, helper):
        Attendance.objects.create(
            meeting=p.meeting, member=person, status=AttendanceStatus.ATTENDED, at=done
        )
    drafts = {n.member_id: n for n in create_individual_notes(meeting=p.meeting, actor=p.lead)}
    signed = sign_note(note=drafts[helper.pk], actor=p.lead)
    return {
        "enrollment": enrollment,
        "post": post,
        "helpers_post": helpers_post,
        "match": match,
        "questionnaire": questionnaire,
        "alert": alert,
        "note": note,
        "offer": offer,
        "done_match": done_match,
        "draft_individual": drafts[p.member.pk],
        "signed_individual": signed,
    }


# (method, url(practice, objects), body, roles answering 2xx; everyone else signed in gets 404)
Case = tuple[str, Callable[[Practice, dict[str, Any]], str], dict[str, Any] | None, set[str]]
STAFF = {"lead", "co_facilitator", "coordinator"}
CASES: dict[str, Case] = {
    "my enrollment": (
        "get",
        lambda p, o: f"/api/v1/enrollments/{o['enrollment'].pk}",
        None,
        {"member"},
    ),
    "withdraw": (
        "post",
        lambda p, o: f"/api/v1/enrollments/{o['enrollment'].pk}/withdraw",
        {},
        {"member"},
    ),
    "accept offer": (
        "post",
        lambda p, o: f"/api/v1/enrollments/{o['offer'].pk}/accept",
        {},
        {"member"},
    ),
    "decline offer": (
        "post",
        lambda p, o: f"/api/v1/enrollments/{o['offer'].pk}/decline",
        {},
        {"member"},
    ),
    "roster": ("get", lambda p, o: f"/api/v1/enrollments/rosters/{p.cohort.pk}", None, STAFF),
    "meeting": ("get", lambda p, o: f"/api/v1/meetings/{p.meeting.pk}", None, STAFF | {"member"}),
    "attendance": ("get", lambda p, o: f"/api/v1/meetings/{p.meeting.pk}/attendance", None, STAFF),
    "record attendance": (
        "post",
        lambda p, o: f"/api/v1/meetings/{p.meeting.pk}/attendance",
        {"member_id": "MEMBER", "status": "attended"},
        STAFF,
    ),
    "board": (
        "get",
        lambda p, o: f"/api/v1/care/groups/{p.cohort.pk}/posts",
        None,
        {"member", "lead", "co_facilitator"},
    ),
    "post": (
        "get",
        lambda p, o: f"/api/v1/care/posts/{o['post'].pk}",
        None,
        {"member", "lead", "co_facilitator"},
    ),
    "new post": (
        "post",
        lambda p, o: f"/api/v1/care/groups/{p.cohort.pk}/posts",
        {"kind": "offer", "support": "walk", "title": "A walk"},
        {"member"},
    ),
    # The member's own post: only its author closes it.
    "close post": (
        "post",
        lambda p, o: f"/api/v1/care/posts/{o['post'].pk}/close",
        {},
        {"member"},
    ),
    # Another member's post: members of the group report it (facilitators read reports).
    "report post": (
        "post",
        lambda p, o: f"/api/v1/care/posts/{o['helpers_post'].pk}/report",
        {"reason": "It worries me."},
        {"member"},
    ),
    "match": (
        "get",
        lambda p, o: f"/api/v1/care/matches/{o['match'].pk}",
        None,
        {"member"},
    ),
    "mark done": (
        "post",
        lambda p, o: f"/api/v1/care/matches/{o['match'].pk}/done",
        {},
        {"member"},
    ),
    "call off": (
        "post",
        lambda p, o: f"/api/v1/care/matches/{o['match'].pk}/cancel",
        {},
        {"member"},
    ),
    # From the one who was helped, once both marked it done.
    "send thanks": (
        "post",
        lambda p, o: f"/api/v1/care/matches/{o['done_match'].pk}/thanks",
        {"text": "Thank you so much."},
        {"member"},
    ),
    "questionnaire": (
        "get",
        lambda p, o: f"/api/v1/measures/questionnaires/{o['questionnaire'].pk}",
        None,
        {"member"},
    ),
    "send answers": (
        "post",
        lambda p, o: f"/api/v1/measures/questionnaires/{o['questionnaire'].pk}/answers",
        {"answers": [1, 0, 1, 0, 1, 0, 1, 0, 0]},
        {"member"},
    ),
    "alert": ("get", lambda p, o: f"/api/v1/measures/alerts/{o['alert'].pk}", None, STAFF),
    "acknowledge alert": (
        "post",
        lambda p, o: f"/api/v1/measures/alerts/{o['alert'].pk}/acknowledge",
        {"note": "Reached them by phone."},
        STAFF,
    ),
    "outcome report": (
        "get",
        lambda p, o: f"/api/v1/measures/reports/outcomes?program_id={p.cohort.program_id}",
        None,
        {"coordinator"},
    ),
    "notes": ("get", lambda p, o: f"/api/v1/clinic/meetings/{p.meeting.pk}/notes", None, STAFF),
    "note": ("get", lambda p, o: f"/api/v1/clinic/notes/group/{o['note'].pk}", None, STAFF),
    "save group note": (
        "post",
        lambda p, o: f"/api/v1/clinic/meetings/{p.meeting.pk}/notes/group",
        {"text": "New words."},
        {"lead", "co_facilitator"},
    ),
    "start individual notes": (
        "post",
        lambda p, o: f"/api/v1/clinic/meetings/{p.meeting.pk}/notes/individual",
        {},
        {"lead", "co_facilitator"},
    ),
    "save individual note": (
        "post",
        lambda p, o: f"/api/v1/clinic/notes/individual/{o['draft_individual'].pk}/save",
        {"text": "New words."},
        {"lead", "co_facilitator"},
    ),
    "amend note": (
        "post",
        lambda p, o: f"/api/v1/clinic/notes/individual/{o['signed_individual'].pk}/amend",
        {},
        {"lead", "co_facilitator"},
    ),
    "sign note": (
        "post",
        lambda p, o: f"/api/v1/clinic/notes/group/{o['note'].pk}/sign",
        {},
        {"lead", "co_facilitator"},
    ),
}
# A board's facilitators can read it but only members post (403 is never used: the service says 404).
SIGNED_IN_NOT_ALLOWED = 404


#: What the operations above change: a refused call leaves every row of these as it was.
WATCHED: list[type[Model]] = [
    Enrollment,
    CarePost,
    CareMatch,
    CareReport,
    Assessment,
    RiskAlert,
    Attendance,
    GroupNote,
    IndividualNote,
]


def _state() -> dict[str, list[dict[str, Any]]]:
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in WATCHED}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_access(role: str, case: str) -> None:
    practice = make_practice()
    objects = _objects(practice)
    method, url_for, body, allowed = CASES[case]
    user = None if role == "anonymous" else getattr(practice, role)
    api = Api(user)
    if body is not None:
        body = {k: practice.member.pk if v == "MEMBER" else v for k, v in body.items()}
    url = url_for(practice, objects)
    before = _state()
    response = api.get(url) if method == "get" else api.post(url, body)
    if role not in allowed:
        assert _state() == before, "a refused call changed something"
    if role == "anonymous":
        assert response.status_code == 401
        assert response.json()["code"] == "unauthenticated"
    elif role in allowed:
        assert response.status_code in {200, 201}, response.content
    elif case == "new post" and role in {"lead", "co_facilitator"}:
        # They can read the board, so they are told why they may not post on it.
        assert response.status_code == 403
        assert response.json()["code"] == "leaders_do_not_post"
    else:
        assert response.status_code == SIGNED_IN_NOT_ALLOWED, response.content
        assert response.json() == NOT_FOUND


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/enrollments",
        "/api/v1/enrollments/rosters",
        "/api/v1/meetings",
        "/api/v1/meetings/calendar",
        "/api/v1/care/groups",
        "/api/v1/care/matches",
        "/api/v1/measures/questionnaires",
    ],
)
def test_lists_need_a_sign_in_and_answer_everyone_signed_in(url: str) -> None:
    practice = make_practice()
    assert Api().get(url).status_code == 401
    for role in ROLES[1:]:
        assert Api(getattr(practice, role)).get(url).status_code == 200


def test_a_missing_object_and_someone_elses_look_the_same() -> None:
    practice = make_practice()
    objects = _objects(practice)
    api = Api(practice.other_member)
    theirs = api.get(f"/api/v1/enrollments/{objects['enrollment'].pk}")
    missing = api.get("/api/v1/enrollments/987654")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json() == NOT_FOUND
