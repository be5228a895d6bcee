"""Refusals specific to questionnaires and alerts, in the project's one error family."""

from __future__ import annotations

from typing import Any

from circlecare.errors import DomainError


class AlreadySubmitted(DomainError):
    code = "already_submitted"
    default_message = (
        "These answers have already been sent, and sent answers can't be changed. If something "
        "has changed since, please tell your clinician or facilitator."
    )
    status = 409


class AssessmentClosed(DomainError):
    code = "assessment_closed"
    default_message = "This questionnaire has closed. There will be another one next week."
    status = 409

    @classmethod
    def for_occasion(cls, occasion: str) -> AssessmentClosed:
        """The refusal in words that hold for this occasion: after the final questionnaire
        there is no next one to promise."""
        if occasion == "final":
            return cls(
                "This questionnaire has closed. It was the last one for this group; thank you "
                "for all the answers you gave."
            )
        if occasion == "checkin":
            return cls("This check-in has closed. There will be another after the next meeting.")
        return cls()

    @classmethod
    def for_assessment(cls, assessment: Any) -> AssessmentClosed:
        """As ``for_occasion``; the check-in of the programme's last meeting has no next
        meeting's check-in to promise either."""
        week = assessment.meeting_week
        if assessment.occasion == "checkin" and week and week >= assessment.cohort.program.weeks:
            return cls(
                "This check-in has closed. It was for the group's last meeting; thank you for "
                "all the answers you gave."
            )
        return cls.for_occasion(assessment.occasion)


class AlreadyAcknowledged(DomainError):
    code = "already_acknowledged"
    default_message = "Someone has already acknowledged this alert."
    status = 409


class NoteRequired(DomainError):
    code = "note_required"
    default_message = "Please write what was done (for example, who you reached and how)."
    status = 400
