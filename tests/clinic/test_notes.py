"""Meeting notes: written once as a group note, individualised per attendee, signed, amended."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse

from circlecare.audit.models import AuditAction, AuditEvent
from circlecare.clinic import services
from circlecare.clinic.errors import (
    AmendmentInProgress,
    NoteEmpty,
    NoteNotSigned,
    NoteSigned,
    NotesNotOpen,
)
from circlecare.clinic.models import GroupNote, IndividualNote, NoteStatus
from circlecare.crypto import column_context, encrypt
from circlecare.errors import NotFound
from circlecare.meetings.models import Attendance, AttendanceStatus, Meeting, MeetingStatus
from tests.clinic.factories import Scene, coordinator, started_meeting
from tests.conftest import requires_postgres, truncate_as_the_application
from tests.factories import CohortFactory, EnrollmentFactory, UserFactory

pytestmark = pytest.mark.django_db

CANARY = "CANARY-7f3a-sleeping-poorly"
NOTE_TEXT = column_context("clinic_groupnote", "text")


@pytest.fixture
def scene() -> Scene:
    return started_meeting()


def _events(action: AuditAction) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def _signed_group(scene: Scene, text: str = "The group talked about sleep.") -> GroupNote:
    note = services.save_group_note(meeting=scene.meeting, text=text, actor=scene.lead)
    result = services.sign_note(note=note, actor=scene.lead)
    assert isinstance(result, GroupNote)
    return result


# --- lifecycle -------------------------------------------------------------------------------


def test_group_note_draft_then_signed_is_read_only(scene: Scene) -> None:
    note = services.save_group_note(meeting=scene.meeting, text="First draft", actor=scene.lead)
    assert note.status == NoteStatus.DRAFT
    services.save_group_note(meeting=scene.meeting, text="Second draft", actor=scene.lead)
    assert GroupNote.objects.get().text == "Second draft"

    signed = services.sign_note(note=note, actor=scene.lead)
    assert signed.status == NoteStatus.SIGNED
    assert signed.signed_by == scene.lead
    assert signed.signed_at is not None

    with pytest.raises(NoteSigned):
        services.save_group_note(meeting=scene.meeting, text="Changed", actor=scene.lead)
    with pytest.raises(NoteSigned):
        services.sign_note(note=signed, actor=scene.lead)
    assert GroupNote.objects.get().text == "Second draft"


def test_individual_notes_are_prefilled_for_attendees_only(scene: Scene) -> None:
    services.save_group_note(meeting=scene.meeting, text="We practised pausing.", actor=scene.lead)
    created = services.create_individual_notes(meeting=scene.meeting, actor=scene.lead)

    assert {n.member for n in created} == set(scene.attendees)
    assert all(n.text == "We practised pausing." for n in IndividualNote.objects.all())
    assert not IndividualNote.objects.filter(member=scene.absent).exists()
    # Running it again starts nothing new and leaves edits alone.
    first = created[0]
    services.save_individual_note(note=first, text="Edited for one", actor=scene.lead)
    assert services.create_individual_notes(meeting=scene.meeting, actor=scene.lead) == []
    assert IndividualNote.objects.get(pk=first.pk).text == "Edited for one"
    assert IndividualNote.objects.get(pk=created[1].pk).text == "We practised pausing."


def test_signing_needs_text(scene: Scene) -> None:
    note = services.save_group_note(meeting=scene.meeting, text="   ", actor=scene.lead)
    with pytest.raises(NoteEmpty):
        services.sign_note(note=note, actor=scene.lead)
    assert GroupNote.objects.get().status == NoteStatus.DRAFT


def test_saving_a_blank_note_says_it_is_an_empty_draft(scene: Scene) -> None:
    from django.test import Client
    from django.urls import reverse

    client = Client()
    client.force_login(scene.lead)
    page = client.post(
        reverse("clinic:save_group", kwargs={"pk": scene.meeting.pk}),
        {"group-text": "   "},
        follow=True,
    ).content.decode()
    assert "saved as an empty draft: there is nothing to sign yet" in page


def test_notes_wait_for_the_meeting_to_start() -> None:
    scene = started_meeting(ago=-timedelta(hours=3))
    with pytest.raises(NotesNotOpen):
        services.save_group_note(meeting=scene.meeting, text="Early", actor=scene.lead)
    assert not GroupNote.objects.exists()


def test_no_notes_for_a_cancelled_meeting(scene: Scene) -> None:
    Meeting.objects.filter(pk=scene.meeting.pk).update(status=MeetingStatus.CANCELLED)
    with pytest.raises(NotesNotOpen, match="This meeting was cancelled"):
        services.save_group_note(meeting=scene.meeting, text="x", actor=scene.lead)


def test_a_cancelled_meetings_notes_page_says_it_was_cancelled(scene: Scene) -> None:
    Meeting.objects.filter(pk=scene.meeting.pk).update(status=MeetingStatus.CANCELLED)
    page = _client(scene.lead).get(_notes_url(scene)).content.decode()
    assert "This meeting was cancelled, so there are no notes to write." in page
    assert "once the meeting has started" not in page
    assert "<textarea" not in page


def test_only_the_cohorts_leads_write(scene: Scene) -> None:
    co = UserFactory(is_facilitator=True)
    scene.cohort.co_facilitator = co
    scene.cohort.save()
    note = services.save_group_note(meeting=scene.meeting, text="By the co-lead", actor=co)
    other_lead = CohortFactory().lead
    for outsider in (coordinator(), other_lead, scene.attendees[0]):
        with pytest.raises(NotFound):
            services.save_group_note(meeting=scene.meeting, text="No", actor=outsider)
        with pytest.raises(NotFound):
            services.sign_note(note=note, actor=outsider)
    assert GroupNote.objects.get().text == "By the co-lead"


# --- read-only after signing: the model and the database ------------------------------------


def test_model_refuses_to_change_or_delete_a_signed_note(scene: Scene) -> None:
    note = _signed_group(scene)
    fresh = GroupNote.objects.get(pk=note.pk)
    fresh.text = "Rewritten"
    with pytest.raises(NoteSigned):
        fresh.save()
    with pytest.raises(NoteSigned):
        fresh.delete()
    fresh.refresh_from_db()
    assert fresh.text == "The group talked about sleep."


def test_model_allows_editing_a_draft(scene: Scene) -> None:
    note = services.save_group_note(meeting=scene.meeting, text="Draft", actor=scene.lead)
    fresh = GroupNote.objects.get(pk=note.pk)
    fresh.text = "Draft 2"
    fresh.save()
    assert GroupNote.objects.get(pk=note.pk).text == "Draft 2"


@requires_postgres()
def test_database_refuses_to_change_a_signed_note(scene: Scene) -> None:
    note = _signed_group(scene)
    services.create_individual_notes(meeting=scene.meeting, actor=scene.lead)
    individual = IndividualNote.objects.first()
    assert individual is not None
    services.sign_note(note=individual, actor=scene.lead)
    for model, pk in ((GroupNote, note.pk), (IndividualNote, individual.pk)):
        with pytest.raises(DatabaseError), transaction.atomic():
            model.objects.filter(pk=pk).update(text="Rewritten")
        with pytest.raises(DatabaseError), transaction.atomic():
            model.objects.filter(pk=pk).update(status=NoteStatus.DRAFT)
        with pytest.raises(DatabaseError), transaction.atomic():
            model.objects.filter(pk=pk).delete()
    assert GroupNote.objects.get(pk=note.pk).text == "The group talked about sleep."


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="database triggers are PostgreSQL-only"
)
def test_database_refuses_to_truncate_the_tables_of_signed_notes(scene: Scene) -> None:
    _signed_group(scene)
    services.create_individual_notes(meeting=scene.meeting, actor=scene.lead)
    individual = IndividualNote.objects.first()
    assert individual is not None
    services.sign_note(note=individual, actor=scene.lead)
    before = (GroupNote.objects.count(), IndividualNote.objects.count())
    for statement in (
        "TRUNCATE clinic_individualnote",
        "TRUNCATE clinic_groupnote, clinic_individualnote",
        "TRUNCATE clinic_groupnote CASCADE",
        "TRUNCATE meetings_meeting CASCADE",
    ):
        with pytest.raises(DatabaseError, match="signed notes are read-only"):
            truncate_as_the_application(statement)
    assert (GroupNote.objects.count(), IndividualNote.objects.count()) == before


@requires_postgres()
def test_database_lets_key_rotation_reencrypt_a_signed_note(scene: Scene, settings: Any) -> None:
    note = _signed_group(scene)
    old_key = settings.FIELD_ENCRYPTION_KEY
    settings.FIELD_ENCRYPTION_KEY = "A" * 43
    settings.FIELD_ENCRYPTION_OLD_KEYS = [old_key]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE clinic_groupnote SET text = %s WHERE id = %s",
            [encrypt("The group talked about sleep.", context=NOTE_TEXT), note.pk],
        )
    assert GroupNote.objects.get(pk=note.pk).text == "The group talked about sleep."


# --- amendments -------------------------------------------------------------------------------


def test_amendment_is_a_new_version_and_keeps_the_original(scene: Scene) -> None:
    original = _signed_group(scene, "Original wording")
    amendment = services.amend_note(note=original, actor=scene.lead)
    assert isinstance(amendment, GroupNote)
    assert (amendment.version, amendment.amends_id, amendment.status) == (
        2,
        original.pk,
        NoteStatus.DRAFT,
    )
    assert amendment.text == "Original wording"

    services.save_group_note(meeting=scene.meeting, text="Corrected wording", actor=scene.lead)
    services.sign_note(note=amendment, actor=scene.lead)
    original.refresh_from_db()
    assert original.text == "Original wording"
    assert original.status == NoteStatus.SIGNED
    assert GroupNote.objects.get(pk=amendment.pk).text == "Corrected wording"

    with pytest.raises(AmendmentInProgress):
        services.amend_note(note=original, actor=scene.lead)


def test_individual_note_amendment(scene: Scene) -> None:
    services.save_group_note(meeting=scene.meeting, text="Shared", actor=scene.lead)
    note = services.create_individual_notes(meeting=scene.meeting, actor=scene.lead)[0]
    with pytest.raises(NoteNotSigned):
        services.amend_note(note=note, actor=scene.lead)
    services.sign_note(note=note, actor=scene.lead)
    amendment = services.amend_note(note=note, actor=scene.lead)
    assert isinstance(amendment, IndividualNote)
    assert amendment.member_id == note.member_id
    services.save_individual_note(note=amendment, text="Shared, corrected", actor=scene.lead)
    versions = list(
        IndividualNote.objects.filter(member=note.member)
        .order_by("version")
        .values_list("version", "status")
    )
    assert versions == [(1, NoteStatus.SIGNED), (2, NoteStatus.DRAFT)]
    assert IndividualNote.objects.get(pk=note.pk).text == "Shared"


# --- encryption and audit --------------------------------------------------------------------


def test_note_text_is_encrypted_at_rest(scene: Scene) -> None:
    services.save_group_note(meeting=scene.meeting, text=f"Group {CANARY}", actor=scene.lead)
    services.create_individual_notes(meeting=scene.meeting, actor=scene.lead)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT text FROM clinic_groupnote UNION ALL SELECT text FROM clinic_individualnote"
        )
        raw = [row[0] for row in cursor.fetchall()]
    assert len(raw) == 3
    assert all(CANARY not in value and value.startswith("v2:") for value in raw)
    assert all(CANARY in n.text for n in IndividualNote.objects.all())


def test_every_change_writes_exactly_one_audit_event_without_text(scene: Scene) -> None:
    note = services.save_group_note(meeting=scene.meeting, text=CANARY, actor=scene.lead)
    assert len(_events(AuditAction.NOTE_CHANGED)) == 1
    services.save_group_note(meeting=scene.meeting, text=CANARY + " 2", actor=scene.lead)
    services.sign_note(note=note, actor=scene.lead)
    created = services.create_individual_notes(meeting=scene.meeting, actor=scene.lead)
    services.save_individual_note(note=created[0], text=CANARY + " 3", actor=scene.lead)
    services.amend_note(note=note, actor=scene.lead)

    events = _events(AuditAction.NOTE_CHANGED)
    assert [e.data["change"] for e in events] == [
        "created",
        "saved",
        "signed",
        "created",
        "created",
        "saved",
        "amended",
    ]
    assert all(e.actor == scene.lead for e in events)
    individual_events = [e for e in events if e.data["note"] == "individual"]
    assert {e.subject for e in individual_events} == set(scene.attendees)
    assert CANARY not in json.dumps([e.data for e in events])


def test_refused_change_writes_no_audit_event(scene: Scene) -> None:
    note = _signed_group(scene)
    before = AuditEvent.objects.count()
    with pytest.raises(NoteSigned):
        services.save_group_note(meeting=scene.meeting, text="x", actor=scene.lead)
    with pytest.raises(NoteSigned):
        services.sign_note(note=note, actor=scene.lead)
    assert AuditEvent.objects.count() == before


# --- pages -----------------------------------------------------------------------------------


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _notes_url(scene: Scene) -> str:
    return reverse("clinic:notes", args=[scene.meeting.pk])


def test_notes_page_access_per_role(scene: Scene) -> None:
    other_cohort = CohortFactory()
    other_member = UserFactory()
    EnrollmentFactory(member=other_member, cohort=other_cohort)
    peer_facilitator = UserFactory(is_facilitator=True)
    CohortFactory(lead=peer_facilitator)
    url = _notes_url(scene)

    anonymous = Client().get(url)
    assert anonymous.status_code == 302
    assert "/accounts/login/" in anonymous["Location"]
    for outsider in (scene.attendees[0], other_member, other_cohort.lead, peer_facilitator):
        assert _client(outsider).get(url).status_code == 404
    missing = reverse("clinic:notes", args=[scene.meeting.pk + 1000])
    assert _client(scene.lead).get(missing).status_code == 404

    lead_page = _client(scene.lead).get(url)
    assert lead_page.status_code == 200
    assert lead_page["Cache-Control"] == "no-store"
    assert b'name="group-text"' in lead_page.content

    staff_page = _client(coordinator()).get(url)
    assert staff_page.status_code == 200
    assert staff_page["Cache-Control"] == "no-store"
    assert b"<textarea" not in staff_page.content


def test_the_notes_page_names_the_group_in_its_title() -> None:
    # Week 1's notes of two groups, open in two tabs, are told apart by their titles.
    scene = started_meeting(name="Tuesday evenings")
    page = _client(scene.lead).get(_notes_url(scene)).content.decode()
    number = scene.meeting.number
    assert f"<title>Notes — week {number} — Tuesday evenings · circlecare</title>" in page


def test_outsiders_cannot_write_through_the_pages(scene: Scene) -> None:
    services.save_group_note(meeting=scene.meeting, text="Kept", actor=scene.lead)
    note = GroupNote.objects.get()
    for user in (coordinator(), scene.attendees[0], CohortFactory().lead):
        client = _client(user)
        assert (
            client.post(
                reverse("clinic:save_group", args=[scene.meeting.pk]), {"group-text": "Overwritten"}
            ).status_code
            == 404
        )
        assert (
            client.post(
                reverse("clinic:sign", args=["group", note.pk]), {"sign-group-confirm": "on"}
            ).status_code
            == 404
        )
        may_read = user.is_staff
        read = client.get(reverse("clinic:note", args=["group", note.pk]))
        assert read.status_code == (200 if may_read else 404)
    note.refresh_from_db()
    assert (note.text, note.status) == ("Kept", NoteStatus.DRAFT)


def test_write_individualise_and_sign_through_the_pages(scene: Scene) -> None:
    client = _client(scene.lead)
    url = _notes_url(scene)
    response = client.post(
        reverse("clinic:save_group", args=[scene.meeting.pk]), {"group-text": "Shared story"}
    )
    assert response.status_code == 302
    started = client.post(reverse("clinic:start_individual", args=[scene.meeting.pk]), follow=True)
    n = len(scene.attendees)
    assert f"{n} individual notes started from the group note." in started.content.decode()
    first = IndividualNote.objects.get(member=scene.attendees[0])
    key = f"individual-{first.pk}"
    client.post(
        reverse("clinic:save_individual", args=[first.pk]), {f"{key}-text": "Shared story, Ann"}
    )
    page = client.get(url)
    assert "Shared story, Ann" in page.content.decode()

    unconfirmed = client.post(reverse("clinic:sign", args=["individual", first.pk]), {})
    assert unconfirmed.status_code == 400
    assert "Tick the box to confirm before signing." in unconfirmed.content.decode()
    assert IndividualNote.objects.get(pk=first.pk).status == NoteStatus.DRAFT

    client.post(
        reverse("clinic:sign", args=["individual", first.pk]), {f"sign-{key}-confirm": "on"}
    )
    assert IndividualNote.objects.get(pk=first.pk).status == NoteStatus.SIGNED

    page = client.get(url).content.decode()
    assert f'name="{key}-text"' not in page
    refused = client.post(
        reverse("clinic:save_individual", args=[first.pk]), {f"{key}-text": "Sneaky"}, follow=True
    )
    assert "This note is signed and can&#x27;t be changed" in refused.content.decode()
    assert IndividualNote.objects.get(pk=first.pk).text == "Shared story, Ann"


def test_each_change_leads_back_to_the_note_it_changed(scene: Scene) -> None:
    # On a phone a member's note is screens down the page: after saving, signing or amending
    # it, the page opens at that note (the script gives it focus), not at the top.
    client = _client(scene.lead)
    url = _notes_url(scene)

    def place(response: Any) -> str:
        assert response.status_code == 302
        where, _, fragment = response["Location"].partition("#")
        assert where == url
        assert f'id="{fragment}"' in client.get(url).content.decode()
        return fragment

    group = place(
        client.post(reverse("clinic:save_group", args=[scene.meeting.pk]), {"group-text": "Story"})
    )
    assert group == "group-heading"
    started = client.post(reverse("clinic:start_individual", args=[scene.meeting.pk]))
    assert place(started) == "individual-heading"
    second = IndividualNote.objects.get(member=scene.attendees[1])
    key = f"individual-{second.pk}"
    here = f"member-{scene.attendees[1].pk}"
    saved = client.post(reverse("clinic:save_individual", args=[second.pk]), {f"{key}-text": "B"})
    assert place(saved) == here
    signed = client.post(
        reverse("clinic:sign", args=["individual", second.pk]), {f"sign-{key}-confirm": "on"}
    )
    assert place(signed) == here
    assert place(client.post(reverse("clinic:amend", args=["individual", second.pk]))) == here
    note = GroupNote.objects.get()
    signed = client.post(
        reverse("clinic:sign", args=["group", note.pk]), {"sign-group-confirm": "on"}
    )
    assert place(signed) == "group-heading"
    assert place(client.post(reverse("clinic:amend", args=["group", note.pk]))) == "group-heading"


def test_notes_started_without_a_group_note_are_not_said_to_come_from_one(
    scene: Scene,
) -> None:
    client = _client(scene.lead)
    started = client.post(reverse("clinic:start_individual", args=[scene.meeting.pk]), follow=True)
    text = started.content.decode()
    assert "from the group note" not in text
    assert "empty as there is no group note yet" in text
    assert all(note.text == "" for note in IndividualNote.objects.all())


def test_each_sign_box_names_its_note(scene: Scene) -> None:
    services.save_group_note(meeting=scene.meeting, text="Story", actor=scene.lead)
    services.create_individual_notes(meeting=scene.meeting, actor=scene.lead)
    page = _client(scene.lead).get(_notes_url(scene)).content.decode()
    labels = re.findall(r"I have reviewed ([^.]*)\.", page)
    assert labels[0] == "the group note"
    assert labels[1:] == [f"{a.display_name}&#x27;s note" for a in scene.attendees]


def test_signing_signs_the_text_on_screen_even_unsaved(scene: Scene) -> None:
    """Edited, then signed without pressing Save first: the edit is what gets signed."""
    services.save_group_note(meeting=scene.meeting, text="Saved draft", actor=scene.lead)
    note = GroupNote.objects.get()
    client = _client(scene.lead)
    page = client.get(_notes_url(scene)).content.decode()
    # The sign button belongs to the form that holds the text, so the browser sends both.
    form = page[page.index('name="group-text"') :]
    form = form[: form.index("</form>")]
    assert f'formaction="{reverse("clinic:sign", args=["group", note.pk])}"' in form

    response = client.post(
        reverse("clinic:sign", args=["group", note.pk]),
        {"group-text": "Saved draft, with the last edit", "sign-group-confirm": "on"},
    )
    assert response.status_code == 302
    note.refresh_from_db()
    assert (note.text, note.status) == ("Saved draft, with the last edit", NoteStatus.SIGNED)
    changes = [e.data["change"] for e in _events(AuditAction.NOTE_CHANGED)]
    assert changes == ["created", "saved", "signed"]


def test_signing_unchanged_text_sent_with_browser_line_breaks_saves_nothing(
    scene: Scene,
) -> None:
    """A browser sends line breaks as CRLF: that alone is not an edit to save (or refuse)."""
    services.save_group_note(meeting=scene.meeting, text="Line one\nLine two", actor=scene.lead)
    services.create_individual_notes(meeting=scene.meeting, actor=scene.lead)
    first = IndividualNote.objects.get(member=scene.attendees[0])
    # Marked absent afterwards: an edit could no longer be saved, but signing as shown can.
    Attendance.objects.filter(meeting=scene.meeting, member=scene.attendees[0]).update(
        status=AttendanceStatus.ABSENT
    )
    key = f"individual-{first.pk}"
    _client(scene.lead).post(
        reverse("clinic:sign", args=["individual", first.pk]),
        {f"{key}-text": "Line one\r\nLine two", f"sign-{key}-confirm": "on"},
    )
    first.refresh_from_db()
    assert (first.text, first.status) == ("Line one\nLine two", NoteStatus.SIGNED)
    changes = [
        e.data["change"] for e in _events(AuditAction.NOTE_CHANGED) if e.data["note"] != "group"
    ]
    assert changes == ["created", "created", "signed"]  # two attendees; no save


def _sign_unticked(scene: Scene, typed: str) -> tuple[Any, IndividualNote, str]:
    """The first attendee's note, drafted from a saved group note, sent to be signed with
    ``typed`` in it and the confirming box left unticked: (response, note, form prefix)."""
    services.save_group_note(meeting=scene.meeting, text="Saved draft", actor=scene.lead)
    services.create_individual_notes(meeting=scene.meeting, actor=scene.lead)
    first = IndividualNote.objects.get(member=scene.attendees[0])
    key = f"individual-{first.pk}"
    response = _client(scene.lead).post(
        reverse("clinic:sign", args=["individual", first.pk]), {f"{key}-text": typed}
    )
    return response, first, key


def test_an_unticked_box_keeps_the_unsaved_text_on_screen(scene: Scene) -> None:
    response, first, _key = _sign_unticked(scene, "Typed, unsaved")
    assert response.status_code == 400
    page = response.content.decode()
    assert "Tick the box to confirm before signing." in page
    assert "Typed, unsaved</textarea>" in page
    first.refresh_from_db()
    assert (first.text, first.status) == ("Saved draft", NoteStatus.DRAFT)


def _summary_links(page: str) -> list[tuple[str, str]]:
    """The error summary's links, (target, words), when it comes before the first note."""
    summary = re.search(r'<div class="error-summary" role="alert".*?</div>', page, re.S)
    assert summary is not None, "no error summary"
    assert summary.start() < page.index('id="group-heading"')
    return re.findall(r'<a href="#([^"]+)">([^<]+)</a>', summary.group(0))


