"""My care boards through the API: posts, responding, marking done and thanks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

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


# --- calling off, closing a post and reporting one, as the care board's pages do --------------


def agreed(practice: Practice) -> tuple[object, CareMatch]:
    """Robin answered the member's request: an agreed match between the two."""
    from tests.care.factories import make_match

    robin = neighbour(practice)
    post = CarePostFactory(cohort=practice.cohort, author=practice.member, kind="request")
    return robin, make_match(post, robin)


def test_either_of_the_two_calls_off_what_they_agreed() -> None:
    practice = make_practice()
    robin, match = agreed(practice)
    response = Api(practice.member).post(f"{URL}/matches/{match.pk}/cancel")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["cancel_reason"]) == ("cancelled", "by_one")
    match.refresh_from_db()
    assert match.status == MatchStatus.CANCELLED and match.cancelled_by == practice.member
    assert Api(practice.member).get(f"{URL}/matches").json()["count"] == 0
    # Robin reads it as called off, and may offer again: the post is still open.
    assert Api(robin).get(f"{URL}/matches/{match.pk}").json()["status"] == "cancelled"
    assert Api(robin).post(f"{URL}/posts/{match.post_id}/respond").status_code == 201


@pytest.mark.parametrize(
    ("before", "message"),
    [
        ("done", "This is already done, so it can't be called off."),
        ("called off", "This was already called off."),
    ],
)
def test_what_is_done_or_already_called_off_cannot_be_called_off(
    before: str, message: str, django_capture_on_commit_callbacks: Any
) -> None:
    practice = make_practice()
    robin, match = agreed(practice)
    if before == "done":
        services.mark_done(match=match, actor=robin)
        services.mark_done(match=match, actor=practice.member)
    else:
        services.cancel_match(match=match, actor=robin)
    match.refresh_from_db()
    was = (match.status, match.cancelled_at, match.cancelled_by_id)
    with django_capture_on_commit_callbacks() as callbacks:
        response = Api(practice.member).post(f"{URL}/matches/{match.pk}/cancel")
    assert response.status_code == 409
    assert response.json() == {"code": "invalid_transition", "message": message, "detail": None}
    match.refresh_from_db()
    assert (match.status, match.cancelled_at, match.cancelled_by_id) == was
    assert callbacks == []  # nobody is told of a call-off that did not happen


def test_someone_elses_match_cannot_be_called_off_and_looks_missing() -> None:
    practice = make_practice()
    _robin, match = agreed(practice)
    for outsider in (neighbour(practice, "Casey"), practice.lead, practice.other_member):
        api = Api(outsider)
        theirs = api.post(f"{URL}/matches/{match.pk}/cancel")
        missing = api.post(f"{URL}/matches/{match.pk + 1000}/cancel")
        assert theirs.status_code == missing.status_code == 404
        assert theirs.content == missing.content
        assert theirs.json() == NOT_FOUND
    match.refresh_from_db()
    assert match.status == MatchStatus.AGREED


def test_the_other_person_hears_of_a_call_off_by_email_after_commit(
    django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    from django.core import mail
    from django_tasks_db.models import DBTaskResult

    from circlecare.care import tasks

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    practice = make_practice()
    robin, match = agreed(practice)
    with django_capture_on_commit_callbacks() as callbacks:
        response = Api(robin).post(f"{URL}/matches/{match.pk}/cancel")
        assert response.status_code == 200
    # Nothing leaves before the call-off is committed.
    assert len(callbacks) == 1
    assert not DBTaskResult.objects.exists() and mail.outbox == []
    callbacks[0]()
    queued = DBTaskResult.objects.get(task_path__endswith="tell_of_call_off")
    assert queued.args_kwargs["args"] == [[match.pk]]
    assert tasks.tell_of_call_off.call(*queued.args_kwargs["args"]) == 1
    [sent] = mail.outbox
    assert sent.to == [practice.member.email]  # never the one who called it off
    assert sent.subject == "circlecare: a plan on the care board was called off"
    assert robin.display_name not in sent.body


def test_the_author_closes_their_post_and_nobody_new_can_respond() -> None:
    practice = make_practice()
    _robin, match = agreed(practice)
    casey = neighbour(practice, "Casey")
    api = Api(practice.member)
    response = api.post(f"{URL}/posts/{match.post_id}/close")
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["status"], body["mine"], body["author"]) == (
        match.post_id,
        "closed",
        True,
        "Alex",
    )
    refused = Api(casey).post(f"{URL}/posts/{match.post_id}/respond")
    assert refused.status_code == 409
    assert refused.json()["message"] == "This post is no longer open."
    # What was already agreed stands.
    match.refresh_from_db()
    assert match.status == MatchStatus.AGREED
    again = api.post(f"{URL}/posts/{match.post_id}/close")
    assert again.status_code == 409
    assert again.json() == {
        "code": "invalid_transition",
        "message": "This post is already closed.",
        "detail": None,
    }


