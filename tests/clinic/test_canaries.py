"""SECURITY.md D1: clinical text (notes, answers, reflections) never appears in the clear at rest —
not in a raw read of the tables, not in a database dump."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from circlecare.care.models import Reflection
from circlecare.clinic.services import create_individual_notes, save_group_note
from circlecare.measures.models import Assessment
from circlecare.meetings.models import Attendance
from tests.factories import EnrollmentFactory
from tests.meetings.factories import meeting_at

pytestmark = pytest.mark.django_db(transaction=True)

NOTE = "CANARY-NOTE-7f3a"
REFLECTION = "CANARY-REFLECTION-91bc"
ANSWER = "CANARY-ANSWER-2d4e"


def plant() -> None:
    enrollment = EnrollmentFactory()
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


def test_canaries_are_absent_from_raw_table_reads() -> None:
    plant()
    tables = ["clinic_groupnote", "clinic_individualnote", "care_reflection", "measures_assessment"]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            raw = repr(cursor.fetchall())
            for canary in (NOTE, REFLECTION, ANSWER):
                assert canary not in raw, f"{canary} readable in {table}"


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
    for canary in (NOTE, REFLECTION, ANSWER):
        assert canary.encode() not in dump
    # And they are really there, encrypted: the application reads them back.
    assert Reflection.objects.get().body.endswith(REFLECTION)
