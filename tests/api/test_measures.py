"""Questionnaires, risk alerts and outcome reports through the API."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from circlecare.accounts.models import User
from circlecare.audit.models import AuditAction, AuditEvent
from circlecare.measures.models import Assessment, AssessmentStatus, RiskAlert
from circlecare.measures.services import submit_assessment
from circlecare.measures.stats import rate
from circlecare.programs.models import Program, ProgramKind
from tests.api.helpers import NOT_FOUND, Api, Practice, make_practice
from tests.factories import ClinicianFactory, CohortFactory, ProgramFactory
from tests.measures.factories import AssessmentFactory, answers_for, completed
from tests.measures.test_outcomes import enrol, members

pytestmark = pytest.mark.django_db

URL = "/api/v1/measures"


def _due(practice: Practice, **fields: object) -> Assessment:
    row: Assessment = AssessmentFactory(member=practice.member, cohort=practice.cohort, **fields)
    return row


def _alert(practice: Practice) -> RiskAlert:
    """A risk answer from the practice's member, raised the way a real submission raises it."""
    row = _due(practice, meeting_week=3)
    submit_assessment(
        assessment=row, answers=answers_for("PHQ9", 12, risk=1), actor=practice.member
    )
    return RiskAlert.objects.get(assessment=row)


def _events(action: str, actor: User) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, actor=actor))


# --------------------------------------------------------------------------------------------------
# My questionnaires


def test_my_questionnaires_list_what_is_due_then_what_i_answered() -> None:
    practice = make_practice()
    due = _due(practice, instrument="GAD7", meeting_week=4)
    done = completed(member=practice.member, cohort=practice.cohort, code="PHQ9", total=7, week=2)
    AssessmentFactory(member=practice.other_member, cohort=practice.other_cohort)
    body = Api(practice.member).get(f"{URL}/questionnaires").json()
    assert body["count"] == 2
    first, second = body["items"]
    assert (first["id"], first["status"], first["total"]) == (due.pk, "due", None)
    assert first["instrument"] == "GAD7" and first["week"] == 4
    assert first["group"]["name"] == "Tuesday circle"
    assert (second["id"], second["status"], second["total"]) == (done.pk, "completed", 7)
    assert second["band"] == done.band and second["answers"] == done.answer_list
    page = Api(practice.member).get(f"{URL}/questionnaires", {"limit": 1, "offset": 1}).json()
    assert [i["id"] for i in page["items"]] == [done.pk]
    assert Api(practice.other_member).get(f"{URL}/questionnaires").json()["count"] == 1


def test_answers_are_left_out_without_the_clinical_scope() -> None:
    practice = make_practice()
    done = completed(member=practice.member, cohort=practice.cohort, code="PHQ9", total=7, week=2)
    read_only = Api(practice.member, ["read"])
    item = read_only.get(f"{URL}/questionnaires").json()["items"][0]
    assert item["total"] == 7 and item["answers"] is None
    one = read_only.get(f"{URL}/questionnaires/{done.pk}").json()
    assert one["total"] == 7 and one["answers"] is None
    assert Api(practice.member).get(f"{URL}/questionnaires/{done.pk}").json()["answers"] == (
        done.answer_list
    )


def test_one_questionnaire_has_its_items_and_options_and_is_mine_only() -> None:
    practice = make_practice()
    row = _due(practice)
    body = Api(practice.member).get(f"{URL}/questionnaires/{row.pk}").json()
    form = body["form"]
    assert form["code"] == "PHQ9" and form["instructions"]
    assert [i["number"] for i in form["items"]] == list(range(1, 11))
    assert [o["value"] for o in form["items"][0]["options"]] == [0, 1, 2, 3]
    assert form["items"][0]["options"][0]["label"] == "Not at all"
    assert form["items"][9]["scored"] is False
    theirs = Api(practice.other_member).get(f"{URL}/questionnaires/{row.pk}")
    missing = Api(practice.other_member).get(f"{URL}/questionnaires/987654")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.content == missing.content
    assert theirs.json() == NOT_FOUND
    assert Api().get(f"{URL}/questionnaires/{row.pk}").status_code == 401


