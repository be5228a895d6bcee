"""Forms built from an instrument's own items, so the wording shown is the instrument's wording."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from circlecare.measures.instruments import Instrument, InvalidAnswers
from circlecare.programs.models import Program


def is_risk_answer(raw: object, instrument: Instrument) -> bool:
    """Whether ``raw`` is an answer above 0 that the question offers. A value no answer button
    sends (5, 2**63) is not a risk answer: it would otherwise raise a clinician's alert from a
    forged request."""
    try:
        value = int(str(raw))
    except (TypeError, ValueError):
        return False
    return value > 0 and value in instrument.answer_values


class QuestionnaireForm(forms.Form):
    """One field per item, each an explicit choice: the instrument's wording for validated
    instruments, a 0–10 row for the check-in. Nothing is chosen in advance, so an answer is
    always one the member gave (a slider would send its starting point untouched)."""

    def __init__(self, instrument: Instrument, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instrument = instrument
        count = len(instrument.items)
        for item in instrument.items:
            name = f"item_{item.number}"
            self.fields[name] = forms.TypedChoiceField(
                label=f"{item.number}. {item.text}",
                choices=[
                    (str(v), f"{text} ({v})" if instrument.show_values else text)
                    for v, text in instrument.options
                ],
                coerce=int,
                widget=forms.RadioSelect(attrs={} if instrument.validated else {"class": "scale"}),
                help_text=""
                if instrument.validated
                else "0 means not at all, 10 means completely.",
                error_messages={"required": "Please choose an answer for this question."},
            )
        for extra in instrument.unscored_items:
            self.fields[f"item_{extra.number}"] = forms.TypedChoiceField(
                label=f"{extra.number}. {extra.text}",
                choices=[(str(v), text) for v, text in extra.options],
                coerce=int,
                widget=forms.RadioSelect,
                required=False,
                empty_value=None,
                help_text="Optional. This question is not added to the score.",
            )
        self.scored_count = count

    def answers(self) -> list[int]:
        """The answers in the instrument's order (valid only after ``is_valid()``)."""
        values = [self.cleaned_data[f"item_{item.number}"] for item in self.instrument.items]
        extras: list[Any] = [
            self.cleaned_data.get(f"item_{extra.number}")
            for extra in self.instrument.unscored_items
        ]
        if extras and all(v is not None for v in extras):
            values.extend(extras)
        return [int(v) for v in values]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors:
            try:
                self.instrument.validate(self.answers())
            except InvalidAnswers as exc:
                field = f"item_{exc.item}" if exc.item else None
                self.add_error(field if field in self.fields else None, exc.message)
        return cleaned

    @property
    def risk_answered(self) -> bool:
        """Whether the raw submission answers PHQ-9 item 9 above 0, even if the form is invalid.

        Used so that crisis resources are shown whatever else goes wrong with the submission.
        """
        if self.instrument.code != "PHQ9" or not self.is_bound:
            return False
        return is_risk_answer(self.data.get("item_9"), self.instrument)


class AcknowledgeForm(forms.Form):
    note = forms.CharField(
        label="What was done",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=(
            "For example: who you reached, how, and what was agreed. It is stored encrypted and "
            "only people who handle alerts can read it."
        ),
        error_messages={
            "required": "Please write what was done before acknowledging.",
            "max_length": "Please keep the note to 2,000 characters or fewer.",
        },
    )


class ReportForm(forms.Form):
    program = forms.ModelChoiceField(
        queryset=Program.objects.order_by("kind", "title"),
        label="Program",
        empty_label="Choose a program",
    )
    start = forms.DateField(
        label="Groups whose first meeting is on or after",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    end = forms.DateField(label="and on or before", widget=forms.DateInput(attrs={"type": "date"}))

    @staticmethod
    def default_period() -> tuple[date, date]:
        today = timezone.localdate()
        return today - timedelta(days=365), today + timedelta(days=90)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            self.add_error("end", "The end of the period must be on or after its start.")
        return cleaned
