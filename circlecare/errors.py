"""The one family of domain errors.

Services raise these; views turn them into a message beside the form, the API into
``{"code", "message", "detail"}``. Each carries a stable code and words a member can act on.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    code: ClassVar[str] = "error"
    default_message: ClassVar[str] = "Something went wrong. Nothing was changed."
    status: ClassVar[int] = 400

    def __init__(self, message: str | None = None, *, detail: Any = None) -> None:
        self.message = message or self.default_message
        self.detail = detail
        super().__init__(self.message)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "detail": self.detail}


class NotFound(DomainError):
    code = "not_found"
    default_message = "We couldn't find that."
    status = 404


class NotEligible(DomainError):
    code = "not_eligible"
    default_message = "This group isn't open to you, but others are."
    status = 403


class CohortFull(DomainError):
    code = "cohort_full"
    default_message = "This group is full."
    status = 409


class AlreadyEnrolled(DomainError):
    code = "already_enrolled"
    default_message = "You already have a place in this group."
    status = 409


class EnrollmentClosed(DomainError):
    code = "enrollment_closed"
    default_message = "This group is no longer taking new members."
    status = 409


class ConsentRequired(DomainError):
    code = "consent_required"
    default_message = "Please read and sign the agreements for this group first."
    status = 409


class OfferExpired(DomainError):
    code = "offer_expired"
    default_message = "This seat offer has expired. You keep your place on the waiting list."
    status = 409


class InvalidTransition(DomainError):
    code = "invalid_transition"
    default_message = "That change isn't possible right now."
    status = 409


class CapacityTooLow(DomainError):
    code = "capacity_too_low"
    default_message = "The capacity can't go below the number of people already holding a seat."
    status = 409


class Busy(DomainError):
    code = "busy"
    default_message = "We're busy right now. Please try again in a moment."
    status = 503


class RateLimited(DomainError):
    code = "rate_limited"
    default_message = "Too many requests. Please wait a little and try again."
    status = 429
