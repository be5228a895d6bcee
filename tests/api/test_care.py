"""My care boards through the API: posts, responding, marking done and thanks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from circlecare.care import services
from circlecare.care.models import BlockKind, CareMatch, CarePost, MatchStatus, MemberBlock
from circlecare.programs.models import ProgramKind
from tests.api.helpers import NOT_FOUND, Api, Practice, make_practice
from tests.care.factories import CarePostFactory
from tests.factories import EnrollmentFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/care"


def neighbour(practice: Practice, name: str = "Robin") -> object:
    person = UserFactory(display_name=name)
    EnrollmentFactory(member=person, cohort=practice.cohort)
    return person


def test_my_boards() -> None:
    practice = make_practice()
    mine = Api(practice.member).get(f"{URL}/groups").json()
    assert mine == {
        "count": 1,
        "items": [
            {
                "id": practice.cohort.pk,
                "name": "Tuesday circle",
                "program": practice.cohort.program.slug,
                "role": "member",
            }
        ],
    }
    assert Api(practice.lead).get(f"{URL}/groups").json()["items"][0]["role"] == "facilitator"
    assert Api(practice.coordinator).get(f"{URL}/groups").json()["count"] == 0


def test_a_group_without_a_board_answers_404() -> None:
    practice = make_practice(kind=ProgramKind.SKILLS)
    api = Api(practice.member)
    assert api.get(f"{URL}/groups").json()["count"] == 0
    assert api.get(f"{URL}/groups/{practice.cohort.pk}/posts").json() == NOT_FOUND


def test_the_board_newest_first_paginated_without_people_i_muted() -> None:
    practice = make_practice()
    robin = neighbour(practice)
    muted = neighbour(practice, "Casey")
    old = CarePostFactory(cohort=practice.cohort, author=robin, title="Old")
    CarePost.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=1))
    new = CarePostFactory(cohort=practice.cohort, author=practice.member, title="New")
    CarePostFactory(cohort=practice.cohort, author=muted, title="Muted")
    CarePostFactory(cohort=practice.other_cohort, title="Elsewhere")
    MemberBlock.objects.create(blocker=practice.member, blocked=muted, kind=BlockKind.MUTE)
    api = Api(practice.member)
    body = api.get(f"{URL}/groups/{practice.cohort.pk}/posts").json()
    assert [p["title"] for p in body["items"]] == ["New", "Old"]
    assert body["items"][0]["mine"] is True and body["items"][1]["author"] == "Robin"
    page = api.get(f"{URL}/groups/{practice.cohort.pk}/posts", {"limit": 1, "offset": 1}).json()
    assert page["count"] == 2 and page["items"][0]["id"] == old.pk
    assert api.get(f"{URL}/posts/{new.pk}").json()["title"] == "New"


def test_a_hidden_post_is_gone_for_members_but_shown_to_facilitators() -> None:
    practice = make_practice()
    robin = neighbour(practice)
    post = CarePostFactory(
        cohort=practice.cohort,
        author=robin,
        hidden_at=timezone.now(),
        hidden_reason="Shares an address",
        hidden_by=practice.lead,
    )
    assert Api(practice.member).get(f"{URL}/posts/{post.pk}").json() == NOT_FOUND
    seen = Api(practice.lead).get(f"{URL}/posts/{post.pk}").json()
    assert seen["hidden"] is True


def test_create_a_post() -> None:
    practice = make_practice()
    api = Api(practice.member)
    response = api.post(
        f"{URL}/groups/{practice.cohort.pk}/posts",
        {
            "kind": "request",
            "support": "conversation",
            "title": "Someone to talk to on Sunday",
            "when_date": str(timezone.localdate() + timedelta(days=3)),
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["author"] == "Alex" and body["status"] == "open" and body["mine"] is True
    post = CarePost.objects.get()
    assert post.author == practice.member and post.title == "Someone to talk to on Sunday"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "request", "support": "conversation", "title": ""}, "title"),
        ({"kind": "gift", "support": "conversation", "title": "Hi"}, "kind"),
        ({"kind": "offer", "support": "walk", "title": "x" * 121}, "title"),
        ({"kind": "offer", "support": "walk", "title": "A walk", "when_date": "2001-01-01"}, None),
    ],
)
def test_bad_posts_are_422_with_the_field_and_nothing_is_saved(
    body: dict[str, str], field: str | None
) -> None:
    practice = make_practice()
    response = Api(practice.member).post(f"{URL}/groups/{practice.cohort.pk}/posts", body)
    assert response.status_code == 422
    error = response.json()
    assert error["code"] == "invalid"
    if field is None:
        assert "when_date" in error["detail"]
    else:
        assert any(field in d["loc"] for d in error["detail"])
    assert not CarePost.objects.exists()


def test_posting_has_a_daily_limit(settings: object) -> None:
    practice = make_practice()
    for _ in range(services.POSTS_PER_DAY):
        CarePostFactory(cohort=practice.cohort, author=practice.member)
    response = Api(practice.member).post(
        f"{URL}/groups/{practice.cohort.pk}/posts",
        {"kind": "offer", "support": "walk", "title": "One more"},
    )
    assert response.status_code == 429 and response.json()["code"] == "rate_limited"


def test_respond_mark_done_and_thank() -> None:
    practice = make_practice()
    robin = neighbour(practice)
    post = CarePostFactory(cohort=practice.cohort, author=practice.member, kind="request")
    helper = Api(robin)
    asker = Api(practice.member)
    assert asker.post(f"{URL}/posts/{post.pk}/respond").json()["code"] == "cannot_respond"
    response = helper.post(f"{URL}/posts/{post.pk}/respond")
    assert response.status_code == 201
    match = response.json()
    assert match["i_give"] is True and match["status"] == "agreed"
    again = helper.post(f"{URL}/posts/{post.pk}/respond")
    assert again.status_code == 409 and again.json()["code"] == "cannot_respond"
    assert asker.get(f"{URL}/matches").json()["items"][0]["i_give"] is False
    early = asker.post(f"{URL}/matches/{match['id']}/thanks", {"text": "Thank you!"})
    assert early.status_code == 409
    half = helper.post(f"{URL}/matches/{match['id']}/done").json()
    assert half["done_by_me"] is True and half["status"] == "agreed"
    done = asker.post(f"{URL}/matches/{match['id']}/done").json()
    assert done["status"] == "done" and done["done_by_other"] is True
    assert helper.post(f"{URL}/matches/{match['id']}/thanks", {"text": "Me?"}).status_code == 409
    assert asker.post(f"{URL}/matches/{match['id']}/thanks", {"text": ""}).status_code == 422
    thanked = asker.post(f"{URL}/matches/{match['id']}/thanks", {"text": "Thank you!"})
    assert thanked.status_code == 200 and thanked.json()["thanks"] == "Thank you!"
    assert CareMatch.objects.get().status == MatchStatus.DONE
    assert asker.get(f"{URL}/matches").json()["count"] == 0


def test_care_changes_need_the_write_scope() -> None:
    practice = make_practice()
    robin = neighbour(practice)
    post = CarePostFactory(cohort=practice.cohort, author=practice.member)
    reader = Api(robin, scopes=["read"])
    assert reader.get(f"{URL}/groups/{practice.cohort.pk}/posts").status_code == 200
    assert reader.post(f"{URL}/posts/{post.pk}/respond").status_code == 403
    assert (
        reader.post(
            f"{URL}/groups/{practice.cohort.pk}/posts",
            {"kind": "offer", "support": "walk", "title": "A walk"},
        ).status_code
        == 403
    )
    assert not CareMatch.objects.exists() and CarePost.objects.count() == 1


def test_a_called_off_match_says_why_and_a_block_reads_as_an_ordinary_call_off() -> None:
    from circlecare.enrollment.models import Enrollment
    from circlecare.enrollment.services import cancel_cohort, withdraw
    from tests.care.factories import make_match

    practice = make_practice()
    robin, sam, kim = (neighbour(practice, name) for name in ("Robin", "Sam", "Kim"))
    me = Api(practice.member)
    post = CarePostFactory(cohort=practice.cohort, author=practice.member, kind="request")
    open_match = make_match(post, robin)
    assert me.get(f"{URL}/matches/{open_match.pk}").json()["cancel_reason"] == ""

    services.cancel_match(match=open_match, actor=robin)
    called_off = me.get(f"{URL}/matches/{open_match.pk}").json()
    assert (called_off["status"], called_off["cancel_reason"]) == ("cancelled", "by_one")

    blocked = make_match(post, sam)
    services.set_block(
        blocked=practice.member, kind=BlockKind.BLOCK, cohort=practice.cohort, actor=sam
    )
    assert me.get(f"{URL}/matches/{blocked.pk}").json()["cancel_reason"] == "by_one"

    left = make_match(post, kim)
    withdraw(enrollment=Enrollment.objects.get(member=kim, cohort=practice.cohort))
    assert me.get(f"{URL}/matches/{left.pk}").json()["cancel_reason"] == "left_group"

    ended = make_match(post, robin)
    cancel_cohort(cohort=practice.cohort, actor=UserFactory(is_staff=True))
    assert me.get(f"{URL}/matches/{ended.pk}").json()["cancel_reason"] == "group_ended"

    # Only the two people read a match.
    assert Api(UserFactory()).get(f"{URL}/matches/{ended.pk}").json() == NOT_FOUND
    assert Api(robin).get(f"{URL}/matches/{blocked.pk}").json() == NOT_FOUND