def test_sending_answers_scores_them_once() -> None:
    practice = make_practice()
    row = _due(practice)
    api = Api(practice.member)
    answers = answers_for("PHQ9", 11)
    sent = api.post(f"{URL}/questionnaires/{row.pk}/answers", {"answers": answers})
    assert sent.status_code == 200, sent.content
    body = sent.json()
    assert (body["status"], body["total"], body["band"]) == ("completed", 11, "moderate")
    assert body["answers"] == answers and body["crisis_resources"] is None
    row.refresh_from_db()
    assert row.status == AssessmentStatus.COMPLETED and row.total == 11
    again = api.post(f"{URL}/questionnaires/{row.pk}/answers", {"answers": answers_for("PHQ9", 2)})
    assert again.status_code == 409
    assert again.json()["code"] == "already_submitted"
    assert "can't be changed" in again.json()["message"]
    row.refresh_from_db()
    assert row.total == 11


def test_answers_that_cannot_be_scored_are_422_naming_the_item_and_change_nothing() -> None:
    practice = make_practice()
    row = _due(practice)
    api = Api(practice.member)
    answers = answers_for("PHQ9", 5)
    answers[2] = 7
    bad = api.post(f"{URL}/questionnaires/{row.pk}/answers", {"answers": answers})
    assert bad.status_code == 422
    body = bad.json()
    assert body["code"] == "invalid_answers" and body["detail"]["item"] == 3
    assert "3" in body["message"]
    short = api.post(f"{URL}/questionnaires/{row.pk}/answers", {"answers": [0, 1]})
    assert short.status_code == 422 and short.json()["detail"]["item"] is None
    assert "9 answers" in short.json()["message"]
    not_numbers = api.post(f"{URL}/questionnaires/{row.pk}/answers", {"answers": ["x"]})
    assert not_numbers.status_code == 422 and not_numbers.json()["code"] == "invalid"
    # Values a lax reader would turn into numbers are refused too: true is not the answer 1.
    for odd in (True, "1", 1.0):
        sent = api.post(f"{URL}/questionnaires/{row.pk}/answers", {"answers": [0] * 8 + [odd]})
        assert sent.status_code == 422 and sent.json()["code"] == "invalid", odd
    row.refresh_from_db()
    assert row.status == AssessmentStatus.DUE and row.answers == ""


def test_a_risk_answer_raises_an_alert_and_answers_with_crisis_resources() -> None:
    practice = make_practice(kind=ProgramKind.THERAPY)
    row = _due(practice)
    api = Api(practice.member)
    sent = api.post(
        f"{URL}/questionnaires/{row.pk}/answers", {"answers": answers_for("PHQ9", 12, risk=2)}
    )
    assert sent.status_code == 200
    crisis = sent.json()["crisis_resources"]
    assert "988" in crisis and "911" in crisis
    alert = RiskAlert.objects.get(assessment=row)
    assert alert.assignee == practice.lead and alert.is_open
    # Trying to change it afterwards still shows where to find support.
    again = api.post(
        f"{URL}/questionnaires/{row.pk}/answers", {"answers": answers_for("PHQ9", 12, risk=1)}
    )
    assert again.status_code == 409
    assert "988" in again.json()["detail"]["crisis_resources"]
    # So do answers that can't be scored.
    other = _due(practice, meeting_week=3)
    answers = answers_for("PHQ9", 12, risk=3)
    answers[0] = 9
    bad = api.post(f"{URL}/questionnaires/{other.pk}/answers", {"answers": answers})
    assert bad.status_code == 422 and "911" in bad.json()["detail"]["crisis_resources"]
    # and the clinician hears of it, though nothing could be stored.
    unsaved = RiskAlert.objects.get(assessment=other)
    assert not unsaved.answer_saved
    other.refresh_from_db()
    assert other.status == AssessmentStatus.DUE


def test_sending_answers_needs_the_write_and_clinical_scopes() -> None:
    practice = make_practice()
    row = _due(practice)
    body = {"answers": answers_for("PHQ9", 3)}
    for scopes in (["read"], ["read", "clinical"], ["read", "write"]):
        refused = Api(practice.member, scopes).post(f"{URL}/questionnaires/{row.pk}/answers", body)
        assert refused.status_code == 403, scopes
        assert refused.json()["code"] == "forbidden"
    assert Api().post(f"{URL}/questionnaires/{row.pk}/answers", body).status_code == 401
    other = Api(practice.other_member).post(f"{URL}/questionnaires/{row.pk}/answers", body)
    assert other.json() == NOT_FOUND
    row.refresh_from_db()
    assert row.status == AssessmentStatus.DUE


