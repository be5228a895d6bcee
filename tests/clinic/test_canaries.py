"""SECURITY.md D1: clinical text (notes, answers, reflections, and the other free text the practice
keeps encrypted, with the names and addresses people give it, their partners' too) never appears in
the clear at rest — not in a raw read of the tables, not in a database dump."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.db import connection
from django.test import RequestFactory
from django.utils import timezone

from circlecare.care.models import CareMatch, CarePost, CareReport, Reflection
from circlecare.clinic.models import GroupNote
from circlecare.clinic.services import create_individual_notes, save_group_note
from circlecare.enrollment.models import ConsentSignature, Enrollment, PartnerInvite
from circlecare.enrollment.services import remove, sign_consents
from circlecare.inquiries.models import Inquiry
from circlecare.measures.models import Assessment, RiskAlert
from circlecare.meetings.live.models import RoomRemoval
from circlecare.meetings.models import Attendance
from tests.care.factories import CarePostFactory, make_match
from tests.enrollment.factories import ConsentDocumentFactory
from tests.factories import EnrollmentFactory, InquiryFactory, UserFactory
from tests.meetings.factories import meeting_at

pytestmark = pytest.mark.django_db(transaction=True)

NOTE = "CANARY-NOTE-7f3a"
REFLECTION = "CANARY-REFLECTION-91bc"
ANSWER = "CANARY-ANSWER-2d4e"
INQUIRY = "CANARY-INQUIRY-5c81"
INQUIRY_NOTE = "CANARY-INQUIRY-NOTE-e04d"
ROOM_REMOVAL = "CANARY-ROOM-REMOVAL-3b7f"
HIDDEN = "CANARY-HIDDEN-a6d2"
REPORT = "CANARY-REPORT-48ce"
RESOLUTION = "CANARY-RESOLUTION-b1f9"
GOODBYE = "CANARY-GOODBYE-6e20"
ACTION = "CANARY-ACTION-c7a5"
REMOVAL = "CANARY-REMOVAL-0d93"
POST_TITLE = "CANARY-POST-TITLE-5a17"
POST_DETAILS = "CANARY-POST-DETAILS-9e42"
THANKS = "CANARY-THANKS-d3c8"
SIGNED_NAME = "CANARY-SIGNED-NAME-4f60"
INQUIRY_NAME = "CANARY-INQUIRY-NAME-8a2c"
INQUIRY_EMAIL = "canary-inquiry-email-19d7"
PARTNER_EMAIL = "canary-partner-email-6b1e"
#: Each canary, the table it is planted in, and how the application reads it back.
CANARIES = {
    NOTE: "clinic_groupnote",
    REFLECTION: "care_reflection",
    ANSWER: "measures_assessment",
    GOODBYE: "enrollment_enrollment",
    REMOVAL: "enrollment_enrollment",
    ACTION: "measures_riskalert",
    INQUIRY: "inquiries_inquiry",
    INQUIRY_NOTE: "inquiries_inquiry",
    ROOM_REMOVAL: "live_roomremoval",
    HIDDEN: "care_carepost",
    REPORT: "care_carereport",
    RESOLUTION: "care_carereport",
    POST_TITLE: "care_carepost",
    POST_DETAILS: "care_carepost",
    THANKS: "care_carematch",
    SIGNED_NAME: "enrollment_consentsignature",
    INQUIRY_NAME: "inquiries_inquiry",
    INQUIRY_EMAIL: "inquiries_inquiry",
    PARTNER_EMAIL: "enrollment_partnerinvite",
}


def plant() -> None:
    enrollment = EnrollmentFactory(goodbye=f"Bye {GOODBYE}")
    member, cohort = enrollment.member, enrollment.cohort
    meeting = meeting_at(cohort, timezone.now() - timedelta(minutes=30))
    Attendance.objects.create(
        meeting=meeting, member=member, status="attended", at=meeting.starts_at
    )
    save_group_note(meeting=meeting, text=f"Group: {NOTE}", actor=cohort.lead)
    create_individual_notes(meeting=meeting, actor=cohort.lead)
    Reflection.objects.create(member=member, body=f"Today {REFLECTION}")
    # Free text stored with the answers stands in for any answer a member could type.
    Assessment.objects.create(
        member=member, cohort=cohort, program_kind=cohort.program.kind, instrument="PHQ9",
        occasion="intake", status="completed", due_at=timezone.now(), completed_at=timezone.now(),
        answers=json.dumps({"answers": [0] * 9, "note": ANSWER}), total=0, band="minimal",
    )  # fmt: skip
    RiskAlert.objects.create(
        member=member, cohort=cohort, assignee=cohort.lead, raised_at=timezone.now(),
        acknowledged_at=timezone.now(), acknowledged_by=cohort.lead, action_note=f"Rang {ACTION}",
    )  # fmt: skip
    removed = EnrollmentFactory(cohort=cohort)
    remove(enrollment=removed, actor=cohort.lead, reason=f"Asked to leave {REMOVAL}")
    sign_consents(
        member=member, documents=[ConsentDocumentFactory()], signed_name=f"Sam {SIGNED_NAME}"
    )
    PartnerInvite.objects.create(
        cohort=cohort, inviter=member, email=f"{PARTNER_EMAIL}@example.org",
        token_hash="0" * 64, expires_at=timezone.now() + timedelta(days=14),
    )  # fmt: skip
    inquiry = InquiryFactory(
        name=f"Sam {INQUIRY_NAME}", email=f"{INQUIRY_EMAIL}@example.org",
        message=f"Hello {INQUIRY}", coordinator_notes=f"Called {INQUIRY_NOTE}",
    )  # fmt: skip
    # A coordinator's change in the inbox is in the admin's history, which names the inquiry.
    request = RequestFactory().post("/admin/")
    request.user = UserFactory(is_staff=True, is_superuser=True)
    admin.site._registry[Inquiry].log_change(request, inquiry, "Changed status.")
    RoomRemoval.objects.create(
        meeting=meeting, user=member, removed_by=cohort.lead, reason=f"Because {ROOM_REMOVAL}"
    )
    post = CarePostFactory(
        cohort=cohort, hidden_at=timezone.now(), hidden_by=cohort.lead, hidden_reason=HIDDEN,
        title=f"Help {POST_TITLE}", details=f"Because {POST_DETAILS}",
    )  # fmt: skip
    make_match(post, UserFactory(), thanks=f"Thank you {THANKS}")
    CareReport.objects.create(
        post=post, reporter=UserFactory(), reason=f"Worried {REPORT}",
        resolved_at=timezone.now(), resolved_by=cohort.lead, resolution_note=RESOLUTION,
    )  # fmt: skip


def read_back() -> dict[str, str]:
    """Each canary as the application reads it, proving it was written where the test looks."""
    inquiry = Inquiry.objects.latest("pk")
    report = CareReport.objects.get()
    return {
        NOTE: "".join(n.text for n in GroupNote.objects.all()),
        REFLECTION: Reflection.objects.get().body,
        ANSWER: Assessment.objects.get().answers,
        GOODBYE: "".join(e.goodbye for e in Enrollment.objects.all()),
        REMOVAL: "".join(e.removal_reason for e in Enrollment.objects.all()),
        ACTION: RiskAlert.objects.get().action_note,
        INQUIRY: inquiry.message,
        INQUIRY_NOTE: inquiry.coordinator_notes,
        ROOM_REMOVAL: RoomRemoval.objects.get().reason,
        HIDDEN: CarePost.objects.get().hidden_reason,
        POST_TITLE: CarePost.objects.get().title,
        POST_DETAILS: CarePost.objects.get().details,
        THANKS: CareMatch.objects.get().thanks,
        SIGNED_NAME: "".join(s.signed_name for s in ConsentSignature.objects.all()),
        INQUIRY_NAME: inquiry.name,
        INQUIRY_EMAIL: inquiry.email,
        PARTNER_EMAIL: PartnerInvite.objects.get().email,
        REPORT: report.reason,
        RESOLUTION: report.resolution_note,
    }


def test_canaries_are_absent_from_raw_table_reads() -> None:
    plant()
    for canary, text in read_back().items():
        assert canary in text
    tables = ["clinic_individualnote", "django_admin_log", *sorted(set(CANARIES.values()))]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            raw = repr(cursor.fetchall())
            for canary in CANARIES:
                assert canary not in raw, f"{canary} readable in {table}"


def test_canaries_are_absent_from_the_logs_even_with_every_statement_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """D5: writing and reading all that text logs none of it, at every level, even with the
    database layer logging each statement and its parameters (as with DEBUG on): the text is
    encrypted before it becomes a parameter."""
    connection.force_debug_cursor = True
    try:
        with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, "django.db.backends"):
            plant()
            read = read_back()
    finally:
        connection.force_debug_cursor = False
    for canary, text in read.items():
        assert canary in text
    logged = "\n".join(
        record.getMessage() + repr(getattr(record, "params", "")) for record in caplog.records
    )
    assert "INSERT INTO" in logged  # the statements really were logged
    for canary in CANARIES:
        assert canary not in logged, f"{canary} in the logs"
        assert canary.lower() not in logged.lower(), f"{canary} in the logs"


def test_canaries_are_absent_from_a_database_dump(tmp_path: Path) -> None:
    plant()
    if connection.vendor == "postgresql":
        if not shutil.which("pg_dump"):
            pytest.skip("pg_dump is not installed")
        from circlecare.clinic.management.commands.backup import pg_env

        args, env = pg_env()
        dump = subprocess.run(  # a plain, uncompressed dump: every byte searchable
            ["pg_dump", *args, "--format=plain", connection.settings_dict["NAME"]],
            check=True, capture_output=True, env=env,
        ).stdout  # fmt: skip
    else:
        path = tmp_path / "dump.sqlite3"
        call_command("backup", str(path))
        dump = path.read_bytes()
    assert len(dump) > 10_000
    for canary in CANARIES:
        assert canary.encode() not in dump, f"{canary} readable in the dump"
    # And they are really there, encrypted: the application reads them back.
    for canary, text in read_back().items():
        assert canary in text
