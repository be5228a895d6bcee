"""HEAD on the API's read operations: the status and headers a GET gets, no body, no side effects.

A link checker, a monitor or a client asking whether something is there uses HEAD. Operations whose
every answer is recorded in the audit trail (alerts, notes, outcome reports) keep HEAD out (405),
as their pages do: no read is recorded without anything having been read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from circlecare.audit.models import AuditEvent
from tests.api.helpers import Api, Practice, make_practice
from tests.api.test_access_matrix import _objects

pytestmark = pytest.mark.django_db

URL = Callable[[Practice, dict[str, Any]], str]

# Every GET operation in the OpenAPI document: who asks, and the address they ask.
READS: dict[str, tuple[str | None, URL]] = {
    "/api/v1/programs": (None, lambda p, o: "/api/v1/programs"),
    "/api/v1/programs/{slug}": (None, lambda p, o: f"/api/v1/programs/{p.cohort.program.slug}"),
    "/api/v1/cohorts": (None, lambda p, o: "/api/v1/cohorts"),
    "/api/v1/cohorts/{cohort_id}": (None, lambda p, o: f"/api/v1/cohorts/{p.cohort.pk}"),
    "/api/v1/me": ("member", lambda p, o: "/api/v1/me"),
    "/api/v1/enrollments": ("member", lambda p, o: "/api/v1/enrollments"),
    "/api/v1/enrollments/{enrollment_id}": (
        "member",
        lambda p, o: f"/api/v1/enrollments/{o['enrollment'].pk}",
    ),
    "/api/v1/enrollments/rosters": ("lead", lambda p, o: "/api/v1/enrollments/rosters"),
    "/api/v1/enrollments/rosters/{cohort_id}": (
        "lead",
        lambda p, o: f"/api/v1/enrollments/rosters/{p.cohort.pk}",
    ),
    "/api/v1/meetings": ("member", lambda p, o: "/api/v1/meetings"),
    "/api/v1/meetings/calendar": ("member", lambda p, o: "/api/v1/meetings/calendar"),
    "/api/v1/meetings/{meeting_id}": ("member", lambda p, o: f"/api/v1/meetings/{p.meeting.pk}"),
    "/api/v1/meetings/{meeting_id}/attendance": (
        "lead",
        lambda p, o: f"/api/v1/meetings/{p.meeting.pk}/attendance",
    ),
    "/api/v1/care/groups": ("member", lambda p, o: "/api/v1/care/groups"),
    "/api/v1/care/groups/{group_id}/posts": (
        "member",
        lambda p, o: f"/api/v1/care/groups/{p.cohort.pk}/posts",
    ),
    "/api/v1/care/posts/{post_id}": ("member", lambda p, o: f"/api/v1/care/posts/{o['post'].pk}"),
    "/api/v1/care/matches": ("member", lambda p, o: "/api/v1/care/matches"),
    "/api/v1/care/matches/{match_id}": (
        "member",
        lambda p, o: f"/api/v1/care/matches/{o['match'].pk}",
    ),
    "/api/v1/measures/questionnaires": ("member", lambda p, o: "/api/v1/measures/questionnaires"),
    "/api/v1/measures/questionnaires/{assessment_id}": (
        "member",
        lambda p, o: f"/api/v1/measures/questionnaires/{o['questionnaire'].pk}",
    ),
    "/api/v1/measures/fhir": ("member", lambda p, o: "/api/v1/measures/fhir"),
}

AUDITED: dict[str, tuple[str, URL]] = {
    "/api/v1/measures/alerts": ("lead", lambda p, o: "/api/v1/measures/alerts"),
    "/api/v1/measures/alerts/{alert_id}": (
        "lead",
        lambda p, o: f"/api/v1/measures/alerts/{o['alert'].pk}",
    ),
    "/api/v1/measures/reports/outcomes": (
        "coordinator",
        lambda p, o: f"/api/v1/measures/reports/outcomes?program_id={p.cohort.program_id}",
    ),
    "/api/v1/clinic/meetings/{meeting_id}/notes": (
        "lead",
        lambda p, o: f"/api/v1/clinic/meetings/{p.meeting.pk}/notes",
    ),
    "/api/v1/clinic/notes/{kind}/{note_id}": (
        "lead",
        lambda p, o: f"/api/v1/clinic/notes/group/{o['note'].pk}",
    ),
}


@pytest.fixture(autouse=True)
def _clear_throttles() -> None:
    cache.clear()


def _api(practice: Practice, role: str | None) -> Api:
    return Api(None if role is None else getattr(practice, role))


def test_every_read_operation_is_listed_here(client: Client) -> None:
    """A new GET operation has to be placed: does it answer HEAD, or is every read recorded?"""
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    reads = {path for path, operations in paths.items() if "get" in operations}
    assert reads == set(READS) | set(AUDITED)


@pytest.mark.parametrize("path", sorted(READS))
def test_head_answers_as_get_does_without_a_body(path: str) -> None:
    practice = make_practice()
    objects = _objects(practice)
    role, url_for = READS[path]
    api = _api(practice, role)
    url = url_for(practice, objects)
    events = AuditEvent.objects.count()
    head = api.client.head(url, **api.headers)
    assert AuditEvent.objects.count() == events
    get = api.get(url)
    assert head.status_code == get.status_code == 200, head.content
    assert head.content == b""
    assert head["Content-Type"] == get["Content-Type"]


def test_head_on_a_missing_object_is_404_as_get_is() -> None:
    practice = make_practice()
    api = Api(practice.other_member)
    head = api.client.head(f"/api/v1/meetings/{practice.meeting.pk}", **api.headers)
    assert head.status_code == 404
    assert Api().client.head("/api/v1/meetings").status_code == 401


@pytest.mark.parametrize("path", sorted(AUDITED))
def test_audited_reads_refuse_head_and_record_nothing(path: str) -> None:
    practice = make_practice()
    objects = _objects(practice)
    role, url_for = AUDITED[path]
    api = _api(practice, role)
    url = url_for(practice, objects)
    events = AuditEvent.objects.count()
    head = api.client.head(url, **api.headers)
    assert head.status_code == 405
    assert head["Allow"] == "GET"
    assert AuditEvent.objects.count() == events
    assert api.get(url).status_code == 200
    assert AuditEvent.objects.count() > events
