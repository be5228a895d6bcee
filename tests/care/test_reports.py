"""Reports on posts: the group's facilitators see the open ones and mark them resolved."""

from __future__ import annotations

import html
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from circlecare.audit.models import AuditAction, AuditEvent
from circlecare.care import services
from circlecare.care.models import CareReport
from circlecare.errors import InvalidTransition
from circlecare.programs.models import ProgramKind
from tests.care.factories import CarePostFactory, make_circle
from tests.factories import EnrollmentFactory, UserFactory

pytestmark = pytest.mark.django_db


def logged_in(user: object, **kwargs: bool) -> Client:
    client = Client(**kwargs)
    client.force_login(user)  # type: ignore[arg-type]
    return client


def reported() -> tuple[object, CareReport]:
    circle = make_circle(2)
    author, reporter = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=author, title="Selling things")
    report = CareReport.objects.create(post=post, reporter=reporter, reason="Looks like adverts")
    return circle, report


def overview(user: object, cohort_id: int) -> str:
    return logged_in(user).get(reverse("care:facilitate", args=[cohort_id])).content.decode()


def resolve_url(report: CareReport) -> str:
    return reverse("care:resolve_report", args=[report.pk])


def test_a_facilitator_resolves_a_report_with_a_note_and_it_stays_visible_as_resolved() -> None:
    circle, report = reported()
    page = overview(circle.lead, circle.cohort.pk)
    assert "Looks like adverts" in page and resolve_url(report) in page

    response = logged_in(circle.lead).post(
        resolve_url(report), {"note": "  Spoke with them; post hidden.  "}, follow=True
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "The report is marked resolved." in page
    report.refresh_from_db()
    assert report.resolved_by == circle.lead and report.resolved_at is not None
    assert report.resolution_note == "Spoke with them; post hidden."
    # Out of the open list, still shown under "Resolved" with who and the note.
    assert resolve_url(report) not in page and "No open reports." in page
    assert "Resolved by Facilitator" in page and "Spoke with them; post hidden." in page
    assert "Looks like adverts" in page
    event = AuditEvent.objects.get(action=AuditAction.CARE_REPORT_RESOLVED)
    assert event.actor == circle.lead and event.target_id == str(report.pk)
    assert "Spoke with them" not in str(event.data)


def test_the_note_is_optional_and_a_co_facilitator_may_resolve() -> None:
    circle, report = reported()
    co = UserFactory(display_name="Co", is_facilitator=True)
    circle.cohort.co_facilitator = co
    circle.cohort.save()
    assert logged_in(co).post(resolve_url(report), {}).status_code == 302
    report.refresh_from_db()
    assert report.resolved_by == co and report.resolution_note == ""


@pytest.mark.parametrize("who", ["reporter", "author", "coordinator", "other_lead"])
def test_nobody_else_can_resolve(who: str) -> None:
    _circle, report = reported()
    user = {
        "reporter": report.reporter,
        "author": report.post.author,
        "coordinator": UserFactory(is_staff=True, is_superuser=True),
        "other_lead": make_circle(1).lead,
    }[who]
    assert logged_in(user).post(resolve_url(report), {"note": "x"}).status_code == 404
    report.refresh_from_db()
    assert report.resolved_at is None
    assert not AuditEvent.objects.filter(action=AuditAction.CARE_REPORT_RESOLVED).exists()


def test_a_missing_report_is_404() -> None:
    circle, report = reported()
    url = reverse("care:resolve_report", args=[report.pk + 1000])
    assert logged_in(circle.lead).post(url).status_code == 404


def test_a_too_long_note_is_explained_and_changes_nothing() -> None:
    circle, report = reported()
    response = logged_in(circle.lead).post(resolve_url(report), {"note": "x" * 301}, follow=True)
    assert response.status_code == 200
    assert "Nothing was changed. Please keep the note to 300 characters" in (
        response.content.decode()
    )
    report.refresh_from_db()
    assert report.resolved_at is None
    assert not AuditEvent.objects.filter(action=AuditAction.CARE_REPORT_RESOLVED).exists()


def test_resolving_twice_says_so_and_keeps_the_first() -> None:
    circle, report = reported()
    client = logged_in(circle.lead)
    client.post(resolve_url(report), {"note": "First"})
    again = client.post(resolve_url(report), {"note": "Second"}, follow=True)
    assert "This report is already resolved." in again.content.decode()
    report.refresh_from_db()
    assert report.resolution_note == "First"
    assert AuditEvent.objects.filter(action=AuditAction.CARE_REPORT_RESOLVED).count() == 1


def test_resolving_needs_the_csrf_token_and_a_post() -> None:
    circle, report = reported()
    strict = logged_in(circle.lead, enforce_csrf_checks=True)
    assert strict.post(resolve_url(report), {"note": "x"}).status_code == 403
    assert logged_in(circle.lead).get(resolve_url(report)).status_code == 405
    report.refresh_from_db()
    assert report.resolved_at is None


def test_overview_query_count_does_not_grow_with_reports(
    django_assert_max_num_queries: Any,
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    circle, _report = reported()
    client = logged_in(circle.lead)
    url = reverse("care:facilitate", args=[circle.cohort.pk])

    def add(n: int) -> None:
        for _ in range(n):
            post = CarePostFactory(cohort=circle.cohort, author=circle.members[0])
            CareReport.objects.create(post=post, reporter=circle.members[1], reason="Hm")
            resolved = CareReport.objects.create(
                post=CarePostFactory(cohort=circle.cohort, author=circle.members[1]),
                reporter=circle.members[0],
                reason="Hm",
            )
            client.post(resolve_url(resolved), {"note": "Done"})

    add(1)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    # Counted now: each request of add() below starts a fresh query log.
    baseline = len(few.captured_queries)
    add(10)
    with django_assert_max_num_queries(baseline):
        page = client.get(url).content.decode()
    assert page.count('class="card care-report"') == 12
    assert page.count('class="card care-report-resolved"') == 11


def test_hiding_a_post_and_showing_it_again_are_audited() -> None:
    circle, report = reported()
    client = logged_in(circle.lead)
    post = report.post
    client.post(reverse("care:hide_post", args=[post.pk]), {"reason": "Advertising"})
    client.post(reverse("care:unhide_post", args=[post.pk]))
    events = list(
        AuditEvent.objects.filter(target_id=str(post.pk), target_type="care.carepost")
        .order_by("pk")
        .values_list("action", "actor", "subject")
    )
    assert events == [
        (AuditAction.CARE_POST_HIDDEN, circle.lead.pk, post.author_id),
        (AuditAction.CARE_POST_SHOWN, circle.lead.pk, post.author_id),
    ]


def test_the_reporter_sees_that_the_facilitators_resolved_it_but_not_their_note() -> None:
    from datetime import UTC, datetime

    from circlecare.care import services

    circle, report = reported()
    author, reporter = circle.members
    post_url = reverse("care:post", args=[report.post_id])
    client = logged_in(reporter)
    page = client.get(post_url).content.decode()
    assert "You reported this post on" in page
    assert "The group's facilitators will look at it." in page
    assert reverse("care:report_post", args=[report.post_id]) not in page  # reported already
    home = client.get(reverse("care:home")).content.decode()
    assert "“Selling things” — reported on" in home and "the facilitators will look at it" in home

    when = datetime(timezone.now().year, 3, 4, 15, 0, tzinfo=UTC)
    services.resolve_report(
        report=report, note="Spoke with them privately.", actor=circle.lead, now=when
    )
    resolved = f"Resolved by the facilitators on {when:%A} 4 March"
    for url in (post_url, reverse("care:home")):
        page = client.get(url).content.decode()
        assert resolved in page
        assert "Spoke with them" not in page and circle.lead.display_name not in page
    # The author is not told about the report.
    page = logged_in(author).get(post_url).content.decode()
    assert "reported" not in page and "Resolved by" not in page


def test_the_reporter_sees_it_resolved_even_when_the_post_was_hidden() -> None:
    from circlecare.care import services

    circle, report = reported()
    reporter = circle.members[1]
    services.hide_post(post=report.post, reason="Adverts", actor=circle.lead)
    services.resolve_report(report=report, note="Hidden it.", actor=circle.lead)
    client = logged_in(reporter)
    assert client.get(reverse("care:post", args=[report.post_id])).status_code == 404
    home = client.get(reverse("care:home")).content.decode()
    assert "“Selling things” — reported on" in home and "Resolved by the facilitators on" in home
    assert "Hidden it." not in home and "Adverts" not in home


def test_a_too_long_reason_is_refused_by_the_services_themselves() -> None:
    """The forms stop it first; a caller without a form gets a message, not a database error
    (PostgreSQL refuses a value longer than the column)."""
    circle = make_circle(2)
    author, reporter = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=author)
    long = "x" * 501
    with pytest.raises(InvalidTransition, match="500 characters or fewer"):
        services.report_post(post=post, reason=long, actor=reporter)
    with pytest.raises(InvalidTransition, match="500 characters or fewer"):
        services.hide_post(post=post, reason=long, actor=circle.lead)
    post.refresh_from_db()
    assert not CareReport.objects.exists() and not post.is_hidden


def test_the_report_page_does_not_suggest_the_author_hears_of_reports() -> None:
    """Nothing tells a post's author that it was reported; the page must not suggest it is only
    the reporter's name that is kept from them."""
    circle = make_circle(2)
    author, reader = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=author)
    page = html.unescape(
        logged_in(reader).get(reverse("care:report_post", args=[post.pk])).content.decode()
    )
    assert f"{author.display_name} isn't told of your report." in page
    assert "told who reported" not in page


