"""Domain errors of relational care (the family lives in circlecare.errors)."""

from __future__ import annotations

from circlecare.errors import DomainError


class NotOnBoard(DomainError):
    code = "not_on_board"
    default_message = "Only members of this group can do that."
    status = 404


class LeadersDoNotPost(DomainError):
    code = "leaders_do_not_post"
    default_message = (
        "The care board is for the group's members to offer and ask each other for support: "
        "its facilitators can read it but not post on it."
    )
    status = 403


class CannotRespond(DomainError):
    code = "cannot_respond"
    default_message = "You can't respond to this post."
    status = 409
