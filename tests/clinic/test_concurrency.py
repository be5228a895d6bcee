"""Races on PostgreSQL: parallel first saves, parallel signing and parallel amendments of a note."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connections

from circlecare.audit.models import AuditAction, AuditEvent
from circlecare.clinic import services
from circlecare.clinic.errors import AmendmentInProgress, NoteSigned
from circlecare.clinic.models import GroupNote, NoteStatus
from tests.clinic.factories import started_meeting
from tests.conftest import requires_postgres

pytestmark = [
    requires_postgres(),
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def race(n: int, work: Callable[[int], None]) -> tuple[int, list[BaseException]]:
    barrier = threading.Barrier(n)
    refused: list[BaseException] = []
    unexpected: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            work(i)
        except (NoteSigned, AmendmentInProgress) as exc:
            refused.append(exc)
        except BaseException as exc:
            unexpected.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(refused), unexpected


def test_parallel_first_saves_make_one_group_note() -> None:
    scene = started_meeting()
    refused, unexpected = race(
        6,
        lambda i: (
            services.save_group_note(meeting=scene.meeting, text=f"Draft {i}", actor=scene.lead)
            and None
        ),
    )
    assert (refused, unexpected) == (0, [])
    assert GroupNote.objects.filter(meeting=scene.meeting).count() == 1
    changes = AuditEvent.objects.filter(action=AuditAction.NOTE_CHANGED)
    assert sorted(e.data["change"] for e in changes) == ["created"] + ["saved"] * 5


def test_parallel_signing_and_amending_happen_once() -> None:
    scene = started_meeting()
    note = services.save_group_note(meeting=scene.meeting, text="Shared", actor=scene.lead)
    refused, unexpected = race(
        5, lambda i: services.sign_note(note=note, actor=scene.lead) and None
    )
    assert (refused, unexpected) == (4, [])
    assert GroupNote.objects.get(pk=note.pk).status == NoteStatus.SIGNED
    refused, unexpected = race(
        5, lambda i: services.amend_note(note=note, actor=scene.lead) and None
    )
    assert (refused, unexpected) == (4, [])
    assert GroupNote.objects.filter(meeting=scene.meeting).count() == 2
