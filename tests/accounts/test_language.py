"""circlecare's pages are in English whatever the browser asks for; a member's preferred language
for contact is theirs to set and reaches the people who contact them after a risk answer."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from circlecare.programs.models import ProgramKind
from tests.factories import CohortFactory, LicenseFactory, ProgramFactory, UserFactory
from tests.measures.factories import answers_for

pytestmark = pytest.mark.django_db


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_browser_asking_for_spanish_gets_one_language_not_a_mixture() -> None:
    page = Client(HTTP_ACCEPT_LANGUAGE="es").get("/accounts/login/").content.decode()
    # Before, Django's and allauth's words came in Spanish around our English ones, in a page
    # marked lang="es", which a screen reader then read in a Spanish voice.
    assert '<html lang="en' in page
    assert "Iniciar sesión" not in page
    assert "Contraseña" not in page
    assert "<h1>Log in</h1>" in page


def test_a_member_sets_the_language_they_would_like_to_be_contacted_in() -> None:
    member = UserFactory(home_state="NY", time_zone="America/New_York")
    client = signed_in(member)
    form = client.get("/accounts/profile/").content.decode()
    assert "Language you&#x27;d like to be contacted in" in form
    assert "pages and e-mails are in English" in form
    response = client.post(
        "/accounts/profile/",
        {
            "display_name": member.display_name,
            "home_state": "NY",
            "time_zone": "America/New_York",
            "language": "es",
        },
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.language == "es"


def test_whoever_handles_an_alert_sees_the_language_to_reach_the_member_in() -> None:
    program = ProgramFactory(kind=ProgramKind.THERAPY, weeks=6)
    cohort = CohortFactory(program=program, lead=LicenseFactory(state="NY").clinician.user)
    member = UserFactory(home_state="NY", language="es")
    signed_in(member).post(
        f"/measures/intake/{cohort.pk}/",
        {f"item_{i + 1}": str(v) for i, v in enumerate(answers_for("PHQ9", 20, risk=2))},
    )
    from circlecare.measures.models import RiskAlert

    alert = RiskAlert.objects.get(member=member)
    page = signed_in(cohort.lead).get(f"/measures/alerts/{alert.pk}/").content.decode()
    assert '<span lang="es">Español</span>, the language they asked to be contacted in' in page

    member.language = "en"
    member.save(update_fields=["language"])
    page = signed_in(cohort.lead).get(f"/measures/alerts/{alert.pk}/").content.decode()
    assert "the language they asked to be contacted in" not in page
