from __future__ import annotations

import unicodedata
from typing import Any

from django import forms

from circlecare.inquiries.models import EMAIL_MAX, MESSAGE_MAX, NAME_MAX, Inquiry, InterestKind
from circlecare.states import HOME_STATE_CHOICES
from circlecare.widgets import QuickSelect


def _no_control_chars(value: str, field: str, *, multiline: bool = False) -> str:
    allowed = "\r\n\t" if multiline else ""
    for ch in value:
        if unicodedata.category(ch) in {"Cc", "Cf"} and ch not in allowed:
            raise forms.ValidationError(
                f"Please remove the hidden or line-break characters from {field}."
            )
    return value


class InquiryForm(forms.ModelForm):
    # Left empty by people; bots fill every field they see. Hidden from view and from screen readers.
    website = forms.CharField(required=False, label="Leave this empty", max_length=200)
    # Declared here, as the model keeps both as encrypted text, which knows nothing of addresses.
    # Each widget says what it holds, so a browser can fill in the person's own name and address.
    name = forms.CharField(
        label="Your name",
        max_length=NAME_MAX,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        error_messages={"required": "Please tell us your name."},
    )
    email = forms.EmailField(
        label="Your e-mail",
        max_length=EMAIL_MAX,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": "Please give an e-mail address we can write back to.",
            "invalid": "Please check the e-mail address: it should look like name@example.org.",
        },
    )
    state = forms.ChoiceField(
        label="Where you live",
        choices=[("", "Choose"), *HOME_STATE_CHOICES],
        widget=QuickSelect,
        error_messages={"required": "Please choose where you live."},
    )

    class Meta:
        model = Inquiry
        fields = ["name", "email", "state", "interest", "message"]
        labels = {
            "interest": "Which kind of group interests you?",
            "message": "Anything you'd like us to know (optional)",
        }
        help_texts = {
            "message": "Please don't include health details here; we'll talk about those privately.",
        }
        widgets = {
            "message": forms.Textarea(attrs={"rows": 5, "maxlength": MESSAGE_MAX}),
        }
        error_messages = {
            "interest": {"required": "Please choose a kind of group, or “Not sure yet”."},
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The model's blank choice reads "---------"; the site's own selects say "Choose".
        interest = self.fields["interest"]
        assert isinstance(interest, forms.ChoiceField)
        interest.choices = [("", "Choose"), *InterestKind.choices]

    def clean_name(self) -> str:
        name = _no_control_chars(self.cleaned_data["name"], "your name").strip()
        if not name:
            raise forms.ValidationError("Please tell us your name.")
        return name

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        _no_control_chars(email, "the e-mail address")
        return email.strip().lower()

    def clean_message(self) -> str:
        message = self.cleaned_data.get("message", "")
        if len(message) > MESSAGE_MAX:
            raise forms.ValidationError(f"Please keep your message under {MESSAGE_MAX} characters.")
        return _no_control_chars(message, "your message", multiline=True)

    @property
    def is_bot(self) -> bool:
        return bool(self.cleaned_data.get("website")) if hasattr(self, "cleaned_data") else False
