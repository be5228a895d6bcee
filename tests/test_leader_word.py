"""A member is told about whoever leads their group in the group's own word: a therapy group's
"clinician", a skills group's or care circle's "facilitator" (DESIGN.md's word list)."""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from circlecare.care import services as care_services
from circlecare.meetings.live.models import RoomRemoval
from circlecare.programs.models import ProgramKind
from tests.care.factories import CarePostFactory, ReflectionFactory
from tests.factories import CohortFactory, LicenseFactory, ProgramFactory
from tests.measures.factories import AssessmentFactory
from tests.meetings.factories import meeting_at, member_of

pytestmark = pytest.mark.django_db

WORDS = {ProgramKind.THERAPY: "clinician", ProgramKind.CARE_CIRCLE: "facilitator"}
OTHER = {"clinician": "facilitator", "facilitator": "clinician"}


def _group(kind: str) -> dict[str, Any]:
    """A group of ``kind`` led by a clinician licensed in New York, meeting now, with a member
    seated a week ago and another member who has posted on its care board."""
    lead = LicenseFactory(state="NY").clinician.user
    cohort = CohortFactory(program=ProgramFactory(kind=kind), lead=lead)
    if kind != ProgramKind.CARE_CIRCLE:
        care_services.set_board_enabled(cohort=cohort, enabled=True, actor=lead)
    meeting = meeting_at(cohort, timezone.now() - timedelta(minutes=5))
    member = member_of(cohort, seated_since=timezone.now() - timedelta(days=7), home_state="NY")
    poster = member_of(cohort)
    client = Client()
    client.force_login(member)
    return {
        "cohort": cohort,
        "meeting": meeting,
        "member": member,
        "lead": lead,
        "post": CarePostFactory(cohort=cohort, author=poster, title="A walk on Sunday"),
        "client": client,
    }


def _says(page: str, word: str, *phrases: str) -> None:
    """Each phrase is on the page with ``word``, and nowhere with the other kind's word."""
    page = html.unescape(page)
    for phrase in phrases:
        assert phrase.format(word) in page, phrase.format(word)
        assert phrase.format(OTHER[word]) not in page, phrase.format(OTHER[word])


@pytest.mark.parametrize("kind", list(WORDS))
def test_the_room_and_the_meeting_page_name_the_groups_leader(kind: str) -> None:
    g, word = _group(kind), WORDS[kind]
    client, pk = g["client"], g["meeting"].pk
    joined = client.post(
        reverse("meetings:join", kwargs={"pk": pk}),
        {"state": "NY"} if kind == ProgramKind.THERAPY else {},
    )
    assert joined["Location"] == reverse("meetings:room", kwargs={"pk": pk})
    room = client.get(reverse("meetings:room", kwargs={"pk": pk}))
    assert room.status_code == 200
    # room.js says "Waiting for a … to let you in" and the like with the page's word.
    _says(room.content.decode(), word, 'data-leader="{}"', "A {} will let you in shortly.")

    RoomRemoval.objects.create(
        meeting=g["meeting"], user=g["member"], removed_by=g["lead"], reason="Talking over others"
    )
    turned_away = client.get(reverse("meetings:room", kwargs={"pk": pk}), follow=True)
    assert turned_away.redirect_chain[-1][0] == reverse("meetings:detail", kwargs={"pk": pk})
    page = turned_away.content.decode()
    # Once in the message at the top, once on the meeting page itself.
    assert page.count(f"A {word} asked you to leave this meeting") == 2
    assert f"A {OTHER[word]} asked you to leave" not in page


@pytest.mark.parametrize("kind", list(WORDS))
def test_the_check_in_names_the_groups_leader(kind: str) -> None:
    g, word = _group(kind), WORDS[kind]
    checkin = AssessmentFactory(
        member=g["member"], cohort=g["cohort"], instrument="CHECKIN", occasion="checkin"
    )
    page = g["client"].get(f"/measures/questionnaire/{checkin.pk}/").content.decode()
    _says(
        page,
        word,
        "It helps your {} know how the meeting went",
        "private to you and your group's {}s.",
    )


@pytest.mark.parametrize("kind", list(WORDS))
def test_the_journal_names_the_groups_leader(kind: str) -> None:
    g, word = _group(kind), WORDS[kind]
    shared = ReflectionFactory(
        member=g["member"],
        cohort=g["cohort"],
        shared_with_facilitator=True,
        shared_at=timezone.now(),
    )
    page = g["client"].get(reverse("care:journal")).content.decode()
    _says(
        page,
        word,
        "share it with your group's {}.",
        "Share this entry with the group's {}",
        "Only the {}s of the group you chose can read a shared entry",
        "shared with the {}",
    )
    entry = g["client"].get(reverse("care:journal_entry", kwargs={"reflection_id": shared.pk}))
    _says(
        entry.content.decode(),
        word,
        "Shared with the {} on",
        "Share this entry with the group's {}",
    )
    refused = g["client"].post(reverse("care:journal"), {"body": "A day.", "share": "on"})
    assert refused.status_code == 400
    _says(refused.content.decode(), word, "Choose the group whose {} should read it.")


@pytest.mark.parametrize("kind", list(WORDS))
def test_reporting_a_care_post_names_the_groups_leaders(kind: str) -> None:
    g, word = _group(kind), WORDS[kind]
    client, url = g["client"], reverse("care:report_post", kwargs={"post_id": g["post"].pk})
    _says(client.get(url).content.decode(), word, "Only the group's {}s see reports")
    reported = client.post(url, {"reason": "It names someone outside the group."}, follow=True)
    _says(reported.content.decode(), word, "The group's {}s will look at this post.")
    home = client.get(reverse("care:home")).content.decode()
    _says(home, word, "Only the group's {}s see reports.", "the {}s will look at it")
    post_page = client.get(reverse("care:post", kwargs={"post_id": g["post"].pk}))
    _says(post_page.content.decode(), word, "The group's {}s will look at it.")


def test_a_member_of_both_kinds_of_group_is_told_of_both() -> None:
    from circlecare.care.forms import leader_words

    therapy = CohortFactory(program=ProgramFactory(kind=ProgramKind.THERAPY))
    circle = CohortFactory(program=ProgramFactory(kind=ProgramKind.CARE_CIRCLE))
    assert therapy.program.leader_word == "clinician"
    assert circle.program.leader_word == "facilitator"
    assert CohortFactory(program=ProgramFactory(kind=ProgramKind.SKILLS)).program.leader_word == (
        "facilitator"
    )
    assert leader_words([circle, therapy]) == "clinician or facilitator"
    assert leader_words([circle, therapy], plural=True) == "clinicians or facilitators"
    assert leader_words([]) == "facilitator"
