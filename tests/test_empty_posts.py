"""A form sent with none of its fields (a tampered or truncated request) is refused with each
missing field named by its box, as when they are sent empty: never a bare page with no word on
what went wrong."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.enrollment.factories import publish_consents
from tests.factories import CohortFactory, UserFactory
from tests.measures.factories import AssessmentFactory

pytestmark = pytest.mark.django_db


def _profile(member: Any) -> str:
    return reverse("profile")


def _consents(member: Any) -> str:
    publish_consents()
    return reverse("enrollment:consents", args=[CohortFactory().pk])


def _questionnaire(member: Any) -> str:
    return reverse("measures:take", args=[AssessmentFactory(member=member).pk])


def _delete_account(member: Any) -> str:
    return reverse("delete_account")


@pytest.mark.parametrize(
    "form_page", [_profile, _consents, _questionnaire, _delete_account], ids=lambda f: f.__name__
)
def test_a_form_sent_without_its_fields_says_which_are_missing(
    form_page: Callable[[Any], str],
) -> None:
    member = UserFactory()
    client = Client()
    client.force_login(member)
    url = form_page(member)
    response = client.post(url, {})
    assert response.status_code == 400
    body = response.content.decode()
    assert 'class="field-error"' in body, "the refused form names what is missing"
