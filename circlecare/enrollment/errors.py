"""Enrollment's own domain errors (the shared family lives in ``circlecare.errors``)."""

from __future__ import annotations

from circlecare.errors import DomainError


class StepRequired(DomainError):
    code = "step_required"
    default_message = "There's one more step before you can take a seat."
    status = 409


class InvalidCapacity(DomainError):
    code = "invalid_capacity"
    default_message = "Please enter a capacity between 1 and 60."
    status = 400


class InviteInvalid(DomainError):
    code = "invite_invalid"
    default_message = (
        "This invitation link isn't valid any more. Ask your partner to send a new one."
    )
    status = 404


class RemovedFromGroup(DomainError):
    code = "removed_from_group"
    default_message = (
        "The practice ended your place in this group, so you can't join it again yourself. "
        "If you'd like to talk about it, or about other groups, please contact the practice."
    )
    status = 403


class NotAllowed(DomainError):
    """Used where the caller may not act on an object; views answer 404 so nothing is confirmed."""

    code = "not_found"
    default_message = "We couldn't find that."
    status = 404
