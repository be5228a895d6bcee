from __future__ import annotations

from typing import Any

from django import forms

from circlecare.enrollment.models import PARTNER_EMAIL_MAX, SIGNED_NAME_MAX, ConsentDocument
from circlecare.programs.models import MAX_CAPACITY


class ConsentForm(forms.Form):
    """One "I agree" box per agreement, an adult attestation, and the member's typed name."""

    def __init__(self, *args: Any, documents: list[ConsentDocument], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.documents = documents
        for document in documents:
            self.fields[f"agree_{document.pk}"] = forms.BooleanField(
                label=f"I have read and agree to the {document.title} (version {document.version})",
                required=True,
                error_messages={"required": "Please tick this box to agree, or stop here."},
            )
        self.fields["adult"] = forms.BooleanField(
            label="I am 18 or older",
            required=True,
            error_messages={
                "required": "Groups are for adults: please confirm you are 18 or older."
            },
        )
        self.fields["signed_name"] = forms.CharField(
            label="Type your name to sign",
            max_length=SIGNED_NAME_MAX,
            help_text="Your name as you'd sign a paper form. Only the practice sees it.",
            widget=forms.TextInput(attrs={"autocomplete": "name"}),
            error_messages={"required": "Please type your name to sign."},
        )

    def agreement_fields(self) -> list[tuple[ConsentDocument, forms.BoundField]]:
        return [(d, self[f"agree_{d.pk}"]) for d in self.documents]


class WithdrawForm(forms.Form):
    goodbye = forms.CharField(
        label="A goodbye to the group (optional)",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=(
            "Saying goodbye is part of the group agreement. Only the group's members and the "
            "people who run the group see it."
        ),
    )


class RemoveForm(forms.Form):
    reason = forms.CharField(
        label="Reason (kept in the record, not sent to the member)",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": "Please give a reason for removing this member.",
            "max_length": "Please keep the reason to 500 characters or fewer.",
        },
    )


class CapacityForm(forms.Form):
    capacity = forms.IntegerField(
        label="Capacity",
        min_value=1,
        max_value=MAX_CAPACITY,
        error_messages={
            "required": "Please enter a capacity.",
            "invalid": "Please enter a whole number.",
            "min_value": "A group needs at least one seat.",
            "max_value": f"A group can have at most {MAX_CAPACITY} seats.",
        },
    )


class PartnerInviteForm(forms.Form):
    email = forms.EmailField(
        label="Your partner's e-mail address",
        # Declared here, as the model keeps the address as encrypted text, which knows nothing of
        # addresses or of the column's old limit.
        max_length=PARTNER_EMAIL_MAX,
        # Someone else's address: the browser should not offer the member's own.
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
        error_messages={"required": "Please enter your partner's e-mail address."},
    )
