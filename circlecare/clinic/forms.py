from __future__ import annotations

from typing import Any

from django import forms

#: Generous for a meeting note; a limit keeps one request from storing megabytes.
NOTE_MAX_LENGTH = 20_000


class NoteForm(forms.Form):
    text = forms.CharField(
        label="Note",
        required=False,
        max_length=NOTE_MAX_LENGTH,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        error_messages={
            "max_length": f"A note can be up to {NOTE_MAX_LENGTH:,} characters. "
            "Please shorten it, or continue in an amendment once it is signed."
        },
    )


class SignForm(forms.Form):
    # The box shares a form with the note's Save button, which must work with it unticked;
    # the server still asks for it before signing.
    use_required_attribute = False

    confirm = forms.BooleanField(
        label="I have reviewed this note. Once signed it can't be changed, only amended.",
        error_messages={"required": "Tick the box to confirm before signing."},
    )

    def __init__(self, *args: Any, member_name: str | None = None, **kwargs: Any) -> None:
        # A page holds a box for every note on it: each names its note ("the group note",
        # "Ann's note"), so a screen reader moving from box to box hears which one it is at.
        super().__init__(*args, **kwargs)
        about = f"{member_name}'s note" if member_name else "the group note"
        self.fields[
            "confirm"
        ].label = f"I have reviewed {about}. Once signed it can't be changed, only amended."
