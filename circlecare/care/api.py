"""My care boards: the posts of a group I'm in, posting, responding, closing and reporting posts,
marking done, calling off and thanks.

Handlers call the same services, queries and forms as the care board pages. A board, post or
match someone may not see answers 404, exactly like a missing one.
"""

from datetime import date, datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Path, Schema, Status
from ninja.pagination import paginate

from circlecare.accounts.http import signed_in as _user
from circlecare.accounts.models import User
from circlecare.api import (
    AUTH,
    ERRORS,
    ID_MAX,
    ErrorOut,
    Input,
    Pagination,
    Router,
    form_errors,
    require_scope,
)
from circlecare.care import queries, services
from circlecare.care.forms import PostForm, ReasonForm, ThanksForm
from circlecare.care.models import (
    DETAILS_MAX,
    REASON_MAX,
    THANKS_MAX,
    TITLE_MAX,
    WHEN_MAX,
    WHERE_MAX,
    CareMatch,
    CarePost,
    MatchStatus,
    PostKind,
    Support,
)
from circlecare.errors import DomainError

router = Router(auth=AUTH)


class InvalidPost(DomainError):
    code = "invalid"
    default_message = "Some of what was sent isn't valid."
    status = 422


class BoardOut(Schema):
    id: int
    name: str
    program: str
    role: str = Field(..., description="member or facilitator")


class PostOut(Schema):
    id: int
    group_id: int
    author: str = Field(..., description="The author's display name.")
    mine: bool
    kind: str
    support: str
    title: str
    details: str
    when_text: str
    when_date: date | None
    where: str
    status: str
    hidden: bool
    created_at: datetime


class PostIn(Input):
    kind: PostKind
    support: Support
    title: str = Field(..., min_length=1, max_length=TITLE_MAX)
    details: str = Field("", max_length=DETAILS_MAX)
    when_text: str = Field("", max_length=WHEN_MAX)
    when_date: date | None = None
    where: str = Field("", max_length=WHERE_MAX)


class MatchOut(Schema):
    id: int
    post_id: int
    status: str
    cancel_reason: Literal["", "by_one", "left_group", "group_ended", "post_hidden"] = Field(
        ...,
        description=(
            "Why it was called off: by_one (one of the two called it off), left_group (one of "
            "the two left the group), group_ended or post_hidden (the facilitators took the post "
            "off the board). Empty unless status is cancelled."
        ),
    )
    i_give: bool = Field(..., description="True when I give the care, False when I receive it.")
    done_by_me: bool
    done_by_other: bool
    thanks: str = Field(..., description="The thank-you, once sent (empty until then).")
    created_at: datetime


class ThanksIn(Input):
    text: str = Field(..., min_length=1, max_length=THANKS_MAX)


class ReportIn(Input):
    reason: str = Field(
        ...,
        min_length=1,
        max_length=REASON_MAX,
        description="What worries you about the post, for the group's facilitators only.",
    )


class ReportOut(Schema):
    post_id: int
    created_at: datetime
    resolved_at: datetime | None = Field(
        ...,
        description=(
            "When the group's facilitators marked the report resolved; null until then. Who "
            "resolved it and their note stay with the facilitators."
        ),
    )


def post_out(post: CarePost, user: User) -> dict[str, Any]:
    return {
        "id": post.pk,
        "group_id": post.cohort_id,
        "author": post.author.display_name,
        "mine": post.author_id == user.pk,
        "kind": post.kind,
        "support": post.support,
        "title": post.title,
        "details": post.details,
        "when_text": post.when_text,
        "when_date": post.when_date,
        "where": post.where,
        "status": post.status,
        "hidden": post.is_hidden,
        "created_at": post.created_at,
    }


def match_out(match: CareMatch, user: User) -> dict[str, Any]:
    giver = user.pk == match.giver_id
    other_done = match.receiver_done_at if giver else match.giver_done_at
    return {
        "id": match.pk,
        "post_id": match.post_id,
        "status": match.status,
        # A block is stored, and so shown, as one of the two calling it off: by_one.
        "cancel_reason": match.cancel_reason if match.status == MatchStatus.CANCELLED else "",
        "i_give": giver,
        "done_by_me": match.done_by(user),
        "done_by_other": other_done is not None,
        "thanks": match.thanks if match.status == MatchStatus.DONE else "",
        "created_at": match.created_at,
    }