def test_my_fhir_export_is_the_bundle_of_my_answers() -> None:
    practice = make_practice()
    completed(member=practice.member, cohort=practice.cohort, code="PHQ9", total=7, week=2)
    completed(
        member=practice.other_member, cohort=practice.other_cohort, code="GAD7", total=3, week=2
    )
    response = Api(practice.member).get(f"{URL}/fhir")
    assert response.status_code == 200
    bundle = response.json()
    assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "collection")
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds.count("QuestionnaireResponse") == 1 and "Observation" in kinds
    subjects = {e["resource"]["subject"]["reference"] for e in bundle["entry"]}
    assert subjects == {f"Patient/{practice.member.pk}"}
    assert Api(practice.member, ["read"]).get(f"{URL}/fhir").status_code == 403
    assert Api().get(f"{URL}/fhir").status_code == 401


# --------------------------------------------------------------------------------------------------
# Alerts


def test_alerts_for_the_groups_i_run_and_every_group_for_coordinators() -> None:
    practice = make_practice()
    alert = _alert(practice)
    for role in ("lead", "co_facilitator", "coordinator"):
        user = getattr(practice, role)
        body = Api(user).get(f"{URL}/alerts").json()
        assert [a["id"] for a in body["items"]] == [alert.pk], role
        item = body["items"][0]
        assert item["member"]["display_name"] == "Alex" and item["is_open"] is True
        assert item["instrument"] == "PHQ9" and item["assignee"]["id"] == practice.lead.pk
        viewed = _events(AuditAction.ALERT_VIEWED, user)
        assert [e.subject for e in viewed] == [practice.member]
    assert Api(practice.other_clinician).get(f"{URL}/alerts").json()["count"] == 0
    assert Api(practice.member).get(f"{URL}/alerts").json() == NOT_FOUND
    assert Api(practice.lead, ["read"]).get(f"{URL}/alerts").status_code == 403
    assert Api().get(f"{URL}/alerts").status_code == 401


def test_a_clinician_who_leads_no_group_yet_finds_an_empty_alert_queue_as_on_the_page() -> None:
    practice = make_practice()
    _alert(practice)
    newcomer = ClinicianFactory().user
    listed = Api(newcomer).get(f"{URL}/alerts")
    assert listed.status_code == 200 and listed.json() == {"items": [], "count": 0}
    page = Client()
    page.force_login(newcomer)
    assert page.get("/measures/alerts/").status_code == 200
    assert Api(practice.member).get(f"{URL}/alerts").json() == NOT_FOUND


def test_an_alert_whose_questionnaire_was_taken_back_is_listed_and_opens() -> None:
    from circlecare.measures.services import risk_answer_taken_back

    practice = make_practice()
    gone = _due(practice, meeting_week=3)
    gone_pk = gone.pk
    gone.delete()
    alert = risk_answer_taken_back(
        member=practice.member, cohort_id=practice.cohort.pk, assessment_id=gone_pk
    )
    assert alert is not None and alert.assessment is None
    items = Api(practice.lead).get(f"{URL}/alerts").json()["items"]
    assert [(a["id"], a["instrument"]) for a in items] == [(alert.pk, "PHQ9")]
    one = Api(practice.lead).get(f"{URL}/alerts/{alert.pk}")
    assert one.status_code == 200 and one.json()["instrument"] == "PHQ9"


def test_alert_list_filters_paginates_and_audits_only_the_page_shown() -> None:
    practice = make_practice()
    first = _alert(practice)
    second = _alert_for_week(practice, 4)
    api = Api(practice.lead)
    page = api.get(f"{URL}/alerts", {"limit": 1}).json()
    assert page["count"] == 2 and len(page["items"]) == 1
    assert len(_events(AuditAction.ALERT_VIEWED, practice.lead)) == 1
    RiskAlert.objects.filter(pk=first.pk).update(
        acknowledged_at=timezone.now(), acknowledged_by=practice.lead
    )
    assert [a["id"] for a in api.get(f"{URL}/alerts", {"open": "true"}).json()["items"]] == [
        second.pk
    ]
    assert [a["id"] for a in api.get(f"{URL}/alerts", {"open": "false"}).json()["items"]] == [
        first.pk
    ]


def test_alert_list_puts_open_alerts_first_on_every_database() -> None:
    practice = make_practice()
    handled = _alert(practice)
    waiting = _alert_for_week(practice, 4)
    RiskAlert.objects.filter(pk=handled.pk).update(
        acknowledged_at=timezone.now(), acknowledged_by=practice.lead
    )
    items = Api(practice.lead).get(f"{URL}/alerts").json()["items"]
    # PostgreSQL sorts an empty acknowledged_at last unless told otherwise.
    assert [a["id"] for a in items] == [waiting.pk, handled.pk]


def _alert_for_week(practice: Practice, week: int) -> RiskAlert:
    row = _due(practice, meeting_week=week)
    submit_assessment(assessment=row, answers=answers_for("PHQ9", 9, risk=1), actor=practice.member)
    return RiskAlert.objects.get(assessment=row)


