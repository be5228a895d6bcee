"""Pages: who may see what (404 for everyone else), audit events, crisis resources."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from circlecare.audit.models import AuditAction, AuditEvent
from circlecare.enrollment.models import EnrollmentStatus
from circlecare.measures.instruments import get
from circlecare.measures.models import Assessment, AssessmentStatus, MeasurementPlan, RiskAlert
from circlecare.measures.plans import intake_codes
from circlecare.measures.services import risk_answer_not_saved, submit_assessment, submit_intake
from circlecare.programs.models import ProgramKind
from tests.factories import (
    ClinicianFactory,
    CohortFactory,
    EnrollmentFactory,
    LicenseFactory,
    ProgramFactory,
    UserFactory,
)
from tests.measures.factories import AssessmentFactory, answers_for, completed

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> dict[str, Any]:
    program = ProgramFactory(kind=ProgramKind.THERAPY, weeks=6, title="Closer")
    co = ClinicianFactory().user
    cohort = CohortFactory(program=program, co_facilitator=co)
    member = EnrollmentFactory(cohort=cohort).member
    other_member = EnrollmentFactory(cohort=cohort).member
    completed(member=member, cohort=cohort, code="PHQ9", total=15, week=0)
    completed(member=member, cohort=cohort, code="PHQ9", total=7, week=3)
    due = AssessmentFactory(member=member, cohort=cohort, meeting_week=4)
    risky = AssessmentFactory(member=other_member, cohort=cohort, meeting_week=4)
    submit_assessment(assessment=risky, answers=answers_for("PHQ9", 6, risk=1), actor=other_member)
    return {
        "program": program,
        "cohort": cohort,
        "member": member,
        "other_member": other_member,
        "lead": cohort.lead,
        "co": co,
        "other_clinician": CohortFactory().lead,
        "coordinator": UserFactory(is_staff=True),
        "stranger": UserFactory(),
        "due": due,
        "alert": RiskAlert.objects.get(),
    }


def client_for(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def urls(w: dict[str, Any]) -> dict[str, str]:
    c, m = w["cohort"].pk, w["member"].pk
    return {
        "take": f"/measures/questionnaire/{w['due'].pk}/",
        "cohort": f"/measures/groups/{c}/",
        "member": f"/measures/groups/{c}/members/{m}/",
        "member_fhir": f"/measures/groups/{c}/members/{m}/fhir/",
        "alerts": "/measures/alerts/",
        "alert": f"/measures/alerts/{w['alert'].pk}/",
        "report": f"/measures/reports/?program={w['program'].pk}&start=2000-01-01&end=2100-01-01",
        "csv": f"/measures/reports/export.csv?program={w['program'].pk}&start=2000-01-01&end=2100-01-01",
    }


# role → the pages that answer 200; every other page in ``urls`` must answer 404.
ALLOWED = {
    "member": {"take"},
    "other_member": set(),
    "stranger": set(),
    "lead": {"cohort", "member", "member_fhir", "alerts", "alert"},
    "co": {"cohort", "member", "member_fhir", "alerts", "alert"},
    "other_clinician": {"alerts"},  # their own queue, which holds nothing of this cohort
    "coordinator": {"report", "csv", "alerts", "alert"},
}


@pytest.mark.parametrize("role", sorted(ALLOWED))
def test_access_matrix(world: dict[str, Any], role: str) -> None:
    client = client_for(world[role])
    for name, url in urls(world).items():
        status = client.get(url).status_code
        expected = 200 if name in ALLOWED[role] else 404
        assert status == expected, f"{role} → {name}: {status}"


ALERTS_LINK = '<a href="/measures/alerts/"'


@pytest.mark.parametrize(
    ("role", "shown"),
    [
        ("lead", True),
        ("co", True),
        ("other_clinician", True),
        ("coordinator", True),
        ("member", False),
        ("other_member", False),
        ("stranger", False),
    ],
)
def test_the_menu_links_the_alert_queue_for_staff_and_never_for_members(
    world: dict[str, Any], role: str, shown: bool
) -> None:
    page = client_for(world[role]).get("/").content.decode()
    assert 'class="site-nav"' in page
    assert (ALERTS_LINK in page) is shown
    if shown:
        queue = client_for(world[role]).get("/measures/alerts/").content.decode()
        assert f'{ALERTS_LINK} aria-current="page">Alerts</a>' in queue


def test_a_facilitator_who_leads_no_group_yet_finds_an_empty_queue_behind_the_link(
    world: dict[str, Any],
) -> None:
    """The menu and the workspace link them to the queue; it holds nobody's alert for them."""
    facilitator = UserFactory(is_facilitator=True)
    client = client_for(facilitator)
    assert ALERTS_LINK in client.get("/").content.decode()
    queue = client.get("/measures/alerts/")
    assert queue.status_code == 200
    body = queue.content.decode()
    assert "Needs follow-up (0)" in body and "No open alerts." in body
    assert world["other_member"].display_name not in body
    assert client.get(f"/measures/alerts/{world['alert'].pk}/").status_code == 404


def test_a_clinician_queue_holds_only_their_cohorts_alerts(world: dict[str, Any]) -> None:
    name = world["other_member"].display_name
    assert (
        name not in client_for(world["other_clinician"]).get("/measures/alerts/").content.decode()
    )
    assert name in client_for(world["lead"]).get("/measures/alerts/").content.decode()


def test_the_alert_queue_names_the_question_that_raises_alerts(world: dict[str, Any]) -> None:
    """The PHQ-9's last question on the form is the unscored one about difficulty; alerts
    come from question 9."""
    body = client_for(world["lead"]).get("/measures/alerts/").content.decode()
    assert "answered PHQ-9 question 9 (thoughts of being better off dead or of self-harm)" in body
    assert "last question" not in body


def test_anonymous_visitors_are_sent_to_log_in(world: dict[str, Any]) -> None:
    client = Client()
    for name, url in urls(world).items():
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], name


@pytest.mark.parametrize(
    ("reader", "page", "action", "view"),
    [
        ("lead", "member", AuditAction.ASSESSMENT_VIEWED, "member_chart"),
        ("co", "member_fhir", AuditAction.ASSESSMENT_VIEWED, "fhir_export"),
        ("lead", "alert", AuditAction.ALERT_VIEWED, None),
        ("coordinator", "csv", AuditAction.ASSESSMENT_VIEWED, "outcome_report_csv"),
    ],
)
def test_each_staff_read_of_one_member_or_export_writes_exactly_one_event(
    world: dict[str, Any], reader: str, page: str, action: str, view: str | None
) -> None:
    before = set(AuditEvent.objects.values_list("pk", flat=True))
    assert client_for(world[reader]).get(urls(world)[page]).status_code == 200
    new = list(AuditEvent.objects.exclude(pk__in=before))
    assert len(new) == 1, [(e.action, e.data) for e in new]
    event = new[0]
    assert (event.actor, event.action) == (world[reader], action)
    if view is not None:
        assert event.data.get("view") == view


def test_a_missing_object_and_someone_elses_look_the_same(world: dict[str, Any]) -> None:
    client = client_for(world["other_member"])
    theirs = client.get(urls(world)["take"])
    missing = client.get("/measures/questionnaire/999999/")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.content == missing.content


def test_staff_reads_write_audit_events_without_clinical_text(world: dict[str, Any]) -> None:
    client = client_for(world["lead"])
    u = urls(world)
    client.get(u["member"])
    event = AuditEvent.objects.get(action=AuditAction.ASSESSMENT_VIEWED)
    assert event.actor == world["lead"] and event.subject == world["member"]
    client.get(u["cohort"])
    overview = AuditEvent.objects.filter(
        action=AuditAction.ASSESSMENT_VIEWED, data__view="cohort_overview"
    )
    assert {e.subject for e in overview} == {world["member"], world["other_member"]}
    client.get(u["alert"])
    assert AuditEvent.objects.filter(
        action=AuditAction.ALERT_VIEWED, target_id=str(world["alert"].pk)
    ).exists()
    for e in AuditEvent.objects.all():
        assert "15" not in str(e.data) and "PHQ" not in str(e.data)
    # A member reading their own progress is not a staff read.
    before = AuditEvent.objects.count()
    client_for(world["member"]).get("/measures/progress/")
    assert AuditEvent.objects.count() == before


def test_clinical_pages_are_not_cached(world: dict[str, Any]) -> None:
    response = client_for(world["lead"]).get(urls(world)["member"])
    assert response["Cache-Control"] == "no-store"


