"""Who may see boards, posts, the facilitator's overview and journal entries: each role."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from circlecare.audit.models import AuditAction, AuditEvent
from circlecare.care.models import CareBoardSetting
from circlecare.programs.models import ProgramKind
from tests.care.factories import CarePostFactory, ReflectionFactory, make_circle
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROLES = ["member", "other_member", "facilitator", "other_lead", "coordinator", "anonymous"]


@pytest.fixture
def world() -> dict[str, Any]:
    circle = make_circle(2)
    other = make_circle(1)
    author = circle.members[0]
    post = CarePostFactory(cohort=circle.cohort, author=author, title="Walk by the river")
    private = ReflectionFactory(member=author, cohort=circle.cohort, body="private words")
    shared = ReflectionFactory(
        member=author, cohort=circle.cohort, body="shared words", shared_with_facilitator=True
    )
    return {
        "circle": circle,
        "post": post,
        "private": private,
        "shared": shared,
        "users": {
            "member": circle.members[1],
            "author": author,
            "other_member": other.members[0],
            "facilitator": circle.lead,
            "other_lead": other.lead,
            "coordinator": UserFactory(is_staff=True),
            "anonymous": None,
        },
    }


def client_for(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def get(world: dict[str, Any], role: str, url: str) -> Any:
    return client_for(world["users"][role]).get(url)


BOARD_SEERS = {"member", "facilitator"}


@pytest.mark.parametrize("role", ROLES)
def test_board_and_post_only_for_the_circle(world: dict[str, Any], role: str) -> None:
    cohort = world["circle"].cohort
    board = get(world, role, reverse("care:board", args=[cohort.pk]))
    post = get(world, role, reverse("care:post", args=[world["post"].pk]))
    if role in BOARD_SEERS:
        assert board.status_code == 200
        assert "Walk by the river" in board.content.decode()
        assert post.status_code == 200
    elif role == "anonymous":
        assert board.status_code == 302 and "/accounts/login/" in board["Location"]
        assert post.status_code == 302
    else:
        assert board.status_code == 404
        assert post.status_code == 404
        assert "Walk by the river" not in post.content.decode()


@pytest.mark.parametrize("role", ROLES)
def test_facilitator_overview_only_for_facilitators(world: dict[str, Any], role: str) -> None:
    response = get(world, role, reverse("care:facilitate", args=[world["circle"].cohort.pk]))
    expected = {"facilitator": 200, "anonymous": 302}.get(role, 404)
    assert response.status_code == expected


@pytest.mark.parametrize("role", [*ROLES, "author"])
def test_journal_entry_only_for_its_author(world: dict[str, Any], role: str) -> None:
    response = get(world, role, reverse("care:journal_entry", args=[world["private"].pk]))
    expected = {"author": 200, "anonymous": 302}.get(role, 404)
    assert response.status_code == expected
    if expected == 200:
        assert "private words" in response.content.decode()
        assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("role", [*ROLES, "author"])
def test_shared_entry_only_for_the_groups_facilitators_and_audited(
    world: dict[str, Any], role: str
) -> None:
    cohort = world["circle"].cohort
    for entry, text in ((world["shared"], "shared words"), (world["private"], "private words")):
        url = reverse("care:shared_reflection", args=[cohort.pk, entry.pk])
        response = get(world, role, url)
        allowed = role == "facilitator" and entry.shared_with_facilitator
        assert response.status_code == (200 if allowed else 302 if role == "anonymous" else 404)
        assert (text in response.content.decode()) is allowed
    events = AuditEvent.objects.filter(action=AuditAction.REFLECTION_VIEWED)
    if role == "facilitator":
        event = events.get()
        assert event.actor == world["users"]["facilitator"]
        assert event.target_id == str(world["shared"].pk)
        assert event.subject == world["users"]["author"]
        assert "shared words" not in str(event.data)
    else:
        assert not events.exists()


def test_a_head_request_for_a_shared_entry_is_not_a_read(world: dict[str, Any]) -> None:
    """Nobody reads a HEAD response (a link checker, a preview): the member is not told their
    entry was read, and no read is audited. It answers as a GET would, without the text."""
    cohort = world["circle"].cohort
    client = client_for(world["users"]["facilitator"])
    shared = client.head(reverse("care:shared_reflection", args=[cohort.pk, world["shared"].pk]))
    assert shared.status_code == 200 and shared["Cache-Control"] == "no-store"
    private = client.head(reverse("care:shared_reflection", args=[cohort.pk, world["private"].pk]))
    assert private.status_code == 404
    world["shared"].refresh_from_db()
    assert world["shared"].read_at is None
    assert not AuditEvent.objects.filter(action=AuditAction.REFLECTION_VIEWED).exists()


def test_another_persons_entry_is_byte_identical_to_a_missing_one(world: dict[str, Any]) -> None:
    client = client_for(world["users"]["member"])
    theirs = client.get(reverse("care:journal_entry", args=[world["private"].pk]))
    missing = client.get(reverse("care:journal_entry", args=[999_999]))
    assert theirs.status_code == missing.status_code == 404
    assert theirs.content == missing.content


def test_other_kinds_of_group_have_no_board_until_the_lead_turns_it_on() -> None:
    group = make_circle(1, kind=ProgramKind.SKILLS)
    member, lead = group.members[0], group.lead
    url = reverse("care:board", args=[group.cohort.pk])
    assert client_for(member).get(url).status_code == 404

    facilitate = reverse("care:facilitate", args=[group.cohort.pk])
    response = client_for(lead).post(facilitate, {"enabled": "on"})
    assert response.status_code == 302
    assert CareBoardSetting.objects.get(cohort=group.cohort).enabled
    assert client_for(member).get(url).status_code == 200

    client_for(lead).post(facilitate, {})
    assert client_for(member).get(url).status_code == 404


def test_turning_the_board_on_or_off_says_which_it_now_is() -> None:
    group = make_circle(1, kind=ProgramKind.THERAPY)
    facilitate = reverse("care:facilitate", args=[group.cohort.pk])
    lead = client_for(group.lead)
    page = lead.post(facilitate, {"enabled": "on"}, follow=True).content.decode()
    assert "The care board is on: members of this group can now use it." in page
    page = lead.post(facilitate, {}, follow=True).content.decode()
    assert "The care board is off: members of this group no longer see it." in page
    assert ">Saved.<" not in page


def test_co_facilitator_cannot_switch_the_board(world: dict[str, Any]) -> None:
    co = UserFactory(is_facilitator=True)
    group = make_circle(1, kind=ProgramKind.SKILLS, co_facilitator=co)
    client_for(co).post(reverse("care:facilitate", args=[group.cohort.pk]), {"enabled": "on"})
    assert not CareBoardSetting.objects.filter(cohort=group.cohort, enabled=True).exists()


def test_waitlisted_member_does_not_see_the_board(world: dict[str, Any]) -> None:
    from tests.factories import EnrollmentFactory

    waiting = EnrollmentFactory(cohort=world["circle"].cohort, status="waitlisted").member
    response = client_for(waiting).get(reverse("care:board", args=[world["circle"].cohort.pk]))
    assert response.status_code == 404


def test_hidden_post_is_gone_for_members_but_not_for_its_author_or_facilitators(
    world: dict[str, Any],
) -> None:
    lead = world["users"]["facilitator"]
    post = world["post"]
    response = client_for(lead).post(
        reverse("care:hide_post", args=[post.pk]), {"reason": "Shares a home address"}
    )
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.hidden_reason == "Shares a home address" and post.hidden_by == lead
    url = reverse("care:post", args=[post.pk])
    assert get(world, "member", url).status_code == 404
    board = get(world, "member", reverse("care:board", args=[world["circle"].cohort.pk]))
    assert "Walk by the river" not in board.content.decode()
    author_view = get(world, "author", url)
    assert (
        author_view.status_code == 200 and "Shares a home address" in author_view.content.decode()
    )
    assert get(world, "facilitator", url).status_code == 200


def test_members_cannot_hide_posts(world: dict[str, Any]) -> None:
    post = world["post"]
    response = client_for(world["users"]["member"]).post(
        reverse("care:hide_post", args=[post.pk]), {"reason": "I don't like it"}
    )
    assert response.status_code == 404
    post.refresh_from_db()
    assert post.hidden_at is None


@pytest.mark.parametrize(
    ("kind", "noun"),
    [
        (ProgramKind.CARE_CIRCLE, "care circle"),
        (ProgramKind.SKILLS, "skills group"),
        (ProgramKind.THERAPY, "therapy group"),
    ],
)
def test_pages_around_a_care_board_call_the_group_what_it_is(kind: str, noun: str) -> None:
    group = make_circle(1, kind=kind)
    if kind != ProgramKind.CARE_CIRCLE:
        CareBoardSetting.objects.create(cohort=group.cohort, enabled=True)
    overview = client_for(group.lead).get(reverse("care:facilitate", args=[group.cohort.pk]))
    assert f"The {noun}'s flow of care" in overview.content.decode()
    home = client_for(group.members[0]).get(reverse("care:home")).content.decode()
    lead = home[home.index('<p class="lead">') :]
    lead = lead[: lead.index("</p>")]
    assert "care board of each group that has one" in lead and "circle" not in lead