def test_acknowledging_an_alert_with_a_note_once() -> None:
    practice = make_practice()
    alert = _alert(practice)
    api = Api(practice.co_facilitator)
    url = f"{URL}/alerts/{alert.pk}/acknowledge"
    empty = api.post(url, {"note": "   "})
    assert empty.status_code == 400 and empty.json()["code"] == "note_required"
    assert api.post(url, {"note": ""}).json()["code"] == "note_required"
    done = api.post(url, {"note": "Called Alex; safety plan agreed."})
    assert done.status_code == 200, done.content
    body = done.json()
    assert body["is_open"] is False and body["acknowledged_by"]["id"] == practice.co_facilitator.pk
    assert body["action_note"] == "Called Alex; safety plan agreed."
    changed = _events(AuditAction.ALERT_CHANGED, practice.co_facilitator)
    assert len(changed) == 1 and changed[0].data == {"status": "acknowledged"}
    again = Api(practice.lead).post(url, {"note": "Me too"})
    assert again.status_code == 409 and again.json()["code"] == "already_acknowledged"
    alert.refresh_from_db()
    assert alert.acknowledged_by == practice.co_facilitator


def test_acknowledging_needs_the_group_write_and_clinical() -> None:
    practice = make_practice()
    alert = _alert(practice)
    url = f"{URL}/alerts/{alert.pk}/acknowledge"
    note = {"note": "Reached them."}
    for user in (practice.other_clinician, practice.member, practice.other_member):
        assert Api(user).post(url, note).json() == NOT_FOUND
    missing = Api(practice.other_clinician).post(f"{URL}/alerts/987654/acknowledge", note)
    assert missing.content == Api(practice.other_clinician).post(url, note).content
    assert Api(practice.lead, ["read", "clinical"]).post(url, note).status_code == 403
    assert Api(practice.lead, ["read", "write"]).post(url, note).status_code == 403
    alert.refresh_from_db()
    assert alert.is_open


def test_one_alert_is_audited_as_viewed() -> None:
    practice = make_practice()
    alert = _alert(practice)
    body = Api(practice.coordinator).get(f"{URL}/alerts/{alert.pk}").json()
    assert body["id"] == alert.pk and body["group"]["id"] == practice.cohort.pk
    viewed = _events(AuditAction.ALERT_VIEWED, practice.coordinator)
    assert len(viewed) == 1 and viewed[0].data == {"view": "detail"}
    assert Api(practice.other_clinician).get(f"{URL}/alerts/{alert.pk}").json() == NOT_FOUND


# --------------------------------------------------------------------------------------------------
# Outcome report


def test_outcome_report_for_coordinators_with_wilson_intervals() -> None:
    program: Program = ProgramFactory(kind=ProgramKind.THERAPY, weeks=8, title="Anxiety group")
    cohort = CohortFactory(program=program)
    for i, member in enumerate(members(4, "r")):
        enrol(cohort, member)
        completed(member=member, cohort=cohort, code="PHQ9", total=16, week=0)
        completed(member=member, cohort=cohort, code="PHQ9", total=8 if i < 3 else 15, week=8)
    coordinator = make_practice().coordinator
    api = Api(coordinator)
    params = {"program_id": program.pk, "start": "2000-01-01", "end": "2100-01-01"}
    response = api.get(f"{URL}/reports/outcomes", params)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["title"] == "Anxiety group" and body["start"] == "2000-01-01"
    phq = body["instruments"][0]
    assert (phq["code"], phq["started"], phq["with_follow_up"]) == ("PHQ9", 4, 4)
    improvement = next(f for f in phq["figures"] if f["name"] == "Reliable improvement")
    expected = rate(3, 4)
    assert (improvement["itt"]["k"], improvement["itt"]["n"]) == (3, 4)
    assert improvement["itt"]["low"] == pytest.approx(expected.low)
    assert improvement["itt"]["high"] == pytest.approx(expected.high)
    assert "no control group" in body["sentence"]
    viewed = _events(AuditAction.ASSESSMENT_VIEWED, coordinator)
    assert len(viewed) == 1 and viewed[0].data == {"view": "outcome_report"}


