"""Errors of the meetings app, in the project's one family of domain errors."""

from __future__ import annotations

from circlecare.errors import DomainError


class JoinWindowClosed(DomainError):
    code = "join_window_closed"
    default_message = "This meeting isn't open for joining right now."
    status = 409


class LocationNotServed(DomainError):
    code = "location_not_served"
    default_message = (
        "Your group's clinician can't hold a session with someone in that state today, "
        "so we can't connect you to this meeting from there."
    )
    status = 403


class LocationRequired(DomainError):
    code = "location_required"
    default_message = "Please tell us which state you are in right now."
    status = 400


class ScheduleError(DomainError):
    code = "schedule_error"
    default_message = "That schedule change isn't possible."
    status = 409
