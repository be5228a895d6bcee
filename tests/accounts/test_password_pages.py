"""Sign-in and password change: "Forgot your password?" comes after the form's submit button, is a
full-size target, and is no part of the password field's description."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


class FormControls(HTMLParser):
    """The inputs, buttons and links of the page's first <form class="form">, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.in_form = False
        self.done = False
        self.controls: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {key: value or "" for key, value in attrs}
        if tag == "form" and "form" in found.get("class", "").split() and not self.done:
            self.in_form = True
        if not self.in_form:
            return
        if tag in {"input", "button", "a"} and found.get("type") != "hidden":
            self.controls.append({"tag": tag, **found})

    def handle_data(self, data: str) -> None:
        if self.in_form and self.controls and self.controls[-1]["tag"] == "a":
            self.controls[-1]["text"] = self.controls[-1].get("text", "") + data.strip()

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.in_form:
            self.in_form = False
            self.done = True


def controls_of(html: str) -> FormControls:
    parser = FormControls()
    parser.feed(html)
    return parser


def check_forgot_link_follows(parser: FormControls, password_id: str) -> None:
    order = [(c["tag"], c.get("id") or c.get("type") or c.get("text", "")) for c in parser.controls]
    password = order.index(("input", password_id))
    submit = order.index(("button", "submit"))
    forgot = [i for i, c in enumerate(parser.controls) if c.get("text") == "Forgot your password?"]
    assert len(forgot) == 1, order
    assert password < submit < forgot[0], order
    link = parser.controls[forgot[0]]
    assert link["href"] == reverse("account_reset_password")
    # .btn gives the 44px target every button has (--target), not an 18px line of small text.
    assert "btn" in link["class"].split()
    field = next(c for c in parser.controls if c.get("id") == password_id)
    assert "aria-describedby" not in field, field


def test_sign_in_shows_the_reset_link_after_the_submit_button(client: Client) -> None:
    parser = controls_of(client.get(reverse("account_login")).content.decode())
    check_forgot_link_follows(parser, "id_password")


def test_password_change_shows_the_reset_link_after_the_submit_button(client: Client) -> None:
    client.force_login(UserFactory())
    parser = controls_of(client.get(reverse("account_change_password")).content.decode())
    check_forgot_link_follows(parser, "id_oldpassword")


def test_a_wrong_current_password_is_described_by_its_error_alone(client: Client) -> None:
    client.force_login(UserFactory())
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": "not it", "password1": "river stones hum", "password2": "river stones hum"},
    )
    field = next(
        c
        for c in controls_of(response.content.decode()).controls
        if c.get("id") == "id_oldpassword"
    )
    assert field["aria-describedby"] == "id_oldpassword_error"