def test_someone_elses_post_cannot_be_closed_and_looks_missing() -> None:
    practice = make_practice()
    robin = neighbour(practice)
    post = CarePostFactory(cohort=practice.cohort, author=robin)
    # The member and the group's facilitators can read the post, and still may not close it.
    for other in (practice.member, practice.lead, practice.co_facilitator, practice.other_member):
        api = Api(other)
        theirs = api.post(f"{URL}/posts/{post.pk}/close")
        missing = api.post(f"{URL}/posts/{post.pk + 1000}/close")
        assert theirs.status_code == missing.status_code == 404
        assert theirs.content == missing.content
        assert theirs.json() == NOT_FOUND
    post.refresh_from_db()
    assert post.status == "open"


def test_a_member_reports_a_post_once_and_the_facilitators_see_it() -> None:
    from circlecare.care import queries
    from circlecare.care.models import CareReport

    practice = make_practice()
    robin = neighbour(practice)
    post = CarePostFactory(cohort=practice.cohort, author=robin, title="Selling things")
    api = Api(practice.member)
    response = api.post(f"{URL}/posts/{post.pk}/report", {"reason": "  Looks like adverts  "})
    assert response.status_code == 201
    body = response.json()
    assert body["post_id"] == post.pk and body["resolved_at"] is None and body["created_at"]
    report = CareReport.objects.get()
    assert (report.reporter, report.reason) == (practice.member, "Looks like adverts")
    assert queries.open_reports(practice.cohort) == [report]

    again = api.post(f"{URL}/posts/{post.pk}/report", {"reason": "Again"})
    assert again.status_code == 409
    assert again.json() == {
        "code": "invalid_transition",
        "message": "You've already reported this post. Thank you.",
        "detail": None,
    }
    assert CareReport.objects.get().reason == "Looks like adverts"


def test_reporting_ones_own_post_is_refused_with_what_to_do_instead() -> None:
    from circlecare.care.models import CareReport

    practice = make_practice()
    post = CarePostFactory(cohort=practice.cohort, author=practice.member)
    response = Api(practice.member).post(f"{URL}/posts/{post.pk}/report", {"reason": "Oops"})
    assert response.status_code == 409
    assert response.json()["message"] == (
        "You can't report your own post; you can close it instead."
    )
    assert not CareReport.objects.exists()


def test_only_members_who_can_see_a_post_report_it_and_others_see_a_missing_one() -> None:
    from circlecare.care.models import CareReport

    practice = make_practice()
    robin = neighbour(practice)
    post = CarePostFactory(cohort=practice.cohort, author=robin)
    hidden = CarePostFactory(
        cohort=practice.cohort,
        author=robin,
        hidden_at=timezone.now(),
        hidden_reason="Shares an address",
        hidden_by=practice.lead,
    )
    # Facilitators read reports rather than make them (as on the report page); a member of
    # another group, or anyone on a post hidden from them, learns nothing.
    tries = [
        (practice.lead, post),
        (practice.co_facilitator, post),
        (practice.other_member, post),
        (practice.member, hidden),
    ]
    for who, target in tries:
        api = Api(who)
        theirs = api.post(f"{URL}/posts/{target.pk}/report", {"reason": "Worried"})
        missing = api.post(f"{URL}/posts/{target.pk + 1000}/report", {"reason": "Worried"})
        assert theirs.status_code == missing.status_code == 404
        assert theirs.content == missing.content
        assert theirs.json() == NOT_FOUND
    assert not CareReport.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"reason": ""},
        {"reason": "   "},
        {"reason": "x" * 501},
        {"reason": 5},
        {"reason": None},
        {"reason": "Worried\x00"},
        ["Worried"],
        '"Worried"',  # a JSON string, sent as it is
    ],
)
def test_a_bad_report_is_422_naming_the_reason_and_nothing_is_saved(body: Any) -> None:
    from circlecare.care.models import CareReport

    practice = make_practice()
    post = CarePostFactory(cohort=practice.cohort, author=neighbour(practice))
    api = Api(practice.member)
    response = api.client.post(
        f"{URL}/posts/{post.pk}/report", body, content_type="application/json", **api.headers
    )
    assert response.status_code == 422, response.content
    error = response.json()
    assert error["code"] == "invalid" and error["message"] == "Some of what was sent isn't valid."
    assert "reason" in str(error["detail"]) or "JSON object" in str(error["detail"])
    assert not CareReport.objects.exists()