def test_an_unticked_box_is_summarised_at_the_top_with_a_link_to_it(scene: Scene) -> None:
    # On a phone the box is screens below the top; keyboard focus and the screen reader go to
    # the summary (circlecare.js), which names the note and leads to the box.
    response, _first, key = _sign_unticked(scene, "Typed")
    assert response.status_code == 400
    page = response.content.decode()
    name = scene.attendees[0].display_name
    assert _summary_links(page) == [
        (f"id_sign-{key}-confirm", f"Note for {name}: Tick the box to confirm before signing.")
    ]
    assert f'id="id_sign-{key}-confirm"' in page


def test_a_group_note_too_long_is_summarised_with_a_link_to_its_field(scene: Scene) -> None:
    response = _client(scene.lead).post(
        reverse("clinic:save_group", args=[scene.meeting.pk]), {"group-text": "x" * 20_001}
    )
    assert response.status_code == 400
    [(target, words)] = _summary_links(response.content.decode())
    assert target == "id_group-text"
    assert words.startswith("Group note: A note can be up to 20,000 characters.")


def test_too_long_a_note_gets_a_message_and_changes_nothing(scene: Scene) -> None:
    client = _client(scene.lead)
    services.save_group_note(meeting=scene.meeting, text="Before", actor=scene.lead)
    response = client.post(
        reverse("clinic:save_group", args=[scene.meeting.pk]), {"group-text": "x" * 20_001}
    )
    assert response.status_code == 400
    assert "A note can be up to 20,000 characters." in response.content.decode()
    assert GroupNote.objects.get().text == "Before"


