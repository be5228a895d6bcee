from __future__ import annotations

from datetime import time
from typing import Any

from django import forms

from circlecare.states import OUTSIDE_US, STATE_CHOICES
from circlecare.widgets import QuickSelect


class LocationForm(forms.Form):
    state = forms.ChoiceField(
        label="Where are you right now?",
        # "I live outside the US" answers a different question (home, not where you are now).
        choices=[("", "Choose a state"), *STATE_CHOICES, (OUTSIDE_US, "Outside the US")],
        help_text="The state you are in at this moment, which may not be where you live. "
        "Therapy law follows where you are during the meeting.",
        error_messages={"required": "Please choose the state you are in right now."},
        widget=QuickSelect,
    )


class MinuteField(forms.TimeField):
    """A meeting's start: hours and minutes, no seconds (which the time picker never sends)."""

    default_error_messages = {
        "invalid": "Please give a time in hours and minutes, such as 18:30.",
        "required": "Please give a start time.",
    }

    def clean(self, value: Any) -> time | None:
        cleaned: time | None = super().clean(value)
        if cleaned is not None and (cleaned.second or cleaned.microsecond):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return cleaned


class DayField(forms.DateField):
    default_error_messages = {
        "invalid": "Please give a date, such as 2026-12-15.",
        "required": "Please give a date.",
    }


class MoveForm(forms.Form):
    local_date = DayField(
        label="New date",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="In the group's time zone.",
    )
    local_time = MinuteField(
        label="New start time",
        widget=forms.TimeInput(attrs={"type": "time"}),
        help_text="In the group's time zone.",
    )


class PatternForm(forms.Form):
    from_date = DayField(
        label="First meeting under the new pattern",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Later meetings follow weekly on the same weekday.",
    )
    start_time = MinuteField(
        label="Start time",
        widget=forms.TimeInput(attrs={"type": "time"}),
        help_text="In the group's time zone.",
    )
