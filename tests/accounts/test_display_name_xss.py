"""A member's display name is markup nobody should run: the pages staff read show it escaped.

The care pages are covered in tests/care/test_xss.py; these are the clinician's and the
coordinator's pages on which a member's name appears: roster, workspace, attendance, notes,
measures and the admin.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from circlecare.accounts.models import User
from tests.test_access_matrix import world

pytestmark = pytest.mark.django_db

#: One hostile name, split in two as a display name holds at most 40 characters: a script, and
#: an attempt to close an attribute and open an element with a handler.
PAYLOADS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']

W = dict[str, Any]
# page → (who looks, its address)
PAGES: dict[str, tuple[str, Callable[[W], str]]] = {
    "roster": ("clinician", lambda w: reverse("enrollment:roster", args=[w["cohort"].pk])),
    "workspace": ("clinician", lambda w: reverse("clinic:home")),
    "attendance": ("clinician", lambda w: reverse("meetings:attendance", args=[w["meeting"].pk])),
    "meeting notes": ("clinician", lambda w: reverse("clinic:notes", args=[w["meeting"].pk])),
    "member note": (
        "clinician",
        lambda w: reverse("clinic:note", args=["individual", w["individual"].pk]),
    ),
    "group measures": ("clinician", lambda w: reverse("measures:cohort", args=[w["cohort"].pk])),
    "member chart": (
        "clinician",
        lambda w: reverse("measures:member", args=[w["cohort"].pk, w["users"]["member"].pk]),
    ),
    "alerts": ("clinician", lambda w: reverse("measures:alerts")),
    "alert": ("clinician", lambda w: reverse("measures:alert", args=[w["alert"].pk])),
    "admin people": ("coordinator", lambda w: reverse("admin:accounts_user_changelist")),
    "admin person": (
        "coordinator",
        lambda w: reverse("admin:accounts_user_change", args=[w["users"]["member"].pk]),
    ),
}


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("page", sorted(PAGES))
def test_a_hostile_display_name_is_shown_escaped(page: str, payload: str) -> None:
    w = world()
    User.objects.filter(pk=w["users"]["member"].pk).update(display_name=payload)
    role, address = PAGES[page]
    client = Client()
    client.force_login(w["users"][role])
    response = client.get(address(w))
    assert response.status_code == 200
    html = response.content.decode()
    assert payload not in html
    assert escape(payload) in html
