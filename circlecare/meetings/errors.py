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
        "Your group's clinician can't work with someone who is in that state today, "
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


class MeetingEnded(DomainError):
    """Its leader ended it for everyone: it is over, however long it was planned to run, and
    stays as it was held."""

    code = "meeting_ended"
    default_message = "This meeting has ended, so it can't be changed now."
    status = 409


class MeetingChanged(DomainError):
    """A change asked for from a page that showed the meeting as it was before another change
    (the same form sent twice, or a second tab): not made again on top of it."""

    code = "meeting_changed"
    default_message = (
        "This meeting has changed since the page was shown, so nothing more was changed. "
        "Look at the schedule as it is now, and skip the week again if you still mean to."
    )
    status = 409
