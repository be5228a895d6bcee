from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from circlecare.care.models import (
    DETAILS_MAX,
    REASON_MAX,
    REFLECTION_MAX,
    RESOLUTION_NOTE_MAX,
    THANKS_MAX,
    TITLE_MAX,
    WHEN_MAX,
    WHERE_MAX,
    PostKind,
    Support,
)
from circlecare.programs.models import Cohort

#: How far ahead a post's date may be.
POST_DATE_AHEAD = timedelta(days=366)


class PostForm(forms.Form):
    kind = forms.ChoiceField(
        label="Are you offering or asking?",
        choices=[(PostKind.REQUEST, "I'm asking for support"), (PostKind.OFFER, "I'm offering")],
        widget=forms.RadioSelect,
        initial=PostKind.REQUEST,
    )
    support = forms.ChoiceField(label="What kind of support", choices=Support.choices)
    title = forms.CharField(
        label="In a few words",
        max_length=TITLE_MAX,
        error_messages={"required": "Please say in a few words what you're offering or asking."},
        help_text="For example: “A walk in the park on Saturday morning”.",
    )
    details = forms.CharField(
        label="Anything else to know (optional)",
        max_length=DETAILS_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    when_text = forms.CharField(
        label="When (optional)",
        max_length=WHEN_MAX,
        required=False,
        help_text="Free text is fine: “weekday evenings”, “this weekend”.",
    )
    when_date = forms.DateField(
        label="Or a date (optional)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Please give a date, such as 2026-12-15."},
    )
    where = forms.CharField(
        label="Roughly where (optional)",
        max_length=WHERE_MAX,
        required=False,
        help_text="A neighbourhood or “online”; never your home address.",
    )

    def clean_when_date(self) -> date | None:
        value: date | None = self.cleaned_data.get("when_date")
        # The viewer's own "today" (the middleware activates their zone), with a day's grace.
        today = timezone.localdate()
        if value is not None and value < today - timedelta(days=1):
            raise forms.ValidationError("Choose today or a later date.")
        if value is not None and value > today + POST_DATE_AHEAD:
            raise forms.ValidationError(
                "Choose a date within the next year: a care board is for the weeks around now."
            )
        return value


class ThanksForm(forms.Form):
    text = forms.CharField(
        label="A short thank-you",
        max_length=THANKS_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        # Shown above the match rather than by the box: say what is missing.
        error_messages={"required": "Please write a few words of thanks."},
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ResolveReportForm(forms.Form):
    note = forms.CharField(
        label="Note (optional)",
        max_length=RESOLUTION_NOTE_MAX,
        required=False,
        error_messages={
            "max_length": "Please keep the note to %(limit_value)d characters or fewer "
            "(it has %(show_value)d)."
        },
    )


class WeekForm(forms.Form):
    topic = forms.CharField(label="Topic", max_length=160, required=False)
    skill = forms.CharField(label="Skill", max_length=300, required=False)
    practice = forms.CharField(
        label="Practice between meetings",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    reflection_prompt = forms.CharField(
        label="Reflection prompt",
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class BoardSettingForm(forms.Form):
    enabled = forms.BooleanField(label="Members of this group can use a care board", required=False)


class GroupChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.program.title}{' — ' + obj.name if obj.name else ''}"


#: Under "share with the facilitator": sharing reaches someone only when they next look, so it is
#: not a way to ask for help in a hurry, and a member in crisis is told what is.
SHARE_HELP = (
    "Only the {leaders} of the group you chose can read a shared entry, when they next look: "
    "that may not be for some days. If you need help now, call or text 988 (US), or your local "
    "emergency number."
)


def leader_words(cohorts: Iterable[Cohort], *, plural: bool = False) -> str:
    """Who leads these groups, in members' words: "clinician" when they are all therapy
    groups, "facilitator" when none is, "clinician or facilitator" for a mix."""
    words = sorted({cohort.program.leader_word for cohort in cohorts}) or ["facilitator"]
    return " or ".join(f"{word}s" if plural else word for word in words)


class ReflectionForm(forms.Form):
    cohort = GroupChoiceField(
        label="Answering this week's prompt of",
        queryset=Cohort.objects.none(),
        required=False,
        empty_label="No group: a free entry",
    )
    body = forms.CharField(
        label="Your reflection",
        max_length=REFLECTION_MAX,
        widget=forms.Textarea(attrs={"rows": 8}),
        error_messages={"required": "Please write something before saving."},
        help_text="Private to you. Stored encrypted.",
    )
    share = forms.BooleanField(required=False)

    def __init__(self, *args: Any, cohorts: list[Cohort] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Who may read a shared entry, said for the groups this member can choose from.
        self.leader = leader_words(cohorts or [])
        self.fields["share"].label = f"Share this entry with the group's {self.leader}"
        self.fields["share"].help_text = SHARE_HELP.format(
            leaders=leader_words(cohorts or [], plural=True)
        )
        field = self.fields["cohort"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Cohort.objects.filter(pk__in=[c.pk for c in cohorts or []]).select_related(
            "program"
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("share") and not data.get("cohort"):
            self.add_error("share", f"Choose the group whose {self.leader} should read it.")
        return data


class ReflectionEditForm(forms.Form):
    body = forms.CharField(
        label="Your reflection",
        max_length=REFLECTION_MAX,
        widget=forms.Textarea(attrs={"rows": 8}),
        error_messages={"required": "Please write something before saving."},
    )
    share = forms.BooleanField(required=False)

    def __init__(self, *args: Any, cohort: Cohort | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cohorts = [cohort] if cohort is not None else []
        self.fields["share"].label = f"Share this entry with the group's {leader_words(cohorts)}"
        self.fields["share"].help_text = SHARE_HELP.format(
            leaders=leader_words(cohorts, plural=True)
        )
