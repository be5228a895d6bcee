from __future__ import annotations

from django import forms

from circlecare.states import OUTSIDE_US, STATE_CHOICES


class LocationForm(forms.Form):
    state = forms.ChoiceField(
        label="Where are you right now?",
        # "I live outside the US" answers a different question (home, not where you are now).
        choices=[("", "Choose a state"), *STATE_CHOICES, (OUTSIDE_US, "Outside the US")],
        help_text="The state you are in at this moment, which may not be where you live. "
        "Therapy law follows where you are during the meeting.",
        error_messages={"required": "Please choose the state you are in right now."},
    )


class MoveForm(forms.Form):
    local_date = forms.DateField(
        label="New date",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="In the group's time zone.",
    )
    local_time = forms.TimeField(
        label="New start time",
        widget=forms.TimeInput(attrs={"type": "time"}),
        help_text="In the group's time zone.",
    )


class PatternForm(forms.Form):
    from_date = forms.DateField(
        label="First meeting under the new pattern",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Later meetings follow weekly on the same weekday.",
    )
    start_time = forms.TimeField(
        label="Start time",
        widget=forms.TimeInput(attrs={"type": "time"}),
        help_text="In the group's time zone.",
    )