def test_member_chart_shows_bands_caseness_and_flag(world: dict[str, Any]) -> None:
    response = client_for(world["lead"]).get(urls(world)["member"])
    body = response.content.decode()
    assert "Reliable improvement" in body  # 15 → 7
    assert 'id="clinician-charts"' in body and '"caseness": 10' in body
    assert '"reliableChange": 6' in body and '"baseline": 15' in body
    assert "Not on track:" in body


def test_a_change_of_exactly_the_threshold_is_not_described_as_inside_the_stripe() -> None:
    """15 → 9 is a reliable improvement (a fall of 6); the chart's key must not place it in
    the stripe of changes that are not yet reliable."""
    cohort = CohortFactory(program=ProgramFactory(kind=ProgramKind.THERAPY, weeks=6))
    member = EnrollmentFactory(cohort=cohort).member
    completed(member=member, cohort=cohort, code="PHQ9", total=15, week=0)
    completed(member=member, cohort=cohort, code="PHQ9", total=9, week=3)
    body = client_for(cohort.lead).get(f"/measures/groups/{cohort.pk}/members/{member.pk}/")
    page = body.content.decode()
    assert "Reliable improvement" in page
    assert (
        "Blue-grey stripe: less than 6 from the baseline, where a change is not yet reliable; "
        "a change of 6 or more is reliable." in page
    )
    assert "within 6 of the baseline" not in page


def test_a_who5_answer_of_0_or_1_is_flagged_on_the_chart_whatever_the_total() -> None:
    """MEASURES.md: any single WHO-5 item at 0 or 1 warrants a look, even at a good total."""
    cohort = CohortFactory(program=ProgramFactory(kind=ProgramKind.CARE_CIRCLE, weeks=6))
    member = EnrollmentFactory(cohort=cohort).member
    low = completed(member=member, cohort=cohort, code="WHO5", total=20, week=0)
    assert low.answer_list == [5, 5, 5, 5, 0] and low.band == "adequate"
    url = f"/measures/groups/{cohort.pk}/members/{member.pk}/"
    badge = "An answer of 0 or 1: worth a look"
    assert client_for(cohort.lead).get(url).content.decode().count(badge) == 1
    completed(member=member, cohort=cohort, code="WHO5", total=25, week=3)
    assert client_for(cohort.lead).get(url).content.decode().count(badge) == 1  # not week 3


def test_the_overview_shows_who5_scores_as_percentages_as_the_chart_does() -> None:
    cohort = CohortFactory(program=ProgramFactory(kind=ProgramKind.CARE_CIRCLE, weeks=6))
    member = EnrollmentFactory(cohort=cohort, member__display_name="Wren").member
    newcomer = EnrollmentFactory(cohort=cohort, member__display_name="Newcomer").member
    completed(member=member, cohort=cohort, code="WHO5", total=10, week=0)
    completed(member=member, cohort=cohort, code="WHO5", total=15, week=3)
    completed(member=newcomer, cohort=cohort, code="WHO5", total=12, week=0)
    body = client_for(cohort.lead).get(f"/measures/groups/{cohort.pk}/").content.decode()
    assert "40% → 60%" in body
    assert '48% <span class="muted">(baseline only)</span>' in body


def test_an_empty_overview_says_so_across_the_whole_table() -> None:
    cohort = CohortFactory(program=ProgramFactory(kind=ProgramKind.THERAPY, weeks=6))
    page = client_for(cohort.lead).get(f"/measures/groups/{cohort.pk}/").content.decode()
    table = page[page.index("<table") : page.index("</table>")]
    head = table[table.index("<thead>") : table.index("</thead>")]
    columns = head.count('<th scope="col"')
    assert columns == 3
    assert f'<td colspan="{columns}">No members have held a seat in this group yet.</td>' in table


def test_overview_puts_the_risk_first(world: dict[str, Any]) -> None:
    body = client_for(world["lead"]).get(urls(world)["cohort"]).content.decode()
    assert body.index(world["other_member"].display_name) < body.index(world["member"].display_name)


def test_a_member_with_only_a_baseline_shows_no_change(world: dict[str, Any]) -> None:
    """Overview and chart show the baseline alone: no arrow, no "latest" that is the baseline."""
    newcomer = EnrollmentFactory(cohort=world["cohort"], member__display_name="Newcomer").member
    completed(member=newcomer, cohort=world["cohort"], code="PHQ9", total=14, week=0)
    lead = client_for(world["lead"])
    body = lead.get(urls(world)["cohort"]).content.decode()
    row = re.search(r"Newcomer</a>.*?</tr>", body, re.S)
    assert row is not None
    assert "Baseline only" in row[0] and "14 → 14" not in row[0] and "→" not in row[0]
    assert '14 <span class="muted">(baseline only)</span>' in row[0]
    assert "15 → 7" in body  # a member with a follow-up keeps their change
    chart = lead.get(f"/measures/groups/{world['cohort'].pk}/members/{newcomer.pk}/")
    facts = chart.content.decode()
    assert "<dt>Latest</dt><dd>No follow-up score yet</dd>" in facts
    assert "<dt>Change</dt>" not in facts


def test_member_progress_is_plain_and_has_a_table(world: dict[str, Any]) -> None:
    body = client_for(world["member"]).get("/measures/progress/").content.decode()
    assert "Lower numbers mean fewer difficulties" in body
    assert "gone down by 8" in body and "<table" in body
    # 15 → 7 on the PHQ-9, in MEASURES.md's words and with its threshold.
    assert (
        "That is a reliable improvement: a change of 6 points or more is larger than the ups "
        "and downs that come from answering on different days." in body
    )
    assert "Moderately severe" not in body and "caseness" not in body.lower()
    assert "chart.umd.min.js" in body and "measures-chart.js" in body


def test_a_group_with_only_check_ins_says_why_it_shows_no_scores() -> None:
    """The check-in is not shown as a score; the group's heading is not left standing alone."""
    cohort = CohortFactory(program=ProgramFactory(kind=ProgramKind.CARE_CIRCLE, weeks=6))
    member = EnrollmentFactory(cohort=cohort).member
    completed(member=member, cohort=cohort, code="CHECKIN", total=30, week=1, occasion="checkin")
    page = client_for(member).get("/measures/progress/").content.decode()
    section = page[page.index(f'id="group-{cohort.pk}"') :]
    assert "<table" not in section
    assert (
        "Your after-meeting check-ins help your group's team and aren't shown as scores" in section
    )


def test_questionnaire_page_has_exact_wording_and_attribution(world: dict[str, Any]) -> None:
    body = client_for(world["member"]).get(urls(world)["take"]).content.decode()
    assert "Thoughts that you would be better off dead, or of hurting yourself in some way" in body
    assert "No permission required to reproduce" in body
    assert body.count('type="radio"') == 9 * 4 + 4  # nine items, and the unscored question
    assert "<fieldset" in body and "<legend" in body


def test_a_member_abroad_is_told_whom_to_call_on_every_questionnaire(
    world: dict[str, Any],
) -> None:
    """988 and 911 are US numbers: the lines under a questionnaire and in every page's footer
    also name the local emergency number, as do the not-found and error pages."""
    client = client_for(world["member"])
    outside = "or your local emergency number outside the US"
    body = client.get(urls(world)["take"]).content.decode()
    assert body.count(outside) == 2  # under the questions, and in the footer
    missing = client.get("/measures/questionnaire/999999/")
    assert missing.status_code == 404
    assert outside in missing.content.decode()


def test_what_is_waiting_is_told_apart_by_what_it_asks_about(world: dict[str, Any]) -> None:
    for code in ("WHO5", "UCLA3"):
        AssessmentFactory(
            member=world["member"], cohort=world["cohort"], instrument=code, meeting_week=2
        )
    AssessmentFactory(
        member=world["member"], cohort=world["cohort"], instrument="CHECKIN", occasion="checkin"
    )
    body = client_for(world["member"]).get("/measures/").content.decode()
    assert "Weekly: your well-being" in body and "Weekly: feeling connected to others" in body
    assert ">After-meeting check-in</a>" in body


def test_what_is_waiting_says_until_when_it_can_be_answered(world: dict[str, Any]) -> None:
    """A week after it opened it closes; the list says so, in the member's own time."""
    world["due"].due_at = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
    world["due"].save(update_fields=["due_at"])
    body = client_for(world["member"]).get("/measures/").content.decode()
    card = body[body.index(f"/measures/questionnaire/{world['due'].pk}/") :]
    card = card[: card.index("</li>")]
    assert 'open since <time datetime="2026-03-10T14:00:00Z"' in card
    assert ', until <time datetime="2026-03-17T14:00:00Z"' in card


