"""My meetings, one meeting, my calendar link, and attendance through the API."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from circlecare.meetings.models import Attendance, AttendanceStatus, Meeting, MeetingStatus
from tests.api.helpers import NOT_FOUND, Api, make_practice
from tests.factories import ClinicianFactory, EnrollmentFactory, UserFactory
from tests.meetings.factories import meeting_at

pytestmark = pytest.mark.django_db

URL = "/api/v1/meetings"


def test_my_meetings_with_my_attendance_paginated_and_filtered() -> None:
    practice = make_practice()
    later = meeting_at(practice.cohort, timezone.now() + timedelta(days=7), number=2)
    meeting_at(practice.other_cohort, timezone.now() + timedelta(days=1))
    Attendance.objects.create(
        meeting=practice.meeting,
        member=practice.member,
        status=AttendanceStatus.ATTENDED,
        at=timezone.now(),
    )
    api = Api(practice.member)
    body = api.get(URL).json()
    assert body["count"] == 2
    first, second = body["items"]
    assert (first["id"], second["id"]) == (practice.meeting.pk, later.pk)
    assert first["my_attendance"] == "attended" and second["my_attendance"] is None
    assert first["role"] == "member" and first["group"]["name"] == "Tuesday circle"
    assert first["starts_at"].endswith("Z")
    assert api.get(URL, {"limit": 1, "offset": 1}).json()["items"][0]["id"] == later.pk
    past = api.get(URL, {"upcoming": "false"}).json()
    assert past["count"] == 0  # the first meeting is still going
    assert api.get(URL, {"upcoming": "true"}).json()["count"] == 2
    led = Api(practice.lead).get(URL).json()["items"]
    assert {m["role"] for m in led} == {"facilitator"} and len(led) == 2


def test_a_clinician_helping_lead_a_group_sees_its_meetings() -> None:
    """A clinician may co-facilitate without being marked a facilitator or leading a group."""
    practice = make_practice()
    clinician = ClinicianFactory(user__is_facilitator=False).user
    practice.cohort.co_facilitator = clinician
    practice.cohort.save(update_fields=["co_facilitator"])
    items = Api(clinician).get(URL).json()["items"]
    assert [(m["id"], m["role"]) for m in items] == [(practice.meeting.pk, "facilitator")]


def test_a_meeting_ended_early_is_listed_with_the_past_ones() -> None:
    """As on the pages: once a facilitator has ended it for everyone, it is not one to come."""
    practice = make_practice()
    assert Api(practice.member).get(f"{URL}/{practice.meeting.pk}").json()["ended_at"] is None
    ended = timezone.now().replace(microsecond=0)
    Meeting.objects.filter(pk=practice.meeting.pk).update(ended_at=ended)
    api = Api(practice.member)
    body = api.get(f"{URL}/{practice.meeting.pk}").json()
    assert datetime.fromisoformat(body["ended_at"]) == ended
    assert datetime.fromisoformat(body["ends_at"]) > ended  # still as planned
    assert [m["id"] for m in api.get(URL, {"upcoming": "false"}).json()["items"]] == [
        practice.meeting.pk
    ]
    assert practice.meeting.pk not in [
        m["id"] for m in api.get(URL, {"upcoming": "true"}).json()["items"]
    ]


def test_one_meeting_says_whether_it_is_open_to_join() -> None:
    practice = make_practice()
    body = Api(practice.member).get(f"{URL}/{practice.meeting.pk}").json()
    assert body["window"] == "open" and body["status"] == "scheduled"
    assert body["url"].endswith(f"/meetings/{practice.meeting.pk}/")
    assert Api(practice.coordinator).get(f"{URL}/{practice.meeting.pk}").json()["role"] == (
        "coordinator"
    )


def test_a_waiting_member_does_not_see_the_groups_meetings() -> None:
    practice = make_practice()
    waiting = UserFactory()
    EnrollmentFactory(
        member=waiting, cohort=practice.cohort, status="waitlisted", confirmed_at=None
    )
    api = Api(waiting)
    assert api.get(URL).json()["count"] == 0
    assert api.get(f"{URL}/{practice.meeting.pk}").json() == NOT_FOUND


def test_calendar_link_is_made_shown_once_replaced_and_switched_off() -> None:
    practice = make_practice()
    api = Api(practice.member)
    assert api.get(f"{URL}/calendar").json() == {
        "active": False,
        "created_at": None,
        "last_used_at": None,
    }
    made = api.post(f"{URL}/calendar")
    assert made.status_code == 201
    url = made.json()["url"]
    path = url[url.index("/meetings/") :]
    feed = Client().get(path)
    assert feed.status_code == 200 and feed["Content-Type"].startswith("text/calendar")
    state = api.get(f"{URL}/calendar").json()
    assert state["active"] is True and state["last_used_at"] is not None
    assert "url" not in state
    replaced = api.post(f"{URL}/calendar").json()["url"]
    assert replaced != url and Client().get(path).status_code == 404
    assert api.delete(f"{URL}/calendar").status_code == 204
    new_path = replaced[replaced.index("/meetings/") :]
    assert Client().get(new_path).status_code == 404
    assert api.get(f"{URL}/calendar").json()["active"] is False


def test_calendar_changes_need_the_write_scope() -> None:
    practice = make_practice()
    api = Api(practice.member, scopes=["read"])
    assert api.post(f"{URL}/calendar").status_code == 403
    assert api.delete(f"{URL}/calendar").status_code == 403
    assert api.get(f"{URL}/calendar").json()["active"] is False


def test_attendance_read_and_record() -> None:
    practice = make_practice()
    url = f"{URL}/{practice.meeting.pk}/attendance"
    api = Api(practice.lead)
    before = api.get(url).json()
    assert before == {
        "count": 1,
        "items": [
            {
                "member_id": practice.member.pk,
                "display_name": "Alex",
                "status": None,
                "recorded_at": None,
            }
        ],
    }
    response = api.post(url, {"member_id": practice.member.pk, "status": "late"})
    assert response.status_code == 200 and response.json()["status"] == "late"
    mark = Attendance.objects.get()
    assert mark.status == "late" and mark.recorded_by == practice.lead
    practice.meeting.refresh_from_db()
    assert practice.meeting.status == MeetingStatus.HELD
    changed = Api(practice.coordinator).post(
        url, {"member_id": practice.member.pk, "status": "attended"}
    )
    assert changed.json()["status"] == "attended"
    assert Attendance.objects.get().status == "attended"


def test_attendance_refuses_bad_input_and_people_outside_the_group() -> None:
    practice = make_practice()
    url = f"{URL}/{practice.meeting.pk}/attendance"
    api = Api(practice.lead)
    bad = api.post(url, {"member_id": practice.member.pk, "status": "asleep"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid"
    outsider = api.post(url, {"member_id": practice.other_member.pk, "status": "attended"})
    assert outsider.status_code == 404 and outsider.json() == NOT_FOUND
    missing = api.post(url, {"member_id": 987654, "status": "attended"})
    assert missing.json() == NOT_FOUND
    reader = Api(practice.lead, scopes=["read"])
    assert reader.post(url, {"member_id": practice.member.pk, "status": "late"}).status_code == 403
    assert not Attendance.objects.exists()


def test_attendance_waits_for_the_meeting_to_open_and_not_for_a_cancelled_one() -> None:
    practice = make_practice()
    later = meeting_at(practice.cohort, timezone.now() + timedelta(days=7), number=2)
    api = Api(practice.lead)
    early = api.post(
        f"{URL}/{later.pk}/attendance", {"member_id": practice.member.pk, "status": "absent"}
    )
    assert early.status_code == 409 and early.json()["code"] == "invalid_transition"
    practice.meeting.status = MeetingStatus.CANCELLED
    practice.meeting.save()
    cancelled = api.post(
        f"{URL}/{practice.meeting.pk}/attendance",
        {"member_id": practice.member.pk, "status": "absent"},
    )
    assert cancelled.status_code == 409
    assert not Attendance.objects.exists()
