"""The clinician workspace: my groups, today's and this week's meetings, alerts, overdue
questionnaires, rosters with attendance and links to each member's chart."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from circlecare.audit.models import AuditAction, AuditEvent
from circlecare.clinic import services
from circlecare.clinic.models import GroupNote
from circlecare.measures.models import AssessmentStatus, RiskAlert
from circlecare.programs.models import CohortStatus
from tests.clinic.factories import Scene, ago_today, coordinator, started_meeting
from tests.factories import CohortFactory, EnrollmentFactory, UserFactory
from tests.measures.factories import AssessmentFactory
from tests.meetings.factories import meeting_at, member_of

pytestmark = pytest.mark.django_db

URL = reverse("clinic:home")


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _alert(scene: Scene, member: Any) -> RiskAlert:
    assessment = AssessmentFactory(
        cohort=scene.cohort, member=member, due_at=timezone.now() + timedelta(days=1)
    )
    return RiskAlert.objects.create(
        assessment=assessment,
        member=member,
        cohort=scene.cohort,
        assignee=scene.lead,
        raised_at=timezone.now() - timedelta(minutes=5),
    )


def _busy_scene() -> Scene:
    scene = started_meeting(name="Tuesday evenings", ago=ago_today())
    meeting_at(scene.cohort, timezone.now() + timedelta(days=3), number=2)
    _alert(scene, scene.attendees[0])
    AssessmentFactory(
        cohort=scene.cohort,
        member=scene.absent,
        status=AssessmentStatus.DUE,
        due_at=timezone.now() - timedelta(days=2, minutes=1),
        instrument="GAD7",
    )
    return scene


def test_lead_sees_their_groups_meetings_alerts_overdue_and_rosters() -> None:
    scene = _busy_scene()
    other = started_meeting(name="Someone else's group")
    response = _client(scene.lead).get(URL)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    ws = response.context["ws"]

    assert [p.cohort for p in ws.cohorts] == [scene.cohort]
    assert [m.pk for m in ws.today] == [scene.meeting.pk]
    assert [m.number for m in ws.week] == [2]
    assert reverse("clinic:notes", args=[scene.meeting.pk]) in page
    assert "Someone else" not in page
    assert reverse("clinic:notes", args=[other.meeting.pk]) not in page

    assert f"{scene.attendees[0].display_name} needs follow-up" in page
    assert [a.member for a in ws.overdue] == [scene.absent]
    # Named as clinicians call it, not by its code.
    assert "<td>GAD-7 (" in page and "GAD7" not in page

    roster = {row.member: row for row in ws.cohorts[0].roster}
    assert set(roster) == {*scene.attendees, scene.absent}
    assert roster[scene.attendees[0]].present == 1
    assert roster[scene.absent].present == 0
    assert roster[scene.absent].counts == {"absent": 1}
    assert "1 of 1" in page
    chart = reverse("measures:member", args=[scene.cohort.pk, scene.absent.pk])
    assert chart in page
    # What they run between meetings: the programme they may adapt, and the care overview.
    programme = reverse("care:programme", kwargs={"cohort_id": scene.cohort.pk})
    assert programme in page and _client(scene.lead).get(programme).status_code == 200
    assert reverse("care:facilitate", kwargs={"cohort_id": scene.cohort.pk}) in page


def test_acknowledged_alerts_and_answered_questionnaires_are_not_listed() -> None:
    scene = _busy_scene()
    RiskAlert.objects.update(acknowledged_at=timezone.now(), acknowledged_by=scene.lead)
    ws = _client(scene.lead).get(URL).context["ws"]
    assert ws.alerts == []
    AssessmentFactory(
        cohort=scene.cohort,
        member=scene.attendees[1],
        status=AssessmentStatus.DUE,
        due_at=timezone.now() + timedelta(days=1),
    )
    # Opened an hour ago, or most of two days ago: open, not late (a weekly one opens two days
    # before its meeting).
    for week, opened in ((5, timedelta(hours=1)), (6, timedelta(days=2) - timedelta(minutes=5))):
        AssessmentFactory(
            cohort=scene.cohort,
            member=scene.attendees[0],
            status=AssessmentStatus.DUE,
            due_at=timezone.now() - opened,
            meeting_week=week,
        )
    ws = _client(scene.lead).get(URL).context["ws"]
    assert [a.member for a in ws.overdue] == [scene.absent]


def test_co_facilitator_sees_the_group() -> None:
    scene = _busy_scene()
    co = UserFactory()
    scene.cohort.co_facilitator = co
    scene.cohort.save()
    ws = _client(co).get(URL).context["ws"]
    assert [p.cohort for p in ws.cohorts] == [scene.cohort]
    assert len(ws.alerts) == 1


def test_coordinator_sees_every_active_group_without_chart_links() -> None:
    first = _busy_scene()
    second = started_meeting(ago=ago_today())
    CohortFactory(status=CohortStatus.CANCELLED)
    response = _client(coordinator()).get(URL)
    ws = response.context["ws"]
    assert {p.cohort for p in ws.cohorts} == {first.cohort, second.cohort}
    assert not any(p.leads for p in ws.cohorts)
    chart = reverse("measures:member", args=[first.cohort.pk, first.absent.pk])
    assert chart not in response.content.decode()
    # The programme pages are for those who lead a group (and its members): not linked here.
    programme = reverse("care:programme", kwargs={"cohort_id": first.cohort.pk})
    assert programme not in response.content.decode()
    assert len(ws.today) == 2


def test_each_roster_table_is_named_after_its_own_group() -> None:
    # Two groups of one programme: on a phone each roster scrolls in a box named after its
    # caption, and a screen reader's list of tables tells them apart only by the group's name.
    first = started_meeting(name="Tuesday evenings", ago=ago_today())
    second = started_meeting(
        name="Thursday lunchtimes", program=first.cohort.program, ago=ago_today()
    )
    page = _client(coordinator()).get(URL).content.decode()
    captions = re.findall(r'<caption class="visually-hidden">(Members of [^<]*)</caption>', page)
    title = first.cohort.program.title
    assert sorted(captions) == [
        f"Members of {title} — {name} and their attendance"
        for name in sorted([first.cohort.name, second.cohort.name])
    ]


def test_members_and_anonymous_do_not_get_the_workspace() -> None:
    scene = _busy_scene()
    assert _client(scene.attendees[0]).get(URL).status_code == 404
    assert _client(UserFactory()).get(URL).status_code == 404
    anonymous = Client().get(URL)
    assert anonymous.status_code == 302
    assert "/accounts/login/" in anonymous["Location"]


def test_facilitator_without_groups_sees_an_empty_workspace() -> None:
    _busy_scene()
    facilitator = UserFactory(is_facilitator=True)
    response = _client(facilitator).get(URL)
    assert response.status_code == 200
    assert "You don't lead any groups yet." in response.content.decode()
    assert response.context["ws"].alerts == []


def test_workspace_query_count_does_not_grow_with_groups_or_members(
    django_assert_num_queries: Any,
) -> None:
    scene = _busy_scene()
    client = _client(scene.lead)
    client.get(URL)
    # Session read, user, access check, cohorts, meetings, alerts, overdue questionnaires,
    # my draft group and individual notes, roster, attendance counts, and one audit insert per
    # alert listed. (The session is written
    # at most once a minute, so a quick second visit does not write it.)
    with django_assert_num_queries(10 + 1):
        client.get(URL)

    more = CohortFactory(lead=scene.lead, status=CohortStatus.RUNNING)
    for _ in range(3):
        member_of(more)
        EnrollmentFactory(cohort=scene.cohort, member=UserFactory())
    meeting_at(more, timezone.now() + timedelta(days=1), number=1)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(URL)
    assert len(ctx) == 10 + 1
    assert len(response.context["ws"].cohorts) == 2


def test_listing_open_alerts_is_audited_once_each() -> None:
    scene = _busy_scene()
    second = _alert(scene, scene.attendees[1])
    _client(scene.lead).get(URL)
    events = AuditEvent.objects.filter(action=AuditAction.ALERT_VIEWED)
    assert sorted(e.target_id for e in events) == sorted(str(a.pk) for a in RiskAlert.objects.all())
    assert {e.actor for e in events} == {scene.lead}
    assert str(second.pk) in {e.target_id for e in events}
    assert all(e.data == {"view": "workspace"} for e in events)


def test_the_alerts_waiting_longest_are_listed_first_and_never_cut_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from circlecare.clinic import queries
    from circlecare.measures import views as measures_views

    monkeypatch.setattr(queries, "ALERTS_SHOWN", 2)
    monkeypatch.setattr(measures_views, "OPEN_ALERTS_SHOWN", 2)
    scene = started_meeting(name="Tuesday evenings", ago=ago_today())
    members = [*scene.attendees, scene.absent]
    alerts = [_alert(scene, member) for member in members[:3]]
    for hours, alert in zip((30, 2, 10), alerts, strict=True):
        RiskAlert.objects.filter(pk=alert.pk).update(
            raised_at=timezone.now() - timedelta(hours=hours)
        )
    oldest, newest, middle = alerts
    client = _client(scene.lead)
    response = client.get(URL)
    assert [a.pk for a in response.context["ws"].alerts] == [oldest.pk, middle.pk]
    assert "more are waiting in the whole queue" in response.content.decode()
    queue = client.get(reverse("measures:alerts"))
    assert [a.pk for a in queue.context["open_alerts"]] == [oldest.pk, middle.pk]
    assert "Needs follow-up (3)" in queue.content.decode()
    RiskAlert.objects.filter(pk=oldest.pk).update(
        acknowledged_at=timezone.now(), acknowledged_by=scene.lead
    )
    response = client.get(URL)
    assert [a.pk for a in response.context["ws"].alerts] == [middle.pk, newest.pk]
    assert "more are waiting" not in response.content.decode()
    assert "Needs follow-up (2)" in client.get(reverse("measures:alerts")).content.decode()


def _drafts_scene() -> dict[str, Any]:
    """Two groups led by one clinician, with notes in every state."""
    older = started_meeting(ago=timedelta(days=5), name="Monday mornings")
    recent = started_meeting(ago=timedelta(days=2), name="Tuesday evenings", lead=older.lead)
    lead = older.lead
    services.save_group_note(meeting=older.meeting, text="Older group draft", actor=lead)
    services.save_group_note(meeting=recent.meeting, text="Recent group", actor=lead)
    first, second = services.create_individual_notes(meeting=recent.meeting, actor=lead)
    services.save_individual_note(note=first, text="Signed and done", actor=lead)
    services.sign_note(note=first, actor=lead)
    signed_group = GroupNote.objects.get(meeting=recent.meeting)
    services.sign_note(note=signed_group, actor=lead)
    amendment = services.amend_note(note=signed_group, actor=lead)
    # Someone else's draft in the lead's group, and the lead's draft of a meeting still running.
    co = UserFactory(is_facilitator=True)
    recent.cohort.co_facilitator = co
    recent.cohort.save()
    services.save_group_note(
        meeting=meeting_at(recent.cohort, timezone.now() - timedelta(days=1), number=2),
        text="The co-facilitator's draft",
        actor=co,
    )
    running = meeting_at(older.cohort, timezone.now() - timedelta(minutes=10), number=2)
    services.save_group_note(meeting=running, text="Written during the meeting", actor=lead)
    elsewhere = started_meeting(ago=timedelta(days=7))
    services.save_group_note(meeting=elsewhere.meeting, text="Theirs", actor=elsewhere.lead)
    return {
        "lead": lead,
        "older": older,
        "recent": recent,
        "second": second,
        "amendment": amendment,
    }


def test_workspace_lists_my_unsigned_notes_from_past_meetings_oldest_first() -> None:
    s = _drafts_scene()
    response = _client(s["lead"]).get(URL)
    drafts = response.context["ws"].drafts
    older_group = GroupNote.objects.get(meeting=s["older"].meeting)
    assert drafts == [older_group, s["amendment"], s["second"]]
    page = response.content.decode()
    assert f'href="{reverse("clinic:notes", args=[s["older"].meeting.pk])}#group-heading"' in page
    second_link = reverse("clinic:notes", args=[s["recent"].meeting.pk])
    assert f'href="{second_link}#member-{s["second"].member_id}"' in page
    assert f"Note for {s['second'].member.display_name}</a>" in page
    assert "Group note, amendment 1</a>" in page
    # The list names the notes; it does not show what they say.
    assert "Older group draft" not in page and "Recent group" not in page
    assert not AuditEvent.objects.filter(action=AuditAction.NOTE_VIEWED).exists()


def test_someone_without_drafts_is_told_so() -> None:
    _drafts_scene()
    response = _client(coordinator()).get(URL)
    assert response.context["ws"].drafts == []
    assert "No unsigned notes from past meetings." in response.content.decode()


def test_draft_list_query_count_does_not_grow_with_drafts(
    django_assert_num_queries: Any,
) -> None:
    s = _drafts_scene()
    client = _client(s["lead"])
    client.get(URL)
    with CaptureQueriesContext(connection) as first:
        client.get(URL)
    for days in (3, 4):
        extra = started_meeting(ago=timedelta(days=days), lead=s["lead"])
        services.save_group_note(meeting=extra.meeting, text="More", actor=s["lead"])
        services.create_individual_notes(meeting=extra.meeting, actor=s["lead"])
    with django_assert_num_queries(len(first)):
        response = client.get(URL)
    assert len(response.context["ws"].drafts) == 9


def test_a_meeting_ended_early_lists_its_unsigned_notes_at_once() -> None:
    """Planned for 90 minutes, ended by its clinician after 30: its notes are from a past
    meeting now, not in an hour's time."""
    scene = started_meeting(ago=timedelta(minutes=35), program__minutes_per_meeting=90)
    services.save_group_note(meeting=scene.meeting, text="Ended early", actor=scene.lead)
    client = _client(scene.lead)
    assert client.get(URL).context["ws"].drafts == []  # still running
    scene.meeting.ended_at = timezone.now() - timedelta(minutes=5)
    scene.meeting.save(update_fields=["ended_at"])
    drafts = client.get(URL).context["ws"].drafts
    assert drafts == [GroupNote.objects.get(meeting=scene.meeting)]


