"""``circlecare.prebuilt``: built once, and each caller gets its own copy."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, connections
from django.db.models import Q, QuerySet
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from circlecare import prebuilt
from circlecare.enrollment.models import EnrollmentStatus
from circlecare.practice import eligibility
from circlecare.prebuilt import PreparedRead
from circlecare.programs.models import Cohort, CohortStatus, Program, ProgramKind
from circlecare.programs.queries import _listed, visible_cohort
from tests.conftest import requires_postgres
from tests.factories import (
    CohortFactory,
    CompactPrivilegeFactory,
    EnrollmentFactory,
    LicenseFactory,
    ProgramFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_builds_once_and_hands_out_fresh_copies() -> None:
    built = []

    @prebuilt.prebuilt
    def programs() -> QuerySet[Program]:
        built.append(1)
        return Program.objects.order_by("title")

    first = programs()
    assert list(first) == []
    ProgramFactory(title="B")
    ProgramFactory(title="A")
    # The first copy was evaluated before the programs existed; later copies are not affected.
    assert list(first) == []
    assert [p.title for p in programs()] == ["A", "B"]
    assert [p.title for p in programs().filter(title="B")] == ["B"]
    assert programs() is not programs()
    assert len(built) == 1


# --------------------------------------------------------------------------------- PreparedRead


def _cohorts_by_pk() -> PreparedRead[Cohort]:
    return PreparedRead(lambda pk: _listed().filter(pk=pk), "pk")


def _same_cohort(got: Cohort, want: Cohort) -> None:
    assert got.pk == want.pk
    assert got.name == want.name
    assert (got.held_count, got.waitlist_count) == (want.held_count, want.waitlist_count)  # type: ignore[attr-defined]
    assert got.program.title == want.program.title
    assert got.lead.display_name == want.lead.display_name
    assert got.lead.clinician.credentials == want.lead.clinician.credentials
    assert (got.co_facilitator and got.co_facilitator.pk) == (
        want.co_facilitator and want.co_facilitator.pk
    )


def test_a_prepared_read_gives_what_its_queryset_gives_for_each_value(
    django_assert_num_queries: Any,
) -> None:
    """Rows, annotations and related objects match the plain queryset's, value after value, and
    the statement run is the one Django compiles for that value."""
    read = _cohorts_by_pk()
    first = CohortFactory(name="First", co_facilitator=UserFactory(display_name="Co"))
    second = CohortFactory(name="Second", capacity=1)
    EnrollmentFactory(cohort=second)
    EnrollmentFactory(cohort=second, status=EnrollmentStatus.WAITLISTED, confirmed_at=None)
    for cohort in (first, second, first):
        want = _listed().get(pk=cohort.pk)
        with CaptureQueriesContext(connection) as ran:
            (got,) = read(pk=cohort.pk)
        assert len(ran.captured_queries) == 1
        with CaptureQueriesContext(connection) as compiled_now:
            list(_listed().filter(pk=cohort.pk))
        assert ran.captured_queries[0]["sql"] == compiled_now.captured_queries[0]["sql"]
        with django_assert_num_queries(0):
            _same_cohort(got, want)
    assert (second.pk, 1, 1) == (
        read(pk=second.pk)[0].pk,
        read(pk=second.pk)[0].held_count,  # type: ignore[attr-defined]
        read(pk=second.pk)[0].waitlist_count,  # type: ignore[attr-defined]
    )
    assert read(pk=second.pk + first.pk + 1000) == []


def test_a_prepared_read_sees_rows_written_after_it_was_compiled() -> None:
    read = PreparedRead(lambda program: Cohort.objects.filter(program_id=program), "program")
    program = ProgramFactory()
    assert read(program=program.pk) == []
    made = CohortFactory(program=program)
    assert [c.pk for c in read(program=program.pk)] == [made.pk]


def test_a_prepared_read_runs_its_querysets_prefetches() -> None:
    lead = LicenseFactory(state="NJ").clinician.user
    cohort = CohortFactory(lead=lead)
    read = PreparedRead(
        lambda pk: (
            Cohort.objects.select_related("lead__clinician")
            .prefetch_related("lead__clinician__licenses")
            .filter(pk=pk)
        ),
        "pk",
    )
    (got,) = read(pk=cohort.pk)
    assert [lic.state for lic in got.lead.clinician.licenses.all()] == ["NJ"]


def test_a_value_goes_wherever_the_query_uses_it_and_must_be_used() -> None:
    first, second = CohortFactory(), CohortFactory()
    either = PreparedRead(
        lambda pk: Cohort.objects.filter(Q(pk=pk) | Q(lead_id=pk)).order_by("pk"), "pk"
    )
    assert [c.pk for c in either(pk=first.pk)] == [
        c.pk for c in Cohort.objects.filter(Q(pk=first.pk) | Q(lead_id=first.pk)).order_by("pk")
    ]
    assert [c.pk for c in either(pk=second.lead_id)] == [
        c.pk
        for c in Cohort.objects.filter(Q(pk=second.lead_id) | Q(lead_id=second.lead_id)).order_by(
            "pk"
        )
    ]
    assert second.pk in [c.pk for c in either(pk=second.lead_id)]
    never = PreparedRead(lambda pk: Cohort.objects.all(), "pk")
    with pytest.raises(ImproperlyConfigured, match="does not reach the SQL"):
        never(pk=1)
    read = _cohorts_by_pk()
    with pytest.raises(TypeError):
        read(cohort=1)
    with pytest.raises(ValueError):
        read(pk="1; DROP TABLE programs_cohort")  # type: ignore[arg-type]


def test_days_are_values_too() -> None:
    soon = CohortFactory()
    later = CohortFactory(first_meeting_date=soon.first_meeting_date + timedelta(days=7))
    read = PreparedRead(
        lambda on: Cohort.objects.filter(
            Q(first_meeting_date__gte=on) | Q(enrollment_deadline__gte=on)
        ).order_by("pk"),
        "on",
    )
    assert [c.pk for c in read(on=soon.first_meeting_date)] == [soon.pk, later.pk]
    assert [c.pk for c in read(on=later.first_meeting_date)] == [later.pk]
    assert read(on=later.first_meeting_date + timedelta(days=1)) == []


def test_lists_and_moments_are_values_too() -> None:
    """A list compiles one statement per length; an empty one is Django's to read; a moment is
    compared as Django compares it; a naive one is refused."""
    read = PreparedRead(
        lambda ids, after: Cohort.objects.filter(pk__in=ids, created_at__gt=after).order_by("pk"),
        "ids",
        "after",
    )
    made = [CohortFactory() for _ in range(3)]
    ids = [c.pk for c in made]
    before = made[0].created_at - timedelta(seconds=1)
    assert [c.pk for c in read(ids=ids, after=before)] == ids
    assert [c.pk for c in read(ids=ids[1:], after=before)] == ids[1:]
    assert [c.pk for c in read(ids=[ids[2], ids[0]], after=before)] == [ids[0], ids[2]]
    assert read(ids=ids, after=made[2].created_at + timedelta(seconds=1)) == []
    assert read(ids=[], after=before) == []
    everyone_else = PreparedRead(lambda ids: Cohort.objects.exclude(pk__in=ids), "ids")
    assert {c.pk for c in everyone_else(ids=[])} == set(ids)
    assert {c.pk for c in everyone_else(ids=ids[:1])} == set(ids[1:])
    with pytest.raises(ValueError, match="aware"):
        read(ids=ids, after=datetime(2030, 1, 1))


def test_a_key_no_column_can_hold_is_left_to_django(client: Client) -> None:
    """An id from a URL may be longer than any key: Django reads nothing (or everything, under
    exclude()) where the driver would refuse the number; the pages answer 404."""
    cohort = CohortFactory()
    huge = 2**70
    assert _cohorts_by_pk()(pk=huge) == []
    everyone_but = PreparedRead(lambda pk: Cohort.objects.exclude(pk=pk), "pk")
    assert [c.pk for c in everyone_but(pk=huge)] == [cohort.pk]
    assert client.get(reverse("programs:cohort", args=[huge])).status_code == 404
    client.force_login(UserFactory(is_staff=True))
    assert client.post(reverse("enrollment:join", args=[huge])).status_code == 404
    assert client.get(reverse("enrollment:roster", args=[huge])).status_code == 404


def test_lists_of_ever_new_lengths_stop_being_compiled_but_still_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(prebuilt, "_MAX_SHAPES", 2)
    read = PreparedRead(lambda ids: Cohort.objects.filter(pk__in=ids).order_by("pk"), "ids")
    ids = [CohortFactory().pk for _ in range(4)]
    for size in range(1, 5):
        assert [c.pk for c in read(ids=ids[:size])] == ids[:size]
    assert len(read._compiled) == 2


@requires_postgres()
@pytest.mark.django_db(transaction=True)
def test_threads_share_a_prepared_read_and_each_gets_its_own_rows() -> None:
    """One compiled statement, many threads each on their own connection and value."""
    cohorts = [CohortFactory(name=f"Group {i}") for i in range(6)]
    read = _cohorts_by_pk()
    start = threading.Barrier(6)

    def look(cohort: Cohort) -> list[str]:
        start.wait()
        try:
            return [read(pk=cohort.pk)[0].name for _ in range(20)]
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=6) as pool:
        seen = list(pool.map(look, cohorts))
    assert seen == [[c.name] * 20 for c in cohorts]


# ------------------------------------------------------------------------- the cohort reads


def test_a_visible_cohort_comes_with_its_leads_licences(django_assert_num_queries: Any) -> None:
    """The cohort, then the lead's licences and privileges: eligibility then needs no query."""
    clinician = LicenseFactory(state="NY").clinician
    CompactPrivilegeFactory(clinician=clinician, state="PA")
    program = ProgramFactory(kind=ProgramKind.THERAPY)
    cohort = CohortFactory(program=program, lead=clinician.user)
    with django_assert_num_queries(3):
        got = visible_cohort(cohort.pk)
    with django_assert_num_queries(0):
        assert eligibility.served_states(got) == {"NY", "PA"}
        assert eligibility.check(UserFactory.build(home_state="PA"), got).allowed
    draft = CohortFactory(program=program, status=CohortStatus.DRAFT)
    with pytest.raises(Cohort.DoesNotExist):
        visible_cohort(draft.pk)


def test_the_cohort_page_reads_four_queries_whatever_the_group(
    client: Client, django_assert_num_queries: Any
) -> None:
    """The cohort with its seats, the lead's licences and privileges, and its stored meetings."""
    clinician = LicenseFactory(state="NY").clinician
    busy = CohortFactory(program=ProgramFactory(kind=ProgramKind.THERAPY), lead=clinician.user)
    CompactPrivilegeFactory(clinician=clinician, state="PA")
    EnrollmentFactory.create_batch(3, cohort=busy)
    quiet = CohortFactory()
    for cohort in (busy, quiet):
        client.get(cohort.get_absolute_url())
        with django_assert_num_queries(4) as read:
            response = client.get(cohort.get_absolute_url())
        assert response.status_code == 200
        # A public page does not fetch its leaders' password hashes.
        assert not any('"password"' in query["sql"] for query in read.captured_queries)
    page = client.get(busy.get_absolute_url()).content.decode()
    assert "7 of 10 left" in page
    assert "New York and Pennsylvania" in page
