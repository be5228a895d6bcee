from __future__ import annotations

from typing import Any

from django import forms

from circlecare.accounts.models import User
from circlecare.accounts.validators import (
    DISPLAY_NAME_MAX,
    NAME_TOO_LONG,
    clean_display_name,
    selectable_zones,
)
from circlecare.states import HOME_STATE_CHOICES
from circlecare.widgets import QuickSelect

ZoneChoice = tuple[str, str] | tuple[str, list[tuple[str, str]]]


def zone_choices() -> list[ZoneChoice]:
    """A prompt, then the zones grouped by region and sorted by place, then UTC.

    The prompt's empty value lets the <select> carry `required` (browsers and Django allow it
    only when the first option is a placeholder). Within a region the option reads as the place
    ("New York"), so typing a city's first letters finds it.
    """
    regions: dict[str, list[tuple[str, str]]] = {}
    for zone in selectable_zones() - {"UTC"}:
        region, place = zone.split("/", 1)
        regions.setdefault(region, []).append((zone, place.replace("_", " ").replace("/", " / ")))
    grouped: list[ZoneChoice] = [
        (region, sorted(places, key=lambda choice: choice[1]))
        for region, places in sorted(regions.items())
    ]
    return [("", "Choose your time zone"), *grouped, ("UTC", "UTC (Coordinated Universal Time)")]


class ProfileFieldsMixin(forms.Form):
    display_name = forms.CharField(
        label="Name shown to your group",
        max_length=DISPLAY_NAME_MAX,
        help_text="Other members see only this. A first name or a nickname is fine.",
        error_messages={"max_length": NAME_TOO_LONG},
        widget=forms.TextInput(attrs={"autocomplete": "nickname"}),
    )
    home_state = forms.ChoiceField(
        label="Where you live",
        choices=[("", "Choose your state"), *HOME_STATE_CHOICES],
        help_text="Therapy groups can include only people living where the clinician is licensed.",
        widget=QuickSelect,
    )
    time_zone = forms.ChoiceField(
        label="Your time zone",
        choices=zone_choices,
        initial="America/New_York",
        help_text="We show every meeting time in this zone.",
        widget=QuickSelect,
        error_messages={
            "required": "Please choose your time zone.",
            "invalid_choice": "Please choose your time zone from the list.",
        },
    )

    def clean_display_name(self) -> str:
        return clean_display_name(self.cleaned_data.get("display_name", ""))


class SignupDetailsForm(ProfileFieldsMixin):
    """The extra fields allauth's sign-up form asks for."""

    adult = forms.BooleanField(
        label="I am 18 or older",
        required=True,
        error_messages={"required": "circlecare groups are for adults (18 or older)."},
    )

    def signup(self, request: Any, user: User) -> None:
        user.display_name = self.cleaned_data["display_name"]
        user.home_state = self.cleaned_data["home_state"]
        user.time_zone = self.cleaned_data["time_zone"]
        user.save(update_fields=["display_name", "home_state", "time_zone"])


class ProfileForm(ProfileFieldsMixin, forms.ModelForm):
    class Meta:
        model = User
        fields = [
            "display_name",
            "home_state",
            "time_zone",
            "language",
            "email_reminders",
            "care_nudges",
            "care_replies",
        ]
        # One setting stops both kinds of reminder: its label says so, so that a member told
        # "you can turn these reminders off" by a questionnaire reminder finds it.
        labels = {
            "email_reminders": "E-mail me reminders of meetings and of questionnaires",
            "care_replies": (
                "E-mail me when someone responds to my care-board post or thanks me, or something "
                "agreed there is called off"
            ),
        }


class TokenForm(forms.Form):
    name = forms.CharField(
        label="Name", max_length=80, help_text="What it's for, e.g. 'Calendar sync'."
    )
    scopes = forms.MultipleChoiceField(
        label="What it may do",
        choices=[
            ("read", "Read my information"),
            ("write", "Make changes for me (join or leave groups, submit questionnaires)"),
            ("clinical", "Read clinical information (questionnaire answers, notes)"),
        ],
        widget=forms.CheckboxSelectMultiple,
        initial=["read"],
    )
    days = forms.TypedChoiceField(
        label="Expires after",
        coerce=int,
        choices=[(7, "7 days"), (30, "30 days"), (90, "90 days"), (365, "1 year")],
        initial=30,
    )


class DeleteAccountForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        strip=False,
    )
    confirm = forms.CharField(
        label="Type DELETE to confirm",
        help_text="This can't be undone.",
        max_length=20,
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password = self.cleaned_data.get("password", "")
        if not self.user.check_password(password):
            raise forms.ValidationError("That password isn't right.")
        return password

    def clean_confirm(self) -> str:
        value = self.cleaned_data.get("confirm", "")
        if value.strip().upper() != "DELETE":
            raise forms.ValidationError("Please type DELETE to confirm.")
        return value