def test_the_report_page_says_at_once_when_a_report_could_only_be_refused() -> None:
    """The post's author, and someone who has already reported it, are told before they write
    a reason, not after."""
    circle, report = reported()
    url = reverse("care:report_post", args=[report.post.pk])
    for who, said in (
        (report.post.author, "You can't report your own post; you can close it instead."),
        (report.reporter, "You've already reported this post. Thank you."),
    ):
        response = logged_in(who).get(url, follow=True)
        assert response.redirect_chain == [(reverse("care:post", args=[report.post.pk]), 302)]
        assert said in html.unescape(response.content.decode())
    third = UserFactory()
    EnrollmentFactory(cohort=circle.cohort, member=third)
    assert logged_in(third).get(url).status_code == 200


def test_reports_made_before_the_board_was_turned_off_can_still_be_resolved() -> None:
    """The workspace and the care home count an open report; with the group's board turned off
    since, the care overview still shows it, with the way to mark it resolved."""
    group = make_circle(2, kind=ProgramKind.SKILLS)
    lead = logged_in(group.lead)
    facilitate = reverse("care:facilitate", args=[group.cohort.pk])
    lead.post(facilitate, {"enabled": "on"})
    author, reporter = group.members
    post = CarePostFactory(cohort=group.cohort, author=author, title="Selling things")
    report = CareReport.objects.create(post=post, reporter=reporter, reason="Looks like adverts")
    lead.post(facilitate, {})  # the board is turned off

    for home in ("clinic:home", "care:home"):
        assert "1 open report" in lead.get(reverse(home)).content.decode()
    page = lead.get(facilitate).content.decode()
    assert "Selling things" in page and "Looks like adverts" in page
    assert resolve_url(report) in page
    # Nobody can open the post while the board is off: the overview does not link to it.
    assert reverse("care:post", args=[post.pk]) not in page
    assert lead.get(reverse("care:post", args=[post.pk])).status_code == 404

    response = lead.post(resolve_url(report), {"note": "Talked it through"}, follow=True)
    assert "The report is marked resolved." in response.content.decode()
    report.refresh_from_db()
    assert report.resolved_by == group.lead
    assert "No open reports" in lead.get(reverse("clinic:home")).content.decode()
    assert "Looks like adverts" not in lead.get(facilitate).content.decode()