def test_each_outcome_figure_says_how_many_have_a_follow_up_score() -> None:
    """As on the report page and in the CSV: a figure with nobody followed up has no result yet,
    which an intent-to-treat "0 of n" alone would not say."""
    program: Program = ProgramFactory(kind=ProgramKind.THERAPY, weeks=8)
    cohort = CohortFactory(program=program)
    followed, not_a_case, baseline_only = members(3, "f")
    for member in (followed, not_a_case, baseline_only):
        enrol(cohort, member)
    completed(member=followed, cohort=cohort, code="PHQ9", total=16, week=0)
    completed(member=followed, cohort=cohort, code="PHQ9", total=8, week=8)
    completed(member=not_a_case, cohort=cohort, code="PHQ9", total=6, week=0)
    completed(member=not_a_case, cohort=cohort, code="PHQ9", total=5, week=8)
    completed(member=baseline_only, cohort=cohort, code="PHQ9", total=14, week=0)
    for member in (followed, not_a_case, baseline_only):
        completed(member=member, cohort=cohort, code="GAD7", total=9, week=0)
    api = Api(make_practice().coordinator)
    params = {"program_id": program.pk, "start": "2000-01-01", "end": "2100-01-01"}
    body = api.get(f"{URL}/reports/outcomes", params).json()
    phq, gad = body["instruments"][:2]
    assert {f["name"]: (f["itt"]["n"], f["n_with_follow_up"]) for f in phq["figures"]} == {
        "Reliable improvement": (3, 2),
        "Reliable deterioration": (3, 2),
        "Recovery": (2, 1),  # in the clinical range at baseline: 16 and 14
        "Reliable recovery": (2, 1),
    }
    # GAD-7: everyone counted, nobody followed up yet.
    assert {f["n_with_follow_up"] for f in gad["figures"]} == {0}
    assert all(f["itt"]["k"] == 0 and f["completers"] is None for f in gad["figures"])
    assert body["combined"]["n_with_follow_up"] == 0


def test_ucla3_change_counts_are_in_the_outcome_report_as_on_the_page_and_csv() -> None:
    """The UCLA-3 has no published reliable-change threshold, so the report page and the CSV give
    which way its scores went; the API gives the same counts."""
    program: Program = ProgramFactory(kind=ProgramKind.CARE_CIRCLE, weeks=4)
    cohort = CohortFactory(program=program)
    for member, (base, last) in zip(
        members(5, "c"), [(7, 4), (6, 5), (5, 5), (4, 8), (7, None)], strict=True
    ):
        enrol(cohort, member)
        completed(member=member, cohort=cohort, code="UCLA3", total=base, week=0)
        if last is not None:
            completed(member=member, cohort=cohort, code="UCLA3", total=last, week=4)
    api = Api(make_practice().coordinator)
    params = {"program_id": program.pk, "start": "2000-01-01", "end": "2100-01-01"}
    body = api.get(f"{URL}/reports/outcomes", params).json()
    by_code = {o["code"]: o for o in body["instruments"]}
    ucla3 = by_code["UCLA3"]
    assert (ucla3["started"], ucla3["with_follow_up"]) == (5, 4)
    assert ucla3["change"] == {"lower": 2, "same": 1, "higher": 1, "better": "lower"}
    # An instrument with reliable-change figures has no counts.
    assert by_code["WHO5"]["figures"] and by_code["WHO5"]["change"] is None


def test_outcome_report_is_for_coordinators_and_checks_its_period() -> None:
    practice = make_practice()
    program_id = practice.cohort.program_id
    url = f"{URL}/reports/outcomes"
    for role in ("lead", "member", "co_facilitator"):
        assert Api(getattr(practice, role)).get(url, {"program_id": program_id}).json() == (
            NOT_FOUND
        )
    api = Api(practice.coordinator)
    assert api.get(url, {"program_id": program_id}).status_code == 200
    assert api.get(url, {"program_id": 987654}).json() == NOT_FOUND
    backwards = api.get(url, {"program_id": program_id, "start": "2026-05-01", "end": "2026-01-01"})
    assert backwards.status_code == 422
    assert backwards.json()["detail"][0]["loc"] == ["query", "end"]
    assert api.get(url).status_code == 422
    assert date.fromisoformat(api.get(url, {"program_id": program_id}).json()["end"])


def test_my_questionnaires_cost_the_same_however_many_there_are() -> None:
    practice = make_practice()
    api = Api(practice.member)
    _due(practice, meeting_week=2)
    completed(member=practice.member, cohort=practice.cohort, code="PHQ9", total=7, week=1)

    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(f"{URL}/questionnaires").status_code == 200
        return len(captured)

    queries_for_list()  # the token's first use of the minute also records when it was used
    few = queries_for_list()
    for week in (3, 4, 5):
        _due(practice, meeting_week=week, instrument="GAD7")
        completed(member=practice.member, cohort=practice.cohort, code="WHO5", total=14, week=week)
    assert queries_for_list() == few