@router.get(
    "/groups",
    response={200: list[BoardOut], ERRORS: ErrorOut},
    summary="My care boards",
    description="The groups whose care board I can see: as a member or as a facilitator.",
)
@paginate(Pagination)
def list_boards(request: HttpRequest) -> Any:
    require_scope(request, "read")
    user = _user(request)
    boards: dict[int, dict[str, Any]] = {}
    for cohort in queries.led_cohorts(user):
        if queries.board_enabled(cohort):
            boards[cohort.pk] = {"cohort": cohort, "role": "facilitator"}
    for cohort, _enrollment in queries.member_cohorts(user):
        if cohort.pk not in boards and queries.board_enabled(cohort):
            boards[cohort.pk] = {"cohort": cohort, "role": "member"}
    return [
        {
            "id": row["cohort"].pk,
            "name": row["cohort"].name or row["cohort"].program.title,
            "program": row["cohort"].program.slug,
            "role": row["role"],
        }
        for row in boards.values()
    ]


@router.get(
    "/groups/{group_id}/posts",
    response={200: list[PostOut], ERRORS: ErrorOut},
    summary="A care board's posts",
    description="Newest first, as I see the board (people I blocked or muted are left out).",
)
@paginate(Pagination)
def list_posts(request: HttpRequest, group_id: int = Path(..., ge=1, le=ID_MAX)) -> Any:
    require_scope(request, "read")
    user = _user(request)
    cohort = queries.cohort_for_board(user, group_id)
    # Every one: the pagination pages them, and its count is then true.
    posts = queries.board_posts(user, cohort, limit=None)
    # Newest first (the query's GROUP BY drops the model's default ordering).
    posts.sort(key=lambda p: (p.created_at, p.pk), reverse=True)
    return [post_out(p, user) for p in posts]


@router.post(
    "/groups/{group_id}/posts",
    response={201: PostOut, ERRORS: ErrorOut},
    summary="Post an offer or a request",
    description=(
        "Members of the group post. The group's facilitators, who can read the board, are "
        "answered 403 `leaders_do_not_post`; anyone else 404."
    ),
)
def create_post(
    request: HttpRequest, payload: PostIn, group_id: int = Path(..., ge=1, le=ID_MAX)
) -> Any:
    require_scope(request, "write")
    user = _user(request)
    cohort = queries.cohort_for_board(user, group_id)
    data = payload.dict()
    form = PostForm({k: ("" if v is None else v) for k, v in data.items()})
    if not form.is_valid():
        raise InvalidPost(detail=form_errors(form))
    post = services.create_post(
        cohort=cohort, draft=services.PostDraft(**form.cleaned_data), actor=user
    )
    post.author = user
    return Status(201, post_out(post, user))


@router.get("/posts/{post_id}", response={200: PostOut, ERRORS: ErrorOut}, summary="One post")
def get_post(request: HttpRequest, post_id: int = Path(..., ge=1, le=ID_MAX)) -> Any:
    require_scope(request, "read")
    user = _user(request)
    return post_out(queries.visible_post(user, post_id), user)


@router.post(
    "/posts/{post_id}/respond",
    response={201: MatchOut, ERRORS: ErrorOut},
    summary="Respond to a post",
    description="Answer a request with help, or accept an offer: the two of you are matched.",
)
def respond(request: HttpRequest, post_id: int = Path(..., ge=1, le=ID_MAX)) -> Any:
    require_scope(request, "write")
    user = _user(request)
    post = queries.visible_post(user, post_id)
    return Status(201, match_out(services.respond(post=post, actor=user), user))