def test_a_meeting_ended_in_its_early_window_counts_as_held() -> None:
    """Its leader opened the room before the start and ended it for everyone: it is over, and
    the members with seats could have been at it."""
    from circlecare.meetings.models import Attendance, AttendanceStatus

    now = timezone.now()
    cohort = CohortFactory(status=CohortStatus.RUNNING)
    first = meeting_at(cohort, now - timedelta(weeks=1), number=1)
    early = meeting_at(cohort, now + timedelta(minutes=5), number=2, ended_at=now)
    member = member_of(cohort, seated_since=now - timedelta(weeks=2), display_name="Member")
    for meeting in (first, early):
        Attendance.objects.create(
            meeting=meeting, member=member, status=AttendanceStatus.ATTENDED, at=now
        )
    other = member_of(cohort, seated_since=now - timedelta(weeks=2), display_name="Other")
    Attendance.objects.create(
        meeting=first, member=other, status=AttendanceStatus.ATTENDED, at=first.starts_at
    )
    panel = _client(cohort.lead).get(URL).context["ws"].cohorts[0]
    assert panel.held == 2
    rows = {row.member: row for row in panel.roster}
    assert (rows[member].present, rows[member].could_attend) == (2, 2)
    assert (rows[other].present, rows[other].could_attend) == (1, 2)