def test_the_who5_shows_the_numbers_its_instructions_speak_of(world: dict[str, Any]) -> None:
    who5 = AssessmentFactory(member=world["member"], cohort=world["cohort"], instrument="WHO5")
    body = client_for(world["member"]).get(f"/measures/questionnaire/{who5.pk}/").content.decode()
    assert "higher numbers mean better well-being" in body
    assert "All of the time (5)" in body and "At no time (0)" in body


def test_checkin_page_is_labelled_unvalidated(world: dict[str, Any]) -> None:
    checkin = AssessmentFactory(
        member=world["member"], cohort=world["cohort"], instrument="CHECKIN", occasion="checkin"
    )
    body = (
        client_for(world["member"]).get(f"/measures/questionnaire/{checkin.pk}/").content.decode()
    )
    assert "our own short check-in, not a validated questionnaire" in body
    # Four lines of 0–10, each an explicit choice with nothing chosen in advance.
    assert body.count('type="radio"') == 4 * 11 and "checked" not in body
    assert body.count('class="scale"') >= 4 and "10 — completely" in body


def test_the_checkin_page_says_which_meeting_it_is_about(world: dict[str, Any]) -> None:
    from tests.meetings.factories import meeting_at

    start = datetime(2026, 3, 10, 23, 0, tzinfo=UTC)
    meeting_at(world["cohort"], start, number=2)
    member = client_for(world["member"])

    def header(assessment: Assessment) -> str:
        response = member.get(f"/measures/questionnaire/{assessment.pk}/")
        assert response.status_code == 200, response
        body = response.content.decode()
        start = body.index('<header class="page-header">')
        return body[start : body.index("</header>", start)]

    checkin = AssessmentFactory(
        member=world["member"],
        cohort=world["cohort"],
        instrument="CHECKIN",
        occasion="checkin",
        meeting_week=2,
    )
    about = header(checkin)
    assert "About your meeting on <time" in about
    assert 'datetime="2026-03-10T23:00:00Z"' in about
    assert "(week 2)" in about
    # A week whose meeting is not stored (yet) is still named.
    unstored = AssessmentFactory(
        member=world["member"],
        cohort=world["cohort"],
        instrument="CHECKIN",
        occasion="checkin",
        meeting_week=5,
    )
    assert "About your meeting of week 5" in header(unstored)
    assert "About your meeting" not in header(world["due"])
    assert (
        "today's meeting"
        not in member.get(f"/measures/questionnaire/{checkin.pk}/").content.decode()
    )


def test_a_closed_final_questionnaire_promises_no_next_one(world: dict[str, Any]) -> None:
    member, cohort = world["member"], world["cohort"]
    final = AssessmentFactory(
        member=member,
        cohort=cohort,
        occasion="final",
        meeting_week=6,
        status=AssessmentStatus.MISSED,
    )
    client = client_for(member)
    url = f"/measures/questionnaire/{final.pk}/"
    shown = client.get(url, follow=True).content.decode()
    sent = client.post(url, {f"item_{n}": "0" for n in range(1, 10)}, follow=True)
    for page in (shown, sent.content.decode()):
        assert "It was the last one for this group" in page
        assert "There will be another" not in page
    assert Assessment.objects.get(pk=final.pk).status == AssessmentStatus.MISSED


def test_a_closed_check_in_promises_another_only_if_a_meeting_follows(
    world: dict[str, Any],
) -> None:
    """The check-in of a group's last meeting has no next meeting's check-in after it."""
    member, cohort = world["member"], world["cohort"]
    client = client_for(member)
    for week, said in (
        (5, "There will be another after the next meeting."),
        (6, "It was for the group's last meeting"),
    ):
        checkin = AssessmentFactory(
            member=member,
            cohort=cohort,
            instrument="CHECKIN",
            occasion="checkin",
            meeting_week=week,
            status=AssessmentStatus.MISSED,
        )
        url = f"/measures/questionnaire/{checkin.pk}/"
        shown = html.unescape(client.get(url, follow=True).content.decode())
        sent = client.post(url, {f"item_{n}": "7" for n in range(1, 5)}, follow=True)
        for page in (shown, html.unescape(sent.content.decode())):
            assert said in page
            if week == 6:
                assert "There will be another" not in page
        assert Assessment.objects.get(pk=checkin.pk).status == AssessmentStatus.MISSED


def test_bad_answers_get_a_message_and_change_nothing(world: dict[str, Any]) -> None:
    client = client_for(world["member"])
    response = client.post(urls(world)["take"], {"item_1": "7"})
    assert response.status_code == 400
    assert "Please choose an answer for this question." in response.content.decode()
    world["due"].refresh_from_db()
    assert world["due"].status == AssessmentStatus.DUE


def test_risk_answer_shows_crisis_resources_and_resubmission_is_refused(
    world: dict[str, Any],
) -> None:
    client = client_for(world["member"])
    post = {f"item_{i + 1}": str(v) for i, v in enumerate(answers_for("PHQ9", 9, risk=3))}
    response = client.post(urls(world)["take"], post, follow=True)
    body = response.content.decode()
    assert 'href="tel:988"' in body and 'href="sms:988"' in body and 'href="tel:911"' in body
    assert 'role="alert"' in body
    # In the site's layout, still signed in: nobody in distress should think they were logged out.
    assert "Log out" in body and ">Log in<" not in body
    # Trying again with item 9 at 0 changes nothing, and still shows the crisis resources.
    post["item_9"] = "0"
    post["item_1"] = "3"
    again = client.post(urls(world)["take"], post, follow=True)
    assert again.status_code == 200 and "tel:988" in again.content.decode()
    assert "sent answers can&#x27;t be changed" in again.content.decode()
    a = Assessment.objects.get(pk=world["due"].pk)
    assert a.has_risk and a.answer_list[8] == 3


def test_a_risk_answer_that_cannot_be_stored_still_reaches_the_clinician(
    world: dict[str, Any],
) -> None:
    """Sent again after the questionnaire was answered without it, or with other answers
    missing: the scores stay as they are, the member sees crisis resources, and the group's
    clinician gets an alert that says the answer is not in the scores, once."""
    client = client_for(world["member"])
    calm = {f"item_{i + 1}": str(v) for i, v in enumerate(answers_for("PHQ9", 4))}
    client.post(urls(world)["take"], calm)
    a = Assessment.objects.get(pk=world["due"].pk)
    assert a.status == AssessmentStatus.COMPLETED and not a.has_risk
    before = RiskAlert.objects.count()
    again = {**calm, "item_9": "2"}
    page = client.post(urls(world)["take"], again)
    assert page.status_code == 200 and b"tel:988" in page.content
    alert = RiskAlert.objects.exclude(pk__in=[world["alert"].pk]).get(assessment=a)
    assert not alert.answer_saved and alert.member == world["member"]
    assert RiskAlert.objects.count() == before + 1
    a.refresh_from_db()
    assert a.answer_list[8] == 0 and not a.has_risk  # what was stored stays as it was
    client.post(urls(world)["take"], again)
    assert RiskAlert.objects.count() == before + 1  # once per questionnaire
    view = client_for(world["co"]).get(f"/measures/alerts/{alert.pk}/")
    assert "could not be stored" in view.content.decode()

    # Missing answers with the risk answer given: crisis resources, and the alert.
    due = AssessmentFactory(member=world["member"], cohort=world["cohort"], meeting_week=5)
    partial = client.post(f"/measures/questionnaire/{due.pk}/", {"item_9": "1"})
    assert partial.status_code == 400 and b"tel:988" in partial.content
    assert RiskAlert.objects.get(assessment=due).answer_saved is False
    # Completing it afterwards with the risk answer keeps the one alert, now saved.
    full = {f"item_{i + 1}": str(v) for i, v in enumerate(answers_for("PHQ9", 6, risk=1))}
    client.post(f"/measures/questionnaire/{due.pk}/", full)
    assert RiskAlert.objects.get(assessment=due).answer_saved is True