@router.post(
    "/posts/{post_id}/close",
    response={200: PostOut, ERRORS: ErrorOut},
    summary="Close my post",
    description=(
        "Only its author can: nobody new can respond to it, and what was already agreed stands. "
        "Someone else's post answers 404."
    ),
)
def close_post(request: HttpRequest, post_id: int = Path(..., ge=1, le=ID_MAX)) -> Any:
    require_scope(request, "write")
    user = _user(request)
    post = queries.visible_post(user, post_id)
    closed = services.close_post(post=post, actor=user)
    closed.author = post.author
    return post_out(closed, user)


@router.post(
    "/posts/{post_id}/report",
    response={201: ReportOut, ERRORS: ErrorOut},
    summary="Report a post",
    description=(
        "Tell the group's facilitators that a post worries you, once per post; not your own "
        "post (close it instead). Only members of the group report; only its facilitators read "
        "reports."
    ),
)
def report_post(
    request: HttpRequest, payload: ReportIn, post_id: int = Path(..., ge=1, le=ID_MAX)
) -> Any:
    require_scope(request, "write")
    user = _user(request)
    post = queries.visible_post(user, post_id)
    form = ReasonForm({"reason": payload.reason})
    if not form.is_valid():
        raise InvalidPost(detail=form_errors(form))
    report = services.report_post(post=post, reason=form.cleaned_data["reason"], actor=user)
    return Status(
        201,
        {"post_id": report.post_id, "created_at": report.created_at, "resolved_at": None},
    )


@router.get(
    "/matches",
    response={200: list[MatchOut], ERRORS: ErrorOut},
    summary="My open matches",
    description="Care I agreed to give or receive that isn't done or called off yet.",
)
@paginate(Pagination)
def list_matches(request: HttpRequest) -> Any:
    require_scope(request, "read")
    user = _user(request)
    # Every one: the pagination pages them, and its count is then true.
    return [match_out(m, user) for m in queries.my_open_matches(user, limit=None)]


@router.get(
    "/matches/{match_id}",
    response={200: MatchOut, ERRORS: ErrorOut},
    summary="One of my matches",
    description=(
        "A match I give or receive care in, whatever its status: once one leaves my open "
        "matches, this says whether it was done or called off, and why."
    ),
)
def get_match(request: HttpRequest, match_id: int = Path(..., ge=1, le=ID_MAX)) -> Any:
    require_scope(request, "read")
    return match_out(queries.match_for(_user(request), match_id), _user(request))


@router.post(
    "/matches/{match_id}/done",
    response={200: MatchOut, ERRORS: ErrorOut},
    summary="Say it happened",
    description="When both of you have, the match is done.",
)
def mark_done(request: HttpRequest, match_id: int = Path(..., ge=1, le=ID_MAX)) -> Any:
    require_scope(request, "write")
    user = _user(request)
    match = queries.match_for(user, match_id)
    return match_out(services.mark_done(match=match, actor=user), user)


@router.post(
    "/matches/{match_id}/cancel",
    response={200: MatchOut, ERRORS: ErrorOut},
    summary="Call it off",
    description=(
        "Either of the two may call off what they agreed while it isn't done. The other person "
        "is told by e-mail that it was called off, with no names and not what it was (unless "
        "they turned care board e-mails off)."
    ),
)
def cancel_match(request: HttpRequest, match_id: int = Path(..., ge=1, le=ID_MAX)) -> Any:
    require_scope(request, "write")
    user = _user(request)
    match = queries.match_for(user, match_id)
    return match_out(services.cancel_match(match=match, actor=user), user)


@router.post(
    "/matches/{match_id}/thanks",
    response={200: MatchOut, ERRORS: ErrorOut},
    summary="Send thanks",
    description="From the one who was helped, once, after both marked it done.",
)
def send_thanks(
    request: HttpRequest, payload: ThanksIn, match_id: int = Path(..., ge=1, le=ID_MAX)
) -> Any:
    require_scope(request, "write")
    user = _user(request)
    match = queries.match_for(user, match_id)
    form = ThanksForm({"text": payload.text})
    if not form.is_valid():
        raise InvalidPost(detail=form_errors(form))
    return match_out(
        services.send_thanks(match=match, text=form.cleaned_data["text"], actor=user), user
    )