def test_attendance_is_counted_out_of_the_meetings_each_member_held_a_seat_for() -> None:
    """A member who took a seat after the group's first meetings could not have been at them:
    "1 of 3" would read as two missed. Each member's count is out of the meetings held while
    they had a seat (the meetings whose attendance sheets list them), as the sheets do."""
    from circlecare.meetings.models import Attendance, AttendanceStatus

    now = timezone.now()
    cohort = CohortFactory(status=CohortStatus.RUNNING)
    meetings = [
        meeting_at(cohort, now - timedelta(weeks=3 - n, hours=2), number=n) for n in (1, 2, 3)
    ]
    early = member_of(cohort, seated_since=now - timedelta(weeks=4), display_name="Early")
    late = member_of(cohort, seated_since=now - timedelta(days=6), display_name="Late")
    for meeting in meetings:
        Attendance.objects.create(
            meeting=meeting, member=early, status=AttendanceStatus.ATTENDED, at=meeting.starts_at
        )
    Attendance.objects.create(
        meeting=meetings[2], member=late, status=AttendanceStatus.ATTENDED, at=now
    )
    # A meeting whose join window is open: someone marked at it early was at it.
    upcoming = meeting_at(cohort, now + timedelta(minutes=5), number=4)
    Attendance.objects.create(
        meeting=upcoming, member=late, status=AttendanceStatus.ATTENDED, at=now
    )

    response = _client(cohort.lead).get(URL)
    # Early had a seat for all three held meetings; Late for the third only, and was marked at
    # the fourth as it opened.
    cells = _table_cells(response.content.decode())
    assert cells["Early"][:4] == ["Early", "3 of 3", "0", "0"]
    assert cells["Late"][:4] == ["Late", "2 of 2", "0", "0"]
    panel = response.context["ws"].cohorts[0]
    assert panel.held == 3
    rows = {row.member: row for row in panel.roster}
    assert (rows[early].present, rows[early].could_attend) == (3, 3)
    assert (rows[late].present, rows[late].could_attend) == (2, 2)


def _table_cells(page: str) -> dict[str, list[str]]:
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", page, re.S):
        cells = [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        if cells:
            rows[cells[0]] = cells
    return rows