def test_crisis_page_shows_even_when_saving_fails(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr("circlecare.measures.views.submit_assessment", broken)
    post = {f"item_{i + 1}": str(v) for i, v in enumerate(answers_for("PHQ9", 4, risk=1))}
    response = client_for(world["member"]).post(urls(world)["take"], post)
    body = response.content.decode()
    assert response.status_code == 200 and "tel:988" in body and "tel:911" in body
    assert "couldn't save your answers" in body


def test_crisis_page_shows_even_when_the_assessment_cannot_be_loaded(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr("circlecare.measures.views.get_object_or_404", broken)
    post = {f"item_{i + 1}": str(v) for i, v in enumerate(answers_for("PHQ9", 4, risk=1))}
    response = client_for(world["member"]).post(urls(world)["take"], post)
    assert response.status_code == 200 and b"tel:988" in response.content
    # Without a risk answer the failure is not hidden.
    post["item_9"] = "0"
    with pytest.raises(RuntimeError):
        client_for(world["member"]).post(urls(world)["take"], post)


def test_a_risk_answer_to_a_questionnaire_taken_back_meanwhile_still_brings_crisis_resources(
    world: dict[str, Any],
) -> None:
    """The form was open when the questionnaire was taken back (its meeting moved later, or the
    member was marked absent for a check-in): the answers have nowhere to go, but a risk answer
    given is a risk answer, and the very next page offers support rather than "not found"."""
    client = client_for(world["member"])
    assert client.get(urls(world)["take"]).status_code == 200
    Assessment.objects.filter(pk=world["due"].pk).delete()
    post = {f"item_{i + 1}": str(v) for i, v in enumerate(answers_for("PHQ9", 4, risk=2))}
    response = client.post(urls(world)["take"], post)
    body = response.content.decode()
    assert response.status_code == 200 and "tel:988" in body and "tel:911" in body
    assert "couldn't save your answers" in body
    # Without a risk answer it stays a plain "not found", as for anyone else's questionnaire.
    post["item_9"] = "0"
    assert client.post(urls(world)["take"], post).status_code == 404


def _asked(page: Any) -> str:
    found = re.search(r'name="asked" value="([^"]+)"', page.content.decode())
    assert found, "the questionnaire form says which questionnaire it asks"
    return found.group(1)


def test_a_risk_answer_to_a_questionnaire_taken_back_meanwhile_reaches_the_clinician(
    world: dict[str, Any],
) -> None:
    """The form says (signed) which questionnaire it asked: when that one was taken back while
    the form was open, the risk answer still raises an alert for the group's clinician, once,
    marked as not stored, and the member is told the clinician knows."""
    client = client_for(world["member"])
    asked = _asked(client.get(urls(world)["take"]))
    due_pk = world["due"].pk
    Assessment.objects.filter(pk=due_pk).delete()
    post = {f"item_{i + 1}": str(v) for i, v in enumerate(answers_for("PHQ9", 4, risk=2))}
    before = RiskAlert.objects.count()

    # A form that says nothing, a forged one, or another member's: crisis resources, no alert.
    forged = asked[:-2] + ("AA" if not asked.endswith("AA") else "BB")
    for token in ("", forged):
        page = client.post(urls(world)["take"], {**post, "asked": token})
        assert page.status_code == 200 and b"tel:988" in page.content
        assert "couldn't save your answers" in page.content.decode()
    other = client_for(world["other_member"]).post(urls(world)["take"], {**post, "asked": asked})
    assert other.status_code == 200 and b"tel:988" in other.content
    assert RiskAlert.objects.count() == before

    page = client.post(urls(world)["take"], {**post, "asked": asked})
    body = page.content.decode()
    assert page.status_code == 200 and "tel:988" in body and "tel:911" in body
    assert "no longer open" in body and "clinician or facilitator has been told" in body
    alert = RiskAlert.objects.get(member=world["member"], assessment__isnull=True)
    assert alert.cohort == world["cohort"] and alert.assignee == world["lead"]
    assert not alert.answer_saved and alert.is_open
    assert not Assessment.objects.filter(pk=due_pk).exists()  # nothing is stored as answers
    client.post(urls(world)["take"], {**post, "asked": asked})
    assert RiskAlert.objects.count() == before + 1  # sent twice: one alert

    view = client_for(world["lead"]).get(f"/measures/alerts/{alert.pk}/")
    assert (
        view.status_code == 200
        and "taken back while the member had it open" in view.content.decode()
    )
    assert (
        "/measures/alerts/" in client_for(world["lead"]).get("/measures/alerts/").content.decode()
    )


def test_a_taken_back_questionnaire_of_a_group_never_joined_raises_nothing(
    world: dict[str, Any],
) -> None:
    """The signed form names a group; a member with no place there ever (the token was made for
    them, but the group is someone else's) raises no alert in it."""
    from circlecare.measures.services import risk_answer_taken_back

    elsewhere = CohortFactory()
    assert (
        risk_answer_taken_back(member=world["member"], cohort_id=elsewhere.pk, assessment_id=10**9)
        is None
    )
    # A questionnaire that still exists is not "taken back": its own path raises its alert.
    assert (
        risk_answer_taken_back(
            member=world["member"], cohort_id=world["cohort"].pk, assessment_id=world["due"].pk
        )
        is None
    )
    assert not RiskAlert.objects.filter(assessment__isnull=True).exists()


def test_the_support_page_speaks_of_saved_answers_only_right_after_they_were_saved(
    world: dict[str, Any],
) -> None:
    client = client_for(world["member"])
    post = {f"item_{i + 1}": str(v) for i, v in enumerate(answers_for("PHQ9", 4, risk=1))}
    after = client.post(urls(world)["take"], post, follow=True).content.decode()
    assert "Your answers are saved" in after and "tel:988" in after
    # It says who was told, and promises no time: nobody is certain to read the alert today.
    assert "clinician or facilitator has been told" in after
    assert "may not see it straight away" in after
    for promise in ("usually today", "will follow up"):
        assert promise not in after
    assert after.index("Your answers are saved") < after.index("tel:988") < after.index("tel:911")
    # Opened again later, or by anyone, it offers support and promises nothing.
    for again in (client.get("/measures/support/"), Client().get("/measures/support/")):
        body = again.content.decode()
        assert again.status_code == 200 and "tel:988" in body
        assert "Support, right now" in body
        for promise in ("Thank you for telling us", "answers are saved", "save your answers"):
            assert promise not in body
        assert "follow up" not in body
        # Nothing covers the crisis resources, not even the idle sign-out warning.
        assert 'id="idle-warning"' not in body


def test_crisis_page_falls_back_to_static_html(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("templates unavailable")

    monkeypatch.setattr("circlecare.measures.views.render_to_string", broken)
    response = Client().get("/measures/support/")
    assert response.status_code == 200 and b"tel:988" in response.content
    assert b"tel:911" in response.content


def test_acknowledge_through_the_page(world: dict[str, Any]) -> None:
    client = client_for(world["co"])
    url = urls(world)["alert"]
    empty = client.post(url, {"note": ""})
    assert empty.status_code == 400 and "Please write what was done" in empty.content.decode()
    name = world["alert"].member.display_name
    assert f"<h1>{name} needs follow-up</h1>" in client.get(url).content.decode()
    response = client.post(url, {"note": "Phoned; agreed a plan."}, follow=True)
    assert "acknowledged" in response.content.decode().lower()
    # The page no longer says the member is waiting for someone to follow up.
    assert f"<h1>{name}: alert acknowledged</h1>" in response.content.decode()
    assert "needs follow-up" not in response.content.decode()
    world["alert"].refresh_from_db()
    assert world["alert"].acknowledged_by == world["co"]
    # A second acknowledgement (another tab, the back button) says what happened and changes
    # nothing.
    again = client.post(url, {"note": "second"}, follow=True)
    body = again.content.decode()
    assert "already acknowledged" in body.lower() and "Phoned; agreed a plan." in body
    world["alert"].refresh_from_db()
    assert world["alert"].action_note == "Phoned; agreed a plan."


def test_a_late_acknowledgement_keeps_what_was_written_on_screen(world: dict[str, Any]) -> None:
    """Lead and co-facilitator both followed up: the second one's account is not lost."""
    client_for(world["lead"]).post(urls(world)["alert"], {"note": "Phoned; agreed a plan."})
    late = client_for(world["co"]).post(urls(world)["alert"], {"note": "Also texted; replied ok."})
    assert late.status_code == 409
    body = late.content.decode()
    assert "Someone has already acknowledged this alert." in body
    assert "What you wrote was not saved" in body
    assert "Also texted; replied ok." in body and "Phoned; agreed a plan." in body
    world["alert"].refresh_from_db()
    assert world["alert"].acknowledged_by == world["lead"]
    assert world["alert"].action_note == "Phoned; agreed a plan."


def test_acknowledging_twice_oneself_says_so_and_loses_nothing(world: dict[str, Any]) -> None:
    """A double press, or the form sent again: not "someone" else, and nothing to copy."""
    import html

    lead = client_for(world["lead"])
    lead.post(urls(world)["alert"], {"note": "Phoned; agreed a plan."})
    again = lead.post(urls(world)["alert"], {"note": "Phoned; agreed a plan."})
    body = html.unescape(again.content.decode())
    assert again.status_code == 409
    assert "You've already acknowledged this alert." in body
    assert "Someone has already" not in body and "What you wrote was not saved" not in body
    # Something else written the second time is still offered for copying.
    other = html.unescape(
        lead.post(urls(world)["alert"], {"note": "And e-mailed."}).content.decode()
    )
    assert "What you wrote was not saved" in other and "And e-mailed." in other


def test_too_long_an_acknowledgement_says_so_plainly(world: dict[str, Any]) -> None:
    response = client_for(world["lead"]).post(urls(world)["alert"], {"note": "x" * 2001})
    assert response.status_code == 400
    assert "Please keep the note to 2,000 characters or fewer." in response.content.decode()
    world["alert"].refresh_from_db()
    assert world["alert"].acknowledged_at is None


def test_the_report_asks_for_a_program_in_words(world: dict[str, Any]) -> None:
    page = client_for(world["coordinator"]).get("/measures/reports/").content.decode()
    assert '<option value="" selected>Choose a program</option>' in page
    assert "---------" not in page


def test_report_page_sentence_and_csv(world: dict[str, Any]) -> None:
    client = client_for(world["coordinator"])
    body = client.get(urls(world)["report"]).content.decode()
    assert "Of 2 members who started Closer" in body
    assert "There is no control group" in body
    # Completers are defined as MEASURES.md has it, by attendance as well as a follow-up score.
    assert "with a follow-up score who attended at least two meetings (completers)" in body
    csv_response = client.get(urls(world)["csv"])
    assert AuditEvent.objects.filter(
        action=AuditAction.ASSESSMENT_VIEWED, data__view="outcome_report_csv"
    ).exists()
    assert csv_response["Content-Type"].startswith("text/csv")
    assert b"Reliable improvement" in csv_response.content
    bad = client.get(
        f"/measures/reports/?program={world['program'].pk}&start=2030-01-01&end=2020-01-01"
    )
    assert bad.status_code == 400 and "on or after its start" in bad.content.decode()


def test_intake_page_walks_through_both_questionnaires(world: dict[str, Any]) -> None:
    # Led by someone licensed in New York, where the member lives.
    cohort = CohortFactory(program=world["program"], lead=LicenseFactory(state="NY").clinician.user)
    member = UserFactory()
    client = client_for(member)
    url = f"/measures/intake/{cohort.pk}/"
    first = client.get(url).content.decode()
    assert "PHQ-9" in first and "part 1 of 2" in first
    post = {f"item_{i + 1}": str(v) for i, v in enumerate(answers_for("PHQ9", 5))}
    client.post(url, post)
    second = client.get(url).content.decode()
    assert "GAD-7" in second and "part 2 of 2" in second
    # Between parts the member is told the first is saved; after the last, the page they go on
    # to says so, once.
    assert "Thank you. Your answers are saved." in second
    client.post(url, {f"item_{i + 1}": "1" for i in range(7)})
    done = client.get(url).content.decode()
    assert "that's everything we need" in done
    assert "Thank you. Your answers are saved." not in done
    assert done.count("answers are saved") == 1
    assert Assessment.objects.filter(member=member, status="completed").count() == 2


def test_no_intake_for_a_group_the_member_may_not_join(world: dict[str, Any]) -> None:
    """Answers are not taken for a therapy group whose clinician is not licensed where the member
    lives: they are sent to the group's page, which says why and shows groups they can join."""
    from circlecare.measures.models import RiskAlert

    cohort = CohortFactory(program=world["program"], lead=LicenseFactory(state="NY").clinician.user)
    member = UserFactory(home_state="WA")
    client = client_for(member)
    url = f"/measures/intake/{cohort.pk}/"
    page = client.get(url)
    assert page.status_code == 302 and page["Location"] == cohort.get_absolute_url()
    answers = {f"item_{i + 1}": str(v) for i, v in enumerate(answers_for("PHQ9", 8))}
    refused = client.post(url, answers)
    assert refused.status_code == 302 and refused["Location"] == cohort.get_absolute_url()
    # A risk answer is not stored either, and it is met with crisis resources, not a redirect.
    risky = {f"item_{i + 1}": str(v) for i, v in enumerate(answers_for("PHQ9", 20, risk=2))}
    crisis = client.post(url, risky)
    assert crisis.status_code == 200 and "988" in crisis.content.decode()
    assert not Assessment.objects.filter(member=member).exists()
    assert not RiskAlert.objects.filter(member=member).exists()
    followed = client.get(cohort.get_absolute_url()).content.decode()
    assert "Washington" in followed and "New York" in followed


def _answered_for_another_group(member: Any, kind: str, *, risk: int = 0) -> Any:
    """A group of ``kind`` (open to the factories' members) whose intake ``member`` answered."""
    lead = LicenseFactory(state="NY").clinician.user
    earlier = CohortFactory(program=ProgramFactory(kind=kind), lead=lead)
    for code in intake_codes(kind):
        answers = answers_for(code, 5, risk=risk) if code == "PHQ9" else answers_for(code, 5)
        submit_intake(member=member, cohort=earlier, instrument=code, answers=answers)
    return CohortFactory(program=ProgramFactory(kind=kind), lead=lead)


def test_answers_given_lately_for_another_group_are_offered_not_taken() -> None:
    """The intake page first asks whether to use them; only "Use my answers" copies them into
    this group, and the member goes on to the page that says everything is done."""
    member = UserFactory()
    cohort = _answered_for_another_group(member, ProgramKind.CARE_CIRCLE)
    client = client_for(member)
    url = f"/measures/intake/{cohort.pk}/?next=%2Fmy%2F"
    page = client.get(url).content.decode()
    assert "Use your recent answers?" in page and cohort.title in page
    assert "WHO-5, about your well-being" in page and "UCLA-3" in page
    assert f'href="/measures/intake/{cohort.pk}/?next=%2Fmy%2F&amp;fresh=1"' in page
    assert not Assessment.objects.filter(cohort=cohort).exists()  # asking copies nothing
    shared = client.post(url, {"share": "1"})
    assert shared.status_code == 302 and shared["Location"] == url
    done = client.get(url).content.decode()
    assert "that's everything we need" in done and 'href="/my/"' in done
    assert "Your answers are shared with this group." in done
    copies = Assessment.objects.filter(cohort=cohort, member=member, status="completed")
    assert sorted(copies.values_list("instrument", flat=True)) == ["UCLA3", "WHO5"]
    assert all(row.shared_from_id for row in copies)


def test_answering_again_asks_every_questionnaire_afresh() -> None:
    member = UserFactory()
    cohort = _answered_for_another_group(member, ProgramKind.SKILLS)
    client = client_for(member)
    url = f"/measures/intake/{cohort.pk}/?fresh=1"
    first = client.get(url).content.decode()
    assert "WHO-5" in first and "part 1 of 2" in first
    sent = client.post(url, {f"item_{i + 1}": "2" for i in range(5)})
    assert sent.status_code == 302 and sent["Location"] == url
    second = client.get(url).content.decode()
    assert "UCLA-3" in second and "Use your recent answers?" not in second
    client.post(url, {f"item_{i + 1}": "1" for i in range(3)})
    who5 = Assessment.objects.get(cohort=cohort, member=member, instrument="WHO5")
    assert who5.shared_from_id is None and who5.total == 10


def test_a_shared_risk_answer_brings_support_first() -> None:
    member = UserFactory()
    cohort = _answered_for_another_group(member, ProgramKind.THERAPY, risk=1)
    client = client_for(member)
    url = f"/measures/intake/{cohort.pk}/"
    shared = client.post(url, {"share": "1"})
    assert shared.status_code == 302
    assert shared["Location"] == f"/measures/support/?next=%2Fmeasures%2Fintake%2F{cohort.pk}%2F"
    support = client.get(shared["Location"]).content.decode()
    assert "your group's clinician or facilitator has been told" in support
    assert RiskAlert.objects.filter(cohort=cohort, member=member).count() == 1


def test_answers_too_old_to_share_by_the_time_they_are_sent_are_asked_again() -> None:
    from datetime import timedelta

    from django.utils import timezone

    member = UserFactory()
    cohort = _answered_for_another_group(member, ProgramKind.SKILLS)
    client = client_for(member)
    url = f"/measures/intake/{cohort.pk}/"
    assert "Use your recent answers?" in client.get(url).content.decode()
    Assessment.objects.filter(member=member).update(
        completed_at=timezone.now() - timedelta(days=31)
    )
    late = client.post(url, {"share": "1"})
    assert late.status_code == 302 and late["Location"] == f"{url}?fresh=1"
    page = client.get(late["Location"]).content.decode()
    assert "more than 30 days old now" in page and "WHO-5" in page
    assert not Assessment.objects.filter(cohort=cohort).exists()


def test_the_clinician_reads_a_shared_intake_as_answered_elsewhere_and_shared() -> None:
    """The chart and the alert say the answers were given while joining another group (not
    which one) and when they were shared with this one."""
    from circlecare.measures.services import share_intake

    member = UserFactory()
    cohort = _answered_for_another_group(member, ProgramKind.THERAPY, risk=1)
    share_intake(member=member, cohort=cohort)
    lead = client_for(cohort.lead)
    chart = lead.get(f"/measures/groups/{cohort.pk}/members/{member.pk}/").content.decode()
    assert chart.count("answered while joining another group, and shared with this one") == 2
    alert = RiskAlert.objects.get(cohort=cohort)
    page = lead.get(f"/measures/alerts/{alert.pk}/").content.decode()
    assert "while joining another group; they shared those answers with this group on" in page


def test_sharing_needs_the_form_token() -> None:
    member = UserFactory()
    cohort = _answered_for_another_group(member, ProgramKind.SKILLS)
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    refused = client.post(f"/measures/intake/{cohort.pk}/", {"share": "1"})
    assert refused.status_code == 403
    assert not Assessment.objects.filter(cohort=cohort).exists()


def test_an_offer_waits_while_an_old_intake_is_answered_again() -> None:
    """A waiting-list place taken when an intake for another group counted for this one too
    (before such answers were shared into the group): offered a seat after a long wait, the
    member is taken to the questions, then back to My groups, and the seat is still theirs."""
    from datetime import timedelta

    from django.urls import reverse
    from django.utils import timezone

    from circlecare.enrollment import services as seats

    cohort = CohortFactory(capacity=1)  # a skills group: open to everyone
    earlier = CohortFactory(program=cohort.program)
    seated, waiting = UserFactory(), UserFactory()
    for person in (seated, waiting):
        for code in intake_codes(cohort.program.kind):
            submit_intake(
                member=person, cohort=cohort, instrument=code, answers=answers_for(code, 5)
            )
    first = seats.enroll(member=seated, cohort=cohort)
    place = seats.enroll(member=waiting, cohort=cohort)
    Assessment.objects.filter(member=waiting).update(
        cohort=earlier, completed_at=timezone.now() - timedelta(days=31)
    )
    seats.withdraw(enrollment=first)
    place.refresh_from_db()
    assert place.status == "offered"

    client = client_for(waiting)
    accept = reverse("enrollment:accept", args=[place.pk])
    sent = client.post(accept)
    intake = f"/measures/intake/{cohort.pk}/?next=%2Fmy%2F"
    assert sent.status_code == 302 and sent["Location"] == intake
    place.refresh_from_db()
    assert place.status == "offered"
    for code in intake_codes(cohort.program.kind):
        count = len(get(code).items)
        client.post(intake, {f"item_{i + 1}": "1" for i in range(count)})
    done = client.get(intake).content.decode()
    assert 'href="/my/"' in done
    assert client.post(accept)["Location"] == "/my/"
    place.refresh_from_db()
    assert place.status == "confirmed"


def test_group_panel_lists_what_is_due(world: dict[str, Any]) -> None:
    from django.template.loader import render_to_string

    html = render_to_string(
        "measures/_member_group_panel.html",
        {"cohort": world["cohort"], "user": world["member"], "enrollment": None},
    )
    assert f"/measures/questionnaire/{world['due'].pk}/" in html


def test_withdrawn_members_stay_on_the_overview(world: dict[str, Any]) -> None:
    left = EnrollmentFactory(cohort=world["cohort"], status=EnrollmentStatus.WITHDRAWN)
    body = client_for(world["lead"]).get(urls(world)["cohort"]).content.decode()
    assert left.member.display_name in body


def test_a_member_back_in_the_group_is_not_shown_as_withdrawn(world: dict[str, Any]) -> None:
    """Left, then joined again: the overview shows where they stand now."""
    back = UserFactory(display_name="Rejoined member")
    EnrollmentFactory(cohort=world["cohort"], member=back, status=EnrollmentStatus.WITHDRAWN)
    EnrollmentFactory(cohort=world["cohort"], member=back)
    body = client_for(world["lead"]).get(urls(world)["cohort"]).content.decode()
    row = re.search(r"Rejoined member</a>(.*?)</th>", body, re.S)
    assert row is not None
    assert "Withdrawn" not in row.group(1)


def test_a_chart_mixing_demo_and_real_scores_does_not_call_them_all_made_up(
    world: dict[str, Any],
) -> None:
    cohort, member = world["cohort"], world["member"]
    completed(member=member, cohort=cohort, code="GAD7", total=12, week=0, synthetic=True)
    body = client_for(world["lead"]).get(urls(world)["member"]).content.decode()
    assert "Demo data: some of these scores are made up." in body
    assert "these scores are made up." not in body.replace("some of these", "")


def _charts(body: str, source: str) -> list[dict[str, Any]]:
    data = re.search(rf'id="{source}"[^>]*>(.*?)</script>', body, re.S)
    assert data is not None
    charts: list[dict[str, Any]] = json.loads(data[1])
    return charts


def test_each_chart_on_a_member_chart_is_drawn_under_its_own_questionnaire() -> None:
    """A questionnaire with no scores yet comes first: the ones after it still get their own
    figures, not a neighbour's."""
    program = ProgramFactory(kind=ProgramKind.THERAPY, weeks=6)
    MeasurementPlan.objects.create(program=program, weekly_instruments="WHO5,PHQ9,GAD7")
    cohort = CohortFactory(program=program)
    member = EnrollmentFactory(cohort=cohort).member
    completed(member=member, cohort=cohort, code="PHQ9", total=15, week=0)
    completed(member=member, cohort=cohort, code="GAD7", total=3, week=0)
    body = client_for(cohort.lead).get(f"/measures/groups/{cohort.pk}/members/{member.pk}/")
    page = body.content.decode()
    charts = _charts(page, "clinician-charts")
    drawn = re.findall(r'<h2 id="track-(\w+)".*?(?:data-index="(\d+)"|</section>)', page, re.S)
    assert [code for code, _ in drawn] == ["WHO5", "PHQ9", "GAD7"]
    for code, index in drawn:
        if index:
            assert charts[int(index)]["code"] == code
            assert charts[int(index)]["values"]
    assert [code for code, index in drawn if index] == ["PHQ9", "GAD7"]


def test_a_member_chart_shows_the_intake_whatever_the_plan_asks_weekly() -> None:
    """A therapy plan asking only the WHO-5 weekly: the PHQ-9 intake with its risk answer,
    which raised the alert that links here, is still on the chart."""
    program = ProgramFactory(kind=ProgramKind.THERAPY, weeks=6)
    MeasurementPlan.objects.create(program=program, weekly_instruments="WHO5")
    cohort = CohortFactory(program=program)
    member = EnrollmentFactory(cohort=cohort).member
    completed(member=member, cohort=cohort, code="PHQ9", total=12, week=0, risk=2)
    completed(member=member, cohort=cohort, code="GAD7", total=9, week=0)
    page = client_for(cohort.lead).get(f"/measures/groups/{cohort.pk}/members/{member.pk}/")
    body = page.content.decode()
    assert re.findall(r'<h2 id="track-(\w+)"', body) == ["WHO5", "PHQ9", "GAD7"]
    assert "Risk answer on the latest PHQ-9" in body
    # And the group overview puts them first, with the risk.
    calm = EnrollmentFactory(cohort=cohort, member__display_name="Aaron").member
    completed(member=calm, cohort=cohort, code="PHQ9", total=3, week=0)
    overview = client_for(cohort.lead).get(f"/measures/groups/{cohort.pk}/").content.decode()
    row = re.search(rf"{member.display_name}</a>.*?</tr>", overview, re.S)
    assert row is not None and "Risk answer on the latest PHQ-9" in row[0]
    assert overview.index(member.display_name) < overview.index("Aaron")


def test_chart_dates_are_the_viewers_dates_as_in_the_table() -> None:
    """Answered at 10:30 UTC on 10 March: already 11 March on Kiritimati (UTC+14), still
    9 March in Pago Pago (UTC−11)."""
    cohort = CohortFactory(program=ProgramFactory(kind=ProgramKind.THERAPY, weeks=6))
    member = EnrollmentFactory(cohort=cohort, member__time_zone="Pacific/Kiritimati").member
    when = datetime(2026, 3, 10, 10, 30, tzinfo=UTC)
    completed(member=member, cohort=cohort, code="PHQ9", total=15, week=0, when=when)
    page = client_for(member).get("/measures/progress/").content.decode()
    assert "<td>11 Mar 2026</td>" in page
    assert _charts(page, f"member-charts-{cohort.pk}")[0]["labels"] == ["11 Mar"]
    lead = cohort.lead
    lead.time_zone = "Pacific/Pago_Pago"
    lead.save(update_fields=["time_zone"])
    url = f"/measures/groups/{cohort.pk}/members/{member.pk}/"
    chart = client_for(lead).get(url).content.decode()
    assert "<td>9 Mar 2026</td>" in chart
    assert _charts(chart, "clinician-charts")[0]["labels"] == ["09 Mar"]


def test_member_fhir_download(world: dict[str, Any]) -> None:
    response = client_for(world["member"]).get("/measures/progress/fhir/")
    assert response["Content-Type"] == "application/fhir+json"
    assert b"44261-6" in response.content


def test_intake_page_for_a_group_not_taking_members_is_not_found(world: dict[str, Any]) -> None:
    from circlecare.programs.models import CohortStatus

    draft = CohortFactory(program=world["program"], status=CohortStatus.DRAFT)
    assert client_for(world["member"]).get(f"/measures/intake/{draft.pk}/").status_code == 404


def test_every_measures_route_is_covered_by_an_access_test(world: dict[str, Any]) -> None:
    """A new page must be added to the matrix above (or to the member-only list below)."""
    from django.urls import get_resolver

    resolver = get_resolver()
    _, sub = resolver.namespace_dict["measures"]
    names = {p.name for p in sub.url_patterns}
    matrix = {
        "take": "take",
        "cohort": "cohort",
        "member": "member",
        "member_fhir": "member_fhir",
        "alerts": "alerts",
        "alert": "alert",
        "report": "report",
        "csv": "report_csv",
    }
    # Pages about the signed-in member themselves, or public: checked below.
    own_or_public = {"due", "support", "progress", "my_fhir", "intake", "clinician_home"}
    assert names == set(matrix.values()) | own_or_public


def test_own_pages_show_only_the_signed_in_members_data(world: dict[str, Any]) -> None:
    other = client_for(world["other_member"])
    assert (
        f"/measures/questionnaire/{world['due'].pk}/"
        not in other.get("/measures/").content.decode()
    )
    progress = other.get("/measures/progress/").content.decode()
    assert "gone down by 8" not in progress
    bundle = other.get("/measures/progress/fhir/").content.decode()
    assert f"Patient/{world['member'].pk}" not in bundle
    assert Client().get("/measures/support/").status_code == 200
    # Clinician home: only for people who lead a group (or coordinators).
    assert client_for(world["stranger"]).get("/measures/groups/").status_code == 404
    assert client_for(world["lead"]).get("/measures/groups/").status_code == 200


def _intake_risk_alert() -> tuple[Any, Any, RiskAlert]:
    """Someone joining a therapy group gives a risk answer on its intake, before any seat."""
    program = ProgramFactory(kind=ProgramKind.THERAPY, weeks=6)
    cohort = CohortFactory(program=program, lead=LicenseFactory(state="NY").clinician.user)
    member = UserFactory(home_state="NY")
    client_for(member).post(
        f"/measures/intake/{cohort.pk}/",
        {f"item_{i + 1}": str(v) for i, v in enumerate(answers_for("PHQ9", 20, risk=2))},
    )
    return cohort, member, RiskAlert.objects.get(member=member)


def test_an_alert_raised_while_joining_leads_to_a_chart_its_clinician_can_open() -> None:
    cohort, member, alert = _intake_risk_alert()
    lead = client_for(cohort.lead)
    page = lead.get(f"/measures/alerts/{alert.pk}/").content.decode()
    chart_url = f"/measures/groups/{cohort.pk}/members/{member.pk}/"
    assert f'href="{chart_url}"' in page
    chart = lead.get(chart_url)
    assert chart.status_code == 200
    assert member.display_name in chart.content.decode()
    assert lead.get(chart_url + "fhir/").status_code == 200
    # Nobody else's: another clinician, and a member of no concern to this group.
    assert client_for(CohortFactory().lead).get(chart_url).status_code == 404
    stranger = UserFactory()
    assert lead.get(f"/measures/groups/{cohort.pk}/members/{stranger.pk}/").status_code == 404


def test_the_alert_page_says_where_the_member_stands_and_how_to_reach_them(
    world: dict[str, Any],
) -> None:
    alert = world["alert"]
    member = world["other_member"]
    lead = client_for(world["lead"])
    page = lead.get(f"/measures/alerts/{alert.pk}/").content.decode()
    assert "A member of the group." in page
    assert f'href="mailto:{member.email}"' in page
    assert world["member"].email not in page
    enrollment = member.enrollments.get(cohort=world["cohort"])
    enrollment.status = EnrollmentStatus.WITHDRAWN
    enrollment.save(update_fields=["status"])
    left = lead.get(f"/measures/alerts/{alert.pk}/").content.decode()
    assert "No longer in the group: left the group." in left
    _cohort, joining, intake_alert = _intake_risk_alert()
    page = client_for(_cohort.lead).get(f"/measures/alerts/{intake_alert.pk}/").content.decode()
    assert "Not yet: they answered while joining" in page
    assert f'href="mailto:{joining.email}"' in page


def test_the_alert_page_says_how_often_the_member_had_those_thoughts(
    world: dict[str, Any],
) -> None:
    """Several days or nearly every day: the answer itself guides how soon to reach out."""
    lead = client_for(world["lead"])
    page = lead.get(f"/measures/alerts/{world['alert'].pk}/").content.decode()
    assert "answered “Several days”, on" in page
    # A risk answer that could not be stored: its level is not known, and not guessed.
    unsaved = AssessmentFactory(member=world["member"], cohort=world["cohort"], meeting_week=5)
    alert = risk_answer_not_saved(assessment=unsaved, actor=world["member"])
    assert alert is not None
    page = lead.get(f"/measures/alerts/{alert.pk}/").content.decode()
    assert "answered above “not at all”, on" in page


def test_group_overview_tables_say_when_nobody_has_a_follow_up_yet() -> None:
    cohort = CohortFactory(program=ProgramFactory(kind=ProgramKind.THERAPY, weeks=6))
    for _ in range(3):
        member = EnrollmentFactory(cohort=cohort).member
        completed(member=member, cohort=cohort, code="PHQ9", total=14, week=0)
    body = client_for(cohort.lead).get(f"/measures/groups/{cohort.pk}/").content.decode()
    assert "0 of 3: 0.0% (0.0–56.2); nobody has a follow-up score yet" in body
    assert "no follow-up scores yet" in body


def _waiting(cohort: Any, name: str, *, answered: bool, **fields: Any) -> Any:
    place = EnrollmentFactory(
        cohort=cohort,
        member=UserFactory(display_name=name),
        status=fields.pop("status", EnrollmentStatus.WAITLISTED),
        confirmed_at=None,
        **fields,
    )
    if answered:
        completed(member=place.member, cohort=cohort, code="PHQ9", total=12, week=0)
    return place


def test_overview_lists_waiting_members_who_answered_the_intake(world: dict[str, Any]) -> None:
    cohort = world["cohort"]
    now = timezone.now()
    second = _waiting(cohort, "Waiting second", answered=True, queued_at=now)
    first = _waiting(
        cohort,
        "Waiting first",
        answered=True,
        status=EnrollmentStatus.OFFERED,
        queued_at=now - timedelta(days=1),
        offered_at=now,
        offer_expires_at=now + timedelta(days=1),
    )
    _waiting(cohort, "Waiting, no intake", answered=False, queued_at=now)
    elsewhere = _waiting(CohortFactory(lead=cohort.lead), "Waits elsewhere", answered=True)
    client = client_for(world["lead"])
    response = client.get(urls(world)["cohort"])
    assert [place.member for place in response.context["waiting"]] == [first.member, second.member]
    body = response.content.decode()
    section = body[body.index('id="waiting-intake"') : body.index('id="checkin-trends"')]
    for place in (first, second):
        chart = f"/measures/groups/{cohort.pk}/members/{place.member.pk}/"
        assert f'<a href="{chart}">{place.member.display_name}</a>' in section
        assert client.get(chart).status_code == 200
    assert "Seat offered" in section and "On the waiting list" in section
    assert "Waiting, no intake" not in body and elsewhere.member.display_name not in body
    assert world["member"].display_name not in section


def test_when_a_waiting_member_answered_is_given_in_the_viewers_zone(
    world: dict[str, Any],
) -> None:
    from circlecare.meetings.schedule import format_local

    lead = world["lead"]
    lead.time_zone = "America/Los_Angeles"
    lead.save(update_fields=["time_zone"])
    place = _waiting(world["cohort"], "Waiting late", answered=True)
    answered = Assessment.objects.get(member=place.member).completed_at
    body = client_for(lead).get(urls(world)["cohort"]).content.decode()
    section = body[body.index('id="waiting-intake"') : body.index('id="checkin-trends"')]
    assert "answered <time" in section
    assert format_local(answered, "America/Los_Angeles") in section


def test_waiting_list_section_runs_a_fixed_number_of_queries(world: dict[str, Any]) -> None:
    client = client_for(world["lead"])
    url = urls(world)["cohort"]
    _waiting(world["cohort"], "Waiting 0", answered=True)
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for n in range(1, 4):
        _waiting(world["cohort"], f"Waiting {n}", answered=True)
    with CaptureQueriesContext(connection) as four:
        response = client.get(url)
    assert len(response.context["waiting"]) == 4
    assert len(four) == len(one)


def test_intake_answers_sent_twice_are_not_stored_as_the_next_questionnaire(
    world: dict[str, Any],
) -> None:
    """Pressing "Send" twice (or sending from a second tab) posts the PHQ-9 again after it was
    saved: those answers are not the GAD-7's, so they are not stored as its answers. A risk
    answer among them still brings crisis resources, and the clinician is told."""
    cohort = CohortFactory(program=world["program"], lead=LicenseFactory(state="NY").clinician.user)
    member = UserFactory()
    client = client_for(member)
    url = f"/measures/intake/{cohort.pk}/"
    form = client.get(url).content.decode()
    assert 'name="instrument" value="PHQ9"' in form
    phq9 = {"instrument": "PHQ9"} | {
        f"item_{i + 1}": str(v) for i, v in enumerate(answers_for("PHQ9", 5))
    }
    assert client.post(url, phq9).status_code == 302
    again = client.post(url, phq9)
    assert again.status_code == 302 and again["Location"] == url
    assert not Assessment.objects.filter(
        member=member, cohort=cohort, instrument="GAD7", status=AssessmentStatus.COMPLETED
    ).exists()
    assert "already been sent" in client.get(url).content.decode()
    risky = {"instrument": "PHQ9"} | {
        f"item_{i + 1}": str(v) for i, v in enumerate(answers_for("PHQ9", 20, risk=2))
    }
    crisis = client.post(url, risky)
    assert crisis.status_code == 200 and "988" in crisis.content.decode()
    assert RiskAlert.objects.get(member=member, cohort=cohort).answer_saved is False
    assert not Assessment.objects.filter(
        member=member, cohort=cohort, instrument="GAD7", status=AssessmentStatus.COMPLETED
    ).exists()
    # Once everything is answered, a late copy of a questionnaire is not quietly dropped either.
    gad7 = {"instrument": "GAD7"} | {f"item_{i + 1}": "1" for i in range(7)}
    assert client.post(url, gad7).status_code == 302
    late = client.post(url, gad7)
    assert late.status_code == 302 and late["Location"] == url
    assert "already been sent" in client.get(url).content.decode()


def _idle_for_two_hours(client: Client) -> Client:
    """A signed-in client whose last request was two hours ago (past the idle limit)."""
    import time

    from circlecare.accounts.security import LAST_SEEN

    session = client.session
    session[LAST_SEEN] = time.time() - 2 * 60 * 60
    session.save()
    return client


def test_a_risk_answer_sent_after_an_idle_sign_out_brings_support_and_tells_the_clinician(
    world: dict[str, Any],
) -> None:
    """Nothing can be saved once the session has ended, but the crisis page comes first, not
    the sign-in page, and the questionnaire's group is told."""
    import html

    client = _idle_for_two_hours(client_for(world["member"]))
    url = f"/measures/questionnaire/{world['due'].pk}/"
    risky = {f"item_{i + 1}": str(v) for i, v in enumerate(answers_for("PHQ9", 12, risk=2))}
    page = client.post(url, risky)
    text = html.unescape(page.content.decode())
    assert page.status_code == 200 and 'href="tel:988"' in text
    assert "You were signed out after a while without activity" in text
    assert "has been told how you answered the question about hurting yourself" in text
    alert = RiskAlert.objects.get(assessment=world["due"])
    assert not alert.answer_saved
    world["due"].refresh_from_db()
    assert world["due"].status == AssessmentStatus.DUE
    assert client.get("/my/")["Location"].startswith("/accounts/login/")


def test_a_risk_answer_after_an_idle_sign_out_on_a_questionnaire_taken_back_is_still_told(
    world: dict[str, Any],
) -> None:
    import html

    client = client_for(world["member"])
    url = f"/measures/questionnaire/{world['due'].pk}/"
    asked = _asked(client.get(url))
    Assessment.objects.filter(pk=world["due"].pk).delete()
    _idle_for_two_hours(client)
    risky = {f"item_{i + 1}": str(v) for i, v in enumerate(answers_for("PHQ9", 12, risk=1))}
    text = html.unescape(client.post(url, {**risky, "asked": asked}).content.decode())
    assert "You were signed out after a while without activity" in text
    assert "has been told how you answered the question about hurting yourself" in text
    alert = RiskAlert.objects.get(member=world["member"], assessment__isnull=True)
    assert alert.cohort == world["cohort"] and not alert.answer_saved


def test_other_answers_after_an_idle_sign_out_go_to_the_sign_in_page(world: dict[str, Any]) -> None:
    client = _idle_for_two_hours(client_for(world["member"]))
    calm = {f"item_{i + 1}": "0" for i in range(9)}
    sent = client.post(f"/measures/questionnaire/{world['due'].pk}/", calm)
    assert sent.status_code == 302 and sent["Location"].startswith("/accounts/login/")
    assert RiskAlert.objects.filter(assessment=world["due"]).count() == 0


def test_someone_who_only_waited_for_a_seat_is_not_listed_as_a_member(
    world: dict[str, Any],
) -> None:
    """The overview lists everyone who held a seat. Leaving the waiting list, or declining an
    offered seat, is not leaving the group: that person was never in it."""
    cohort = world["cohort"]
    waited = UserFactory(display_name="Only waited")
    EnrollmentFactory(
        cohort=cohort, member=waited, status=EnrollmentStatus.WITHDRAWN, confirmed_at=None
    )
    seated = UserFactory(display_name="Seated then waited")
    EnrollmentFactory(cohort=cohort, member=seated, status=EnrollmentStatus.WITHDRAWN)
    # Back on the waiting list later, and then declined the seat offered.
    EnrollmentFactory(
        cohort=cohort, member=seated, status=EnrollmentStatus.WITHDRAWN, confirmed_at=None
    )
    response = client_for(world["lead"]).get(urls(world)["cohort"])
    names = [row.member.display_name for row in response.context["rows"]]
    assert "Only waited" not in names
    assert "Only waited" not in response.content.decode()
    # Whoever held a seat stays, shown by the seat they held.
    [row] = [r for r in response.context["rows"] if r.member == seated]
    assert row.enrollment.confirmed_at is not None


@pytest.mark.parametrize("sent", ["4", str(2**63)])
def test_a_ninth_answer_no_button_offers_raises_no_alert(world: dict[str, Any], sent: str) -> None:
    """Only answers the question offers (1 to 3) are risk answers: a forged value is refused
    with the form's message, and no clinician is alerted by it, signed in or signed out."""
    url = f"/measures/questionnaire/{world['due'].pk}/"
    forged = {f"item_{i + 1}": "0" for i in range(8)} | {"item_9": sent}
    page = client_for(world["member"]).post(url, forged)
    assert page.status_code == 400 and not page.context.get("show_crisis")
    signed_out = _idle_for_two_hours(client_for(world["member"])).post(url, forged)
    assert signed_out.status_code == 302 and signed_out["Location"].startswith("/accounts/login/")
    assert RiskAlert.objects.filter(assessment=world["due"]).count() == 0