def test_a_report_that_is_not_json_is_refused_and_nothing_is_saved() -> None:
    from circlecare.care.models import CareReport

    practice = make_practice()
    post = CarePostFactory(cohort=practice.cohort, author=neighbour(practice))
    api = Api(practice.member)
    response = api.client.post(
        f"{URL}/posts/{post.pk}/report",
        "reason=Worried",
        content_type="application/json",
        **api.headers,
    )
    assert 400 <= response.status_code < 500
    assert response.json()["code"] in {"invalid", "bad_request"}
    assert not CareReport.objects.exists()


def _three_actions(practice: Practice) -> tuple[list[tuple[str, dict[str, str] | None]], Any]:
    """Calling off, closing and reporting, each ready to send, and what they would change."""
    from circlecare.care.models import CareReport

    _robin, match = agreed(practice)
    theirs = CarePostFactory(cohort=practice.cohort, author=neighbour(practice, "Casey"))
    actions = [
        (f"{URL}/matches/{match.pk}/cancel", None),
        (f"{URL}/posts/{match.post_id}/close", None),
        (f"{URL}/posts/{theirs.pk}/report", {"reason": "Worried"}),
    ]

    def unchanged() -> bool:
        return (
            CareMatch.objects.get(pk=match.pk).status == MatchStatus.AGREED
            and CarePost.objects.get(pk=match.post_id).status == "open"
            and not CareReport.objects.exists()
        )

    return actions, unchanged


def test_calling_off_closing_and_reporting_need_the_write_scope() -> None:
    practice = make_practice()
    actions, unchanged = _three_actions(practice)
    reader = Api(practice.member, scopes=["read"])
    for url, body in actions:
        response = reader.post(url, body)
        assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert unchanged()


def test_calling_off_closing_and_reporting_from_a_browser_need_the_csrf_token() -> None:
    from django.test import Client

    practice = make_practice()
    actions, unchanged = _three_actions(practice)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(practice.member)
    for url, body in actions:
        response = browser.post(url, body or {}, content_type="application/json")
        assert response.status_code in {401, 403}
    assert unchanged()


def test_calling_off_closing_and_reporting_share_the_per_user_rate_limit() -> None:
    practice = make_practice()
    actions, unchanged = _three_actions(practice)
    api = Api(practice.member)
    # The budget of 200 a minute is spent on the board's other operations...
    statuses = {api.get(f"{URL}/matches").status_code for _ in range(200)}
    assert statuses == {200}
    # ...and then these wait their turn too, changing nothing.
    for url, body in actions:
        response = api.post(url, body)
        assert response.status_code == 429 and response.json()["code"] == "rate_limited"
        assert int(response["Retry-After"]) > 0
    assert unchanged()


def test_open_matches_are_all_counted_and_paged() -> None:
    """The care page shows the newest 20; the API pages through every one, and counts them."""
    from circlecare.care import queries
    from tests.care.factories import make_match

    practice = make_practice()
    robin = neighbour(practice)
    for _ in range(23):
        make_match(CarePostFactory(cohort=practice.cohort, author=practice.member), robin)
    page = Api(robin).get(f"{URL}/matches").json()
    assert page["count"] == 23
    assert len(queries.my_open_matches(robin)) == 20


def test_every_post_on_a_board_is_counted_and_paged() -> None:
    """The board page shows the newest 200; the API pages through every post, and counts them."""
    from circlecare.care import queries

    practice = make_practice()
    posts = CarePostFactory.create_batch(201, cohort=practice.cohort, author=neighbour(practice))
    api = Api(practice.member)
    page = api.get(f"{URL}/groups/{practice.cohort.pk}/posts", {"limit": 1, "offset": 200}).json()
    assert page["count"] == 201
    assert [p["id"] for p in page["items"]] == [posts[0].pk]
    assert len(queries.board_posts(practice.member, practice.cohort)) == 200


def test_a_title_of_only_spaces_is_refused_and_nothing_is_saved() -> None:
    practice = make_practice()
    body = {"kind": "request", "support": "conversation", "title": " \n "}
    response = Api(practice.member).post(f"{URL}/groups/{practice.cohort.pk}/posts", body)
    assert response.status_code == 422
    assert "in a few words" in response.json()["detail"]["title"][0]
    assert not CarePost.objects.exists()
