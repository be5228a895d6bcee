"""QuickSelect writes the same <select> as Django's templates, for every field it serves."""

from __future__ import annotations

import re

import pytest
from django import forms

from circlecare.accounts.forms import ProfileFieldsMixin
from circlecare.inquiries.forms import InquiryForm
from circlecare.meetings.forms import LocationForm
from circlecare.widgets import QuickSelect
from tests.factories import UserFactory


def _django(field: forms.BoundField) -> str:
    # The same field drawn by Django's own Select and its templates, with the same attributes.
    widget = forms.Select(attrs=field.field.widget.attrs, choices=field.field.choices)
    html = widget.render(
        field.html_name, field.value(), attrs=field.build_widget_attrs({}) | {"id": field.auto_id}
    )
    return re.sub(r">\s+<", "><", html.strip())


@pytest.mark.parametrize(
    ("form", "name"),
    [
        (ProfileFieldsMixin(), "time_zone"),
        (ProfileFieldsMixin(data={"time_zone": "Europe/Paris", "home_state": "zz"}), "time_zone"),
        (ProfileFieldsMixin(data={"home_state": "NY"}), "home_state"),
        (ProfileFieldsMixin(data={}), "home_state"),
        (LocationForm(data={"state": "CA"}), "state"),
        (InquiryForm(), "state"),
    ],
)
def test_quick_select_matches_django(form: forms.Form, name: str) -> None:
    field = form[name]
    assert isinstance(field.field.widget, QuickSelect)
    if form.is_bound:
        form.is_valid()  # errors add aria-invalid
    assert str(field) == _django(field)


def test_quick_select_escapes_and_marks_the_choice() -> None:
    widget = QuickSelect(choices=[("", "Pick"), ("Group <b>", [('a"b', "A & <B>")]), ("c", "C")])
    html = widget.render("f", 'a"b', attrs={"id": "id_f", "required": True, "disabled": False})
    assert html == (
        '<select name="f" id="id_f" required><option value="">Pick</option>'
        '<optgroup label="Group &lt;b&gt;"><option value="a&quot;b" selected>A &amp; &lt;B&gt;'
        '</option></optgroup><option value="c">C</option></select>'
    )


@pytest.mark.django_db
def test_the_profile_page_draws_every_zone(client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(UserFactory(time_zone="America/New_York"))
    page = client.get("/accounts/profile/").content.decode()
    assert page.count("<option ") > 400
    assert '<option value="America/New_York" selected>New York</option>' in page
