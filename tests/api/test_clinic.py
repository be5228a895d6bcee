"""Meeting notes through the API: read, save, start individual notes, sign and amend."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from circlecare.accounts.models import User
from circlecare.audit.models import AuditAction, AuditEvent
from circlecare.clinic.models import GroupNote, IndividualNote, NoteStatus
from circlecare.meetings.models import Attendance, AttendanceStatus
from tests.api.helpers import NOT_FOUND, Api, Practice, make_practice
from tests.factories import EnrollmentFactory, UserFactory
from tests.meetings.factories import meeting_at

pytestmark = pytest.mark.django_db

URL = "/api/v1/clinic"


def _attended(practice: Practice, *names: str) -> list[User]:
    people = [practice.member]
    for name in names:
        person = UserFactory(display_name=name)
        EnrollmentFactory(member=person, cohort=practice.cohort)
        people.append(person)
    for person in people:
        Attendance.objects.create(
            meeting=practice.meeting,
            member=person,
            status=AttendanceStatus.ATTENDED,
            at=practice.meeting.starts_at,
        )
    return people


def _notes_url(practice: Practice) -> str:
    return f"{URL}/meetings/{practice.meeting.pk}/notes"


def test_writing_a_group_note_then_individual_notes_then_signing_and_amending() -> None:
    practice = make_practice()
    _attended(practice, "Blake")
    api = Api(practice.lead)
    saved = api.post(f"{_notes_url(practice)}/group", {"text": "We practised listening."})
    assert saved.status_code == 200, saved.content
    group = saved.json()
    assert (group["kind"], group["status"], group["version"]) == ("group", "draft", 1)
    assert group["text"] == "We practised listening."
    resaved = api.post(f"{_notes_url(practice)}/group", {"text": "We practised listening well."})
    assert resaved.json()["id"] == group["id"]

    started = api.post(f"{_notes_url(practice)}/individual")
    assert started.status_code == 200
    created = started.json()["created"]
    assert sorted(n["member"]["display_name"] for n in created) == ["Alex", "Blake"]
    assert {n["text"] for n in created} == {"We practised listening well."}
    assert api.post(f"{_notes_url(practice)}/individual").json() == {"created": []}

    alex = next(n for n in created if n["member"]["id"] == practice.member.pk)
    edited = api.post(f"{URL}/notes/individual/{alex['id']}/save", {"text": "Alex spoke first."})
    assert edited.status_code == 200 and edited.json()["text"] == "Alex spoke first."

    signed = api.post(f"{URL}/notes/individual/{alex['id']}/sign")
    assert signed.status_code == 200
    assert signed.json()["status"] == "signed"
    assert signed.json()["signed_by"]["id"] == practice.lead.pk

    amended = api.post(f"{URL}/notes/individual/{alex['id']}/amend")
    assert amended.status_code == 200
    amendment = amended.json()
    assert (amendment["version"], amendment["status"], amendment["amends_id"]) == (
        2,
        "draft",
        alex["id"],
    )
    assert [v["id"] for v in amendment["earlier_versions"]] == [alex["id"]]
    changes = AuditEvent.objects.filter(action=AuditAction.NOTE_CHANGED, actor=practice.lead)
    assert sorted(e.data["change"] for e in changes) == [
        "amended",
        "created",
        "created",
        "created",
        "saved",
        "saved",
        "signed",
    ]
    assert all("text" not in e.data for e in changes)


def test_a_signed_note_is_409_with_the_reason_and_stays_as_it_was() -> None:
    practice = make_practice()
    _attended(practice)
    api = Api(practice.co_facilitator)
    group = api.post(f"{_notes_url(practice)}/group", {"text": "Signed words."}).json()
    assert api.post(f"{URL}/notes/group/{group['id']}/sign").status_code == 200
    again = api.post(f"{_notes_url(practice)}/group", {"text": "Changed words."})
    assert again.status_code == 409
    assert again.json() == {
        "code": "note_signed",
        "message": "This note is signed and can't be changed. Add an amendment instead.",
        "detail": None,
    }
    twice = api.post(f"{URL}/notes/group/{group['id']}/sign")
    assert twice.status_code == 409 and twice.json()["message"] == "This note is already signed."
    assert GroupNote.objects.get(pk=group["id"]).text == "Signed words."
    api.post(f"{URL}/notes/group/{group['id']}/amend")
    second = api.post(f"{URL}/notes/group/{group['id']}/amend")
    assert second.status_code == 409 and second.json()["code"] == "amendment_in_progress"


def test_refusals_for_empty_unsigned_and_not_yet_open() -> None:
    practice = make_practice()
    api = Api(practice.lead)
    group = api.post(f"{_notes_url(practice)}/group", {"text": "  "}).json()
    empty = api.post(f"{URL}/notes/group/{group['id']}/sign")
    assert empty.status_code == 400 and empty.json()["code"] == "note_empty"
    draft = api.post(f"{URL}/notes/group/{group['id']}/amend")
    assert draft.status_code == 409 and draft.json()["code"] == "note_not_signed"
    later = meeting_at(practice.cohort, timezone.now() + timedelta(days=3), number=2)
    early = api.post(f"{URL}/meetings/{later.pk}/notes/group", {"text": "Too soon"})
    assert early.status_code == 409 and early.json()["code"] == "notes_not_open"
    too_long = api.post(f"{_notes_url(practice)}/group", {"text": "x" * 20_001})
    assert too_long.status_code == 422 and too_long.json()["code"] == "invalid"


def test_reading_a_meetings_notes_audits_each_note_shown() -> None:
    practice = make_practice()
    _attended(practice, "Blake")
    lead = Api(practice.lead)
    lead.post(f"{_notes_url(practice)}/group", {"text": "Group words."})
    lead.post(f"{_notes_url(practice)}/individual")
    for role in ("lead", "co_facilitator", "coordinator"):
        user = getattr(practice, role)
        body = Api(user).get(_notes_url(practice)).json()
        assert body["count"] == 3, role
        kinds = [(n["kind"], (n["member"] or {}).get("display_name")) for n in body["items"]]
        assert kinds == [("group", None), ("individual", "Alex"), ("individual", "Blake")]
        viewed = AuditEvent.objects.filter(action=AuditAction.NOTE_VIEWED, actor=user)
        assert viewed.count() == 3
        assert {e.subject_id for e in viewed} == {None, *(m.pk for m in _members(practice))}
    page = Api(practice.coordinator).get(_notes_url(practice), {"limit": 1, "offset": 2}).json()
    assert [n["member"]["display_name"] for n in page["items"]] == ["Blake"]
    # Only the note on the page was shown, so only it is recorded.
    assert (
        AuditEvent.objects.filter(
            action=AuditAction.NOTE_VIEWED, actor=practice.coordinator
        ).count()
        == 4
    )


def _members(practice: Practice) -> list[User]:
    return [n.member for n in IndividualNote.objects.filter(meeting=practice.meeting)]


def test_one_note_version_with_its_history() -> None:
    practice = make_practice()
    api = Api(practice.lead)
    group = api.post(f"{_notes_url(practice)}/group", {"text": "First."}).json()
    api.post(f"{URL}/notes/group/{group['id']}/sign")
    amendment = api.post(f"{URL}/notes/group/{group['id']}/amend").json()
    old = Api(practice.coordinator).get(f"{URL}/notes/group/{group['id']}")
    assert old.status_code == 200 and old.json()["status"] == "signed"
    new = Api(practice.coordinator).get(f"{URL}/notes/group/{amendment['id']}").json()
    assert [v["id"] for v in new["earlier_versions"]] == [group["id"]]
    listed = Api(practice.lead).get(_notes_url(practice)).json()["items"]
    assert [n["id"] for n in listed] == [amendment["id"]]
    assert listed[0]["earlier_versions"][0]["status"] == "signed"
    assert Api(practice.lead).get(f"{URL}/notes/other/{group['id']}").status_code == 404


def test_coordinators_read_but_do_not_write_and_outsiders_get_404() -> None:
    practice = make_practice()
    _attended(practice)
    group = Api(practice.lead).post(f"{_notes_url(practice)}/group", {"text": "Words."}).json()
    coordinator = Api(practice.coordinator)
    assert coordinator.post(f"{_notes_url(practice)}/group", {"text": "Mine"}).json() == NOT_FOUND
    assert coordinator.post(f"{URL}/notes/group/{group['id']}/sign").json() == NOT_FOUND
    for role in ("member", "other_member", "other_clinician"):
        api = Api(getattr(practice, role))
        assert api.get(_notes_url(practice)).json() == NOT_FOUND, role
        assert api.get(f"{URL}/notes/group/{group['id']}").json() == NOT_FOUND, role
        assert api.post(f"{URL}/notes/group/{group['id']}/sign").json() == NOT_FOUND, role
    theirs = Api(practice.other_clinician).get(_notes_url(practice))
    missing = Api(practice.other_clinician).get(f"{URL}/meetings/987654/notes")
    assert theirs.content == missing.content
    assert Api().get(_notes_url(practice)).status_code == 401
    assert GroupNote.objects.get(pk=group["id"]).status == NoteStatus.DRAFT
    assert not AuditEvent.objects.filter(
        action=AuditAction.NOTE_VIEWED, actor=practice.other_clinician
    ).exists()


def test_notes_need_the_clinical_scope_and_writing_the_write_scope() -> None:
    practice = make_practice()
    Api(practice.lead).post(f"{_notes_url(practice)}/group", {"text": "Words."})
    no_clinical = Api(practice.lead, ["read", "write"])
    refused = no_clinical.get(_notes_url(practice))
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert no_clinical.post(f"{_notes_url(practice)}/group", {"text": "x"}).status_code == 403
    read_only = Api(practice.lead, ["read", "clinical"])
    assert read_only.get(_notes_url(practice)).status_code == 200
    assert read_only.post(f"{_notes_url(practice)}/group", {"text": "x"}).status_code == 403
    assert GroupNote.objects.get(meeting=practice.meeting).text == "Words."


# Signing what was reviewed: an optional "text" in the body, as the notes page sends the text on
# screen.


def _note_changes(note_id: int, kind: str = "group") -> list[str]:
    return [
        e.data["change"]
        for e in AuditEvent.objects.filter(
            action=AuditAction.NOTE_CHANGED,
            target_type=f"clinic.{kind}note",
            target_id=str(note_id),
        ).order_by("pk")
    ]


def test_signing_with_text_saves_it_then_signs_it() -> None:
    practice = make_practice()
    api = Api(practice.lead)
    group = api.post(f"{_notes_url(practice)}/group", {"text": "Saved draft"}).json()
    signed = api.post(
        f"{URL}/notes/group/{group['id']}/sign", {"text": "Saved draft, with the last edit"}
    )
    assert signed.status_code == 200, signed.content
    assert (signed.json()["status"], signed.json()["text"]) == (
        "signed",
        "Saved draft, with the last edit",
    )
    note = GroupNote.objects.get(pk=group["id"])
    assert (note.text, note.status) == ("Saved draft, with the last edit", NoteStatus.SIGNED)
    assert _note_changes(note.pk) == ["created", "saved", "signed"]


def test_signing_with_the_same_text_or_without_text_signs_the_saved_text() -> None:
    practice = make_practice()
    api = Api(practice.lead)
    note = api.post(f"{_notes_url(practice)}/group", {"text": "Line one\nLine two"}).json()
    # The same text with browser line breaks is not an edit: nothing is saved.
    same = api.post(f"{URL}/notes/group/{note['id']}/sign", {"text": "Line one\r\nLine two"})
    assert same.status_code == 200 and same.json()["text"] == "Line one\nLine two"
    assert _note_changes(note["id"]) == ["created", "signed"]
    # No body at all, an empty object, or a null text: the saved text is signed.
    for body in (b"", b"{}", b'{"text": null}'):
        note = api.post(f"{URL}/notes/group/{note['id']}/amend").json()
        signed = api.client.generic(
            "POST",
            f"{URL}/notes/group/{note['id']}/sign",
            body,
            content_type="application/json",
            **api.headers,
        )
        assert signed.status_code == 200, (body, signed.content)
        assert (signed.json()["status"], signed.json()["text"]) == ("signed", "Line one\nLine two")
        assert _note_changes(note["id"]) == ["amended", "signed"], body


def test_signing_empty_text_is_refused_and_saves_nothing() -> None:
    practice = make_practice()
    api = Api(practice.lead)
    group = api.post(f"{_notes_url(practice)}/group", {"text": "Saved draft"}).json()
    for empty in ("", "   \n"):
        refused = api.post(f"{URL}/notes/group/{group['id']}/sign", {"text": empty})
        assert refused.status_code == 400
        assert refused.json() == {
            "code": "note_empty",
            "message": "Write the note before signing it.",
            "detail": None,
        }
    note = GroupNote.objects.get(pk=group["id"])
    assert (note.text, note.status) == ("Saved draft", NoteStatus.DRAFT)
    assert _note_changes(note.pk) == ["created"]
    too_long = api.post(f"{URL}/notes/group/{group['id']}/sign", {"text": "x" * 20_001})
    assert too_long.status_code == 422 and too_long.json()["code"] == "invalid"
    null_char = api.post(f"{URL}/notes/group/{group['id']}/sign", {"text": "a\x00b"})
    assert null_char.status_code == 422
    assert GroupNote.objects.get(pk=group["id"]).status == NoteStatus.DRAFT


def test_new_text_for_an_absent_members_note_is_refused_but_signing_as_saved_works() -> None:
    practice = make_practice()
    _attended(practice)
    api = Api(practice.lead)
    api.post(f"{_notes_url(practice)}/group", {"text": "Group words."})
    [alex] = api.post(f"{_notes_url(practice)}/individual").json()["created"]
    Attendance.objects.filter(meeting=practice.meeting, member=practice.member).update(
        status=AttendanceStatus.ABSENT
    )
    refused = api.post(f"{URL}/notes/individual/{alex['id']}/sign", {"text": "New words."})
    assert refused.status_code == 409
    assert refused.json() == {
        "code": "not_an_attendee",
        "message": "Individual notes are for members who attended this meeting.",
        "detail": None,
    }
    note = IndividualNote.objects.get(pk=alex["id"])
    assert (note.text, note.status) == ("Group words.", NoteStatus.DRAFT)
    as_saved = api.post(f"{URL}/notes/individual/{alex['id']}/sign", {"text": "Group words."})
    assert as_saved.status_code == 200 and as_saved.json()["status"] == "signed"
    assert _note_changes(alex["id"], "individual") == ["created", "signed"]


def test_signing_a_signed_note_with_text_is_409_and_changes_nothing() -> None:
    practice = make_practice()
    api = Api(practice.lead)
    group = api.post(f"{_notes_url(practice)}/group", {"text": "Signed words."}).json()
    assert api.post(f"{URL}/notes/group/{group['id']}/sign").status_code == 200
    again = api.post(f"{URL}/notes/group/{group['id']}/sign", {"text": "Other words."})
    assert again.status_code == 409
    assert again.json() == {
        "code": "note_signed",
        "message": "This note is already signed.",
        "detail": None,
    }
    assert GroupNote.objects.get(pk=group["id"]).text == "Signed words."


def test_signing_another_clinicians_note_with_text_is_404_and_changes_nothing() -> None:
    practice = make_practice()
    group = Api(practice.lead).post(f"{_notes_url(practice)}/group", {"text": "Words."}).json()
    for role in ("other_clinician", "coordinator", "member"):
        api = Api(getattr(practice, role))
        response = api.post(f"{URL}/notes/group/{group['id']}/sign", {"text": "Theirs."})
        assert (response.status_code, response.json()) == (404, NOT_FOUND), role
    note = GroupNote.objects.get(pk=group["id"])
    assert (note.text, note.status) == ("Words.", NoteStatus.DRAFT)
    assert _note_changes(note.pk) == ["created"]
