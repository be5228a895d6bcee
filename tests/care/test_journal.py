"""The reflection journal: private, encrypted at rest, exportable, shared only by choice."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from circlecare.care.models import Reflection
from circlecare.enrollment.models import Enrollment
from circlecare.enrollment.services import withdraw
from tests.care.factories import ReflectionFactory, make_circle
from tests.factories import CohortFactory, EnrollmentFactory, UserFactory

pytestmark = pytest.mark.django_db

CANARY = "canary-7f3e-blue-heron-journal"


def logged_in(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_member_writes_an_entry_answering_this_weeks_prompt() -> None:
    circle = make_circle(1)
    member = circle.members[0]
    client = logged_in(member)
    page = client.get(reverse("care:journal") + f"?cohort={circle.cohort.pk}")
    assert "Prompt 1" in page.content.decode()
    response = client.post(
        reverse("care:journal"), {"cohort": circle.cohort.pk, "body": "I felt seen today."}
    )
    assert response.status_code == 302
    entry = Reflection.objects.get()
    assert (entry.member, entry.cohort, entry.week_number, entry.prompt) == (
        member,
        circle.cohort,
        1,
        "Prompt 1",
    )
    assert not entry.shared_with_facilitator


def test_a_prompt_two_groups_ask_this_week_is_shown_once_naming_both() -> None:
    circle = make_circle(1, name="Tuesday")
    member = circle.members[0]
    other = CohortFactory(
        program=circle.cohort.program,
        lead=circle.lead,
        name="Thursday",
        first_meeting_date=circle.cohort.first_meeting_date,
        weekday=circle.cohort.weekday,
    )
    EnrollmentFactory(cohort=other, member=member)
    page = logged_in(member).get(reverse("care:journal")).content.decode()
    prompts = page.split('id="prompts-heading"')[1].split("</section>")[0]
    assert prompts.count("Prompt 1") == 1
    assert "— Tuesday · week 1" in prompts and "— Thursday · week 1" in prompts


def test_free_entry_and_empty_entry() -> None:
    member = make_circle(1).members[0]
    client = logged_in(member)
    assert client.post(reverse("care:journal"), {"body": "Just a note."}).status_code == 302
    assert Reflection.objects.get().cohort is None
    bad = client.post(reverse("care:journal"), {"body": "   "})
    assert (
        bad.status_code == 400 and "Please write something before saving." in bad.content.decode()
    )
    too_long = client.post(reverse("care:journal"), {"body": "x" * 10_001})
    assert too_long.status_code == 400
    assert Reflection.objects.count() == 1


def test_a_free_entry_cannot_be_shared() -> None:
    member = make_circle(1).members[0]
    response = logged_in(member).post(reverse("care:journal"), {"body": "Note", "share": "on"})
    assert response.status_code == 400
    assert "Choose the group whose facilitator should read it." in response.content.decode()
    assert not Reflection.objects.exists()


def test_cannot_attach_an_entry_to_someone_elses_group() -> None:
    member = make_circle(1).members[0]
    other = make_circle(1)
    response = logged_in(member).post(
        reverse("care:journal"), {"cohort": other.cohort.pk, "body": "Note"}
    )
    assert response.status_code == 400
    assert not Reflection.objects.exists()


def test_canary_is_absent_from_the_raw_table() -> None:
    member = make_circle(1).members[0]
    logged_in(member).post(reverse("care:journal"), {"body": f"Today {CANARY} happened."})
    table = Reflection._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT body FROM {table}")  # noqa: S608 - fixed table name
        rows = cursor.fetchall()
    assert len(rows) == 1
    raw = rows[0][0]
    assert CANARY not in raw and raw.startswith("v2:")
    assert CANARY in Reflection.objects.get().body


def test_sharing_is_said_not_to_be_the_way_to_ask_for_help_in_a_hurry() -> None:
    """Nobody is told when an entry is shared: the facilitator reads it when they next look. A
    member writing in distress is told so where they choose to share, and whom to call now."""
    circle = make_circle(1)
    member = circle.members[0]
    entry = ReflectionFactory(member=member, cohort=circle.cohort, body="About the group")
    client = logged_in(member)
    for url in (reverse("care:journal"), reverse("care:journal_entry", args=[entry.pk])):
        body = client.get(url).content.decode()
        assert "when they next look: that may not be for some days." in body
        assert "If you need help now, call or text 988 (US), or your local emergency number." in (
            body
        )


def test_sharing_and_unsharing_an_entry() -> None:
    circle = make_circle(1)
    member = circle.members[0]
    entry = ReflectionFactory(member=member, cohort=circle.cohort, body="About the group")
    client = logged_in(member)
    url = reverse("care:journal_entry", args=[entry.pk])
    client.post(url, {"body": "About the group", "share": "on"})
    entry.refresh_from_db()
    assert entry.shared_with_facilitator and entry.shared_at is not None
    overview = logged_in(circle.lead).get(reverse("care:facilitate", args=[circle.cohort.pk]))
    body = overview.content.decode()
    assert reverse("care:shared_reflection", args=[circle.cohort.pk, entry.pk]) in body
    assert "About the group" not in body  # the list never shows the text itself
    client.post(url, {"body": "About the group"})
    entry.refresh_from_db()
    assert not entry.shared_with_facilitator
    shared = reverse("care:shared_reflection", args=[circle.cohort.pk, entry.pk])
    assert logged_in(circle.lead).get(shared).status_code == 404


def test_a_member_who_left_the_group_can_still_edit_and_stop_sharing_an_entry() -> None:
    circle = make_circle(1)
    member = circle.members[0]
    entry = ReflectionFactory(
        member=member,
        cohort=circle.cohort,
        body="About the group",
        shared_with_facilitator=True,
        shared_at=timezone.now(),
    )
    withdraw(enrollment=Enrollment.objects.get(member=member, cohort=circle.cohort))
    client = logged_in(member)
    url = reverse("care:journal_entry", args=[entry.pk])

    response = client.post(url, {"body": "Edited after leaving", "share": "on"})
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.body == "Edited after leaving" and entry.shared_with_facilitator

    response = client.post(url, {"body": "Edited after leaving"})
    assert response.status_code == 302
    entry.refresh_from_db()
    assert not entry.shared_with_facilitator
    shared = reverse("care:shared_reflection", args=[circle.cohort.pk, entry.pk])
    assert logged_in(circle.lead).get(shared).status_code == 404

    # Sharing it anew with a group they have left is refused, with a reason, and changes nothing.
    response = client.post(url, {"body": "Edited after leaving", "share": "on"})
    assert response.status_code == 400
    assert "no longer in this group" in response.content.decode()
    entry.refresh_from_db()
    assert not entry.shared_with_facilitator


def test_export_as_json_and_as_a_page() -> None:
    circle = make_circle(1, name="Tuesday")
    member = circle.members[0]
    ReflectionFactory(member=member, body="First")
    ReflectionFactory(member=member, cohort=circle.cohort, week_number=2, body="Second")
    someone_else = make_circle(1).members[0]
    ReflectionFactory(member=someone_else, body="Not mine")
    client = logged_in(member)
    response = client.get(reverse("care:journal_export_json"))
    assert response["Content-Type"].startswith("application/json")
    assert "attachment" in response["Content-Disposition"]
    assert response["Cache-Control"] == "no-store"
    data = json.loads(response.content)
    texts = [row["text"] for row in data["journal"]]
    assert "First" in texts and "Second" in texts and "Not mine" not in texts
    # The group by the words its pages use: the programme and, when it has one, its name.
    groups = {row["text"]: row["group"] for row in data["journal"]}
    cohort = circle.cohort
    assert groups == {"First": None, "Second": f"{cohort.program.title} — Tuesday"}
    page = client.get(reverse("care:journal_export")).content.decode()
    assert page.index("First") < page.index("Second") and "Not mine" not in page
    # Each entry's time as times are written elsewhere: "7:05 pm", not "7:05 p.m.".
    assert len(re.findall(r", \d{1,2}:\d{2} [ap]m [A-Z]", page)) >= 2 and ".m. " not in page


def test_the_same_entry_sent_twice_is_saved_once() -> None:
    """A second press on a slow connection, or a resubmitted form, does not keep (and share) a
    second copy; the same words written again later, or for another group, are a new entry."""
    circle = make_circle(1)
    member = circle.members[0]
    client = logged_in(member)
    data = {"body": "Tired today, but I went out.", "cohort": circle.cohort.pk, "share": "on"}
    for _ in range(2):
        response = client.post(reverse("care:journal"), data, follow=True)
        assert response.status_code == 200 and "Saved to your journal." in response.content.decode()
    entry = Reflection.objects.get()
    assert entry.shared_with_facilitator and entry.body == "Tired today, but I went out."
    client.post(reverse("care:journal"), {**data, "share": ""})
    client.post(reverse("care:journal"), {**data, "body": "Something else."})
    assert Reflection.objects.count() == 3
    Reflection.objects.update(created_at=timezone.now() - timedelta(minutes=11))
    client.post(reverse("care:journal"), data)
    assert Reflection.objects.count() == 4


def test_delete_only_your_own_entry() -> None:
    a = make_circle(1).members[0]
    b = make_circle(1).members[0]
    entry = ReflectionFactory(member=a)
    assert logged_in(b).post(reverse("care:journal_delete", args=[entry.pk])).status_code == 404
    assert Reflection.objects.filter(pk=entry.pk).exists()
    assert logged_in(a).post(reverse("care:journal_delete", args=[entry.pk])).status_code == 302
    assert not Reflection.objects.filter(pk=entry.pk).exists()


def test_delete_asks_first() -> None:
    member = make_circle(1).members[0]
    entry = ReflectionFactory(member=member)
    page = logged_in(member).get(reverse("care:journal_delete", args=[entry.pk]))
    assert page.status_code == 200 and "can&#x27;t be brought back" not in page.content.decode()
    assert "can't be brought back" in page.content.decode()
    assert Reflection.objects.filter(pk=entry.pk).exists()


def _read_as(facilitator: object, entry: Reflection) -> None:
    url = reverse("care:shared_reflection", args=[entry.cohort_id, entry.pk])
    assert logged_in(facilitator).get(url).status_code == 200


def test_the_member_sees_when_a_facilitator_has_read_an_entry_they_shared() -> None:
    circle = make_circle(1)
    member = circle.members[0]
    client = logged_in(member)
    client.post(
        reverse("care:journal"),
        {"cohort": circle.cohort.pk, "body": "A hard week", "share": "on"},
    )
    entry = Reflection.objects.get()
    url = reverse("care:journal_entry", args=[entry.pk])
    overview = reverse("care:facilitate", args=[circle.cohort.pk])
    assert "Not read yet." in client.get(url).content.decode()
    assert "not read yet" in logged_in(circle.lead).get(overview).content.decode()

    _read_as(circle.lead, entry)
    entry.refresh_from_db()
    first = entry.read_at
    assert first is not None
    day = timezone.localtime(first, ZoneInfo(member.time_zone)).strftime("%-d %B %Y")
    assert f"They read it on {day}." in client.get(url).content.decode()
    assert (
        "shared with the facilitator, read" in client.get(reverse("care:journal")).content.decode()
    )
    assert "not read yet" not in logged_in(circle.lead).get(overview).content.decode()
    exported = json.loads(client.get(reverse("care:journal_export_json")).content)
    assert datetime.fromisoformat(exported["journal"][0]["read_by_facilitator"]) == first

    _read_as(circle.lead, entry)  # a second read: the first is what the member is told of
    entry.refresh_from_db()
    assert entry.read_at == first


def test_a_changed_or_reshared_entry_is_unread_again() -> None:
    circle = make_circle(1)
    member = circle.members[0]
    entry = ReflectionFactory(
        member=member,
        cohort=circle.cohort,
        body="Before",
        shared_with_facilitator=True,
        shared_at=timezone.now(),
    )
    client = logged_in(member)
    url = reverse("care:journal_entry", args=[entry.pk])

    _read_as(circle.lead, entry)
    client.post(url, {"body": "Before", "share": "on"})  # saved unchanged: still read
    entry.refresh_from_db()
    assert entry.read_at is not None

    client.post(url, {"body": "After", "share": "on"})
    entry.refresh_from_db()
    assert entry.read_at is None
    assert "Not read yet." in client.get(url).content.decode()

    _read_as(circle.lead, entry)
    client.post(url, {"body": "After"})  # stops sharing
    client.post(url, {"body": "After", "share": "on"})  # and shares it again
    entry.refresh_from_db()
    assert entry.shared_with_facilitator and entry.read_at is None


def test_pages_about_a_shared_entry_name_the_group_not_only_its_programme() -> None:
    """A facilitator may lead several groups of one programme, and a member may be in two:
    "Circle of Connection" alone does not say which group an entry was shared with."""
    circle = make_circle(1, name="Midday circle")
    member = circle.members[0]
    other = CohortFactory(program=circle.cohort.program, lead=circle.lead, name="Monday evenings")
    EnrollmentFactory(cohort=other, member=member)
    client = logged_in(member)
    client.post(
        reverse("care:journal"),
        {"cohort": circle.cohort.pk, "body": "A hard week", "share": "on"},
    )
    entry = Reflection.objects.get()
    title = circle.cohort.program.title

    journal = client.get(reverse("care:journal")).content.decode()
    entries = journal[journal.index('id="entries-heading"') :]
    assert f"{title} — Midday circle" in entries
    for page in (
        client.get(reverse("care:journal_entry", args=[entry.pk])),
        client.get(reverse("care:journal_export")),
        logged_in(circle.lead).get(
            reverse("care:shared_reflection", args=[circle.cohort.pk, entry.pk])
        ),
    ):
        body = page.content.decode()
        assert f"{title} — Midday circle" in body
        assert "Monday evenings" not in body


def test_a_new_facilitator_sees_entries_their_predecessor_read_as_unread() -> None:
    """A read counts for the group's facilitators while its reader leads the group: when the
    facilitator is replaced, the new one is shown what they have not read; a co-facilitator's
    read still counts for the lead."""
    circle = make_circle(1)
    entry = ReflectionFactory(
        member=circle.members[0],
        cohort=circle.cohort,
        shared_with_facilitator=True,
        shared_at=timezone.now(),
    )
    overview = reverse("care:facilitate", args=[circle.cohort.pk])
    _read_as(circle.lead, entry)

    successor = UserFactory(display_name="New facilitator", is_facilitator=True)
    circle.cohort.lead = successor
    circle.cohort.save(update_fields=["lead"])
    assert "not read yet" in logged_in(successor).get(overview).content.decode()
    home = logged_in(successor).get(reverse("care:home")).content.decode()
    assert "1 shared reflection to read" in home

    co = UserFactory(display_name="Co-facilitator", is_facilitator=True)
    circle.cohort.co_facilitator = co
    circle.cohort.save(update_fields=["co_facilitator"])
    _read_as(co, entry)
    entry.refresh_from_db()
    assert entry.read_by == co and entry.read_at is not None
    assert "not read yet" not in logged_in(successor).get(overview).content.decode()
    home = logged_in(successor).get(reverse("care:home")).content.decode()
    assert "no shared reflections to read" in home