def test_amend_through_the_pages_keeps_the_original_readable(scene: Scene) -> None:
    original = _signed_group(scene, "Original wording")
    client = _client(scene.lead)
    client.post(reverse("clinic:amend", args=["group", original.pk]))
    client.post(reverse("clinic:save_group", args=[scene.meeting.pk]), {"group-text": "Corrected"})
    page = client.get(_notes_url(scene)).content.decode()
    assert "Corrected" in page
    assert reverse("clinic:note", args=["group", original.pk]) in page
    old = client.get(reverse("clinic:note", args=["group", original.pk]))
    assert old.status_code == 200
    assert "Original wording" in old.content.decode()
    assert old["Cache-Control"] == "no-store"
    assert client.get(reverse("clinic:note", args=["other", original.pk])).status_code == 404


def test_each_staff_read_writes_one_audit_event_per_note_shown(scene: Scene) -> None:
    services.save_group_note(meeting=scene.meeting, text=CANARY, actor=scene.lead)
    services.create_individual_notes(meeting=scene.meeting, actor=scene.lead)
    staff = coordinator()
    _client(staff).get(_notes_url(scene))
    events = _events(AuditAction.NOTE_VIEWED)
    assert len(events) == 3
    assert {e.actor for e in events} == {staff}
    assert {e.subject for e in events if e.subject} == set(scene.attendees)
    assert CANARY not in json.dumps([e.data for e in events])
    _client(scene.lead).get(reverse("clinic:note", args=["group", GroupNote.objects.get().pk]))
    assert len(_events(AuditAction.NOTE_VIEWED)) == 4


