"""The API tokens page: each landmark can be told apart by its name (axe "landmark-unique")."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from circlecare.accounts.tokens import create_token
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LANDMARK_ROLES = {
    "banner",
    "complementary",
    "contentinfo",
    "form",
    "main",
    "navigation",
    "region",
    "search",
}
IMPLICIT_ROLES = {
    "aside": "complementary",
    "form": "form",
    "main": "main",
    "nav": "navigation",
    "section": "region",
    "header": "banner",
    "footer": "contentinfo",
}
# header and footer are the page's banner and contentinfo only outside these.
SECTIONING = {"article", "aside", "main", "nav", "section"}
# A region or form is a landmark only when it has a name.
NAMED_ONLY = {"region", "form"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class Landmarks(HTMLParser):
    """Collects each landmark's role and how it is named, and the text of every element with an id."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[tuple[str, str | None]] = []  # (tag, id) of the elements we are inside
        self.text: dict[str, list[str]] = {}
        self.found: list[tuple[str, str | None, str | None]] = []  # (role, aria-label, labelledby)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        role = attr.get("role") or IMPLICIT_ROLES.get(tag)
        if tag in {"header", "footer"} and any(t in SECTIONING for t, _ in self.open):
            role = None
        if role in LANDMARK_ROLES:
            self.found.append((role, attr.get("aria-label"), attr.get("aria-labelledby")))
        if tag in VOID:
            return
        element_id = attr.get("id")
        if element_id:
            self.text[element_id] = []
        self.open.append((tag, element_id))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.open) - 1, -1, -1):
            if self.open[index][0] == tag:
                del self.open[index:]
                return

    def handle_data(self, data: str) -> None:
        for _tag, element_id in self.open:
            if element_id:
                self.text[element_id].append(data)

    def named(self) -> list[tuple[str, str]]:
        landmarks = []
        for role, label, labelledby in self.found:
            if labelledby:
                name = " ".join("".join(self.text.get(ref, [])) for ref in labelledby.split())
            else:
                name = label or ""
            name = " ".join(name.split())
            if role in NAMED_ONLY and not name:
                continue
            landmarks.append((role, name))
        return landmarks


def test_every_landmark_on_the_tokens_page_has_its_own_name(client: Client) -> None:
    user = UserFactory()
    create_token(
        user=user,
        name="Calendar sync",
        scopes=["read"],
        lifetime=timedelta(days=30),
        mfa_verified=False,
    )
    client.force_login(user)
    response = client.get(reverse("tokens"))
    assert response.status_code == 200
    assert "Calendar sync" in response.content.decode()

    parser = Landmarks()
    parser.feed(response.content.decode())
    landmarks = parser.named()
    regions = [name for role, name in landmarks if role == "region"]
    assert "Your tokens" in regions and "Create a token" in regions
    repeated = [landmark for landmark, count in Counter(landmarks).items() if count > 1]
    assert repeated == [], f"landmarks that share a role and a name: {repeated}"