def test_notes_page_query_count(scene: Scene, django_assert_num_queries: Any) -> None:
    services.save_group_note(meeting=scene.meeting, text="Shared", actor=scene.lead)
    services.create_individual_notes(meeting=scene.meeting, actor=scene.lead)
    client = _client(scene.lead)
    client.get(_notes_url(scene))
    # Session read, user, meeting, 3 note reads, and one audit insert per note shown (3 here);
    # the session is written at most once a minute, so this quick second visit does not write.
    with django_assert_num_queries(6 + 3):
        client.get(_notes_url(scene))


def test_demo_seeds_signed_notes_once(settings: Any) -> None:
    from circlecare.clinic.demo import seed_demo
    from circlecare.meetings.demo import seed_demo as seed_meetings
    from circlecare.programs.demo import seed

    seed()
    seed_meetings()
    line = seed_demo()
    assert "2 held meeting" in line
    assert GroupNote.objects.filter(status=NoteStatus.SIGNED).count() == 2
    assert IndividualNote.objects.exists()
    assert not IndividualNote.objects.filter(status=NoteStatus.DRAFT).exists()
    counts = (GroupNote.objects.count(), IndividualNote.objects.count())
    assert "0 held meeting" in seed_demo()
    assert (GroupNote.objects.count(), IndividualNote.objects.count()) == counts
