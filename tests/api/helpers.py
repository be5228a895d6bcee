"""A small practice for API tests, and tokens for each of its people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from circlecare.accounts.models import User
from circlecare.accounts.security import needs_mfa
from circlecare.accounts.tokens import create_token
from circlecare.meetings.models import Meeting
from circlecare.programs.models import Cohort, ProgramKind
from tests.factories import (
    ClinicianFactory,
    CohortFactory,
    EnrollmentFactory,
    LicenseFactory,
    ProgramFactory,
    UserFactory,
)
from tests.meetings.factories import meeting_at
from tests.mfa import enable_totp

ALL_SCOPES = ["read", "write", "clinical"]


def token_for(user: User, scopes: list[str] | None = None) -> str:
    """A personal access token; staff roles get an authenticator first, as they must."""
    if needs_mfa(user):
        from tests.mfa import has_totp

        if not has_totp(user):
            enable_totp(user)
    _token, raw = create_token(
        user=user,
        name="test",
        scopes=ALL_SCOPES if scopes is None else scopes,
        lifetime=timedelta(days=30),
        mfa_verified=True,
    )
    return raw


def bearer(raw: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


class Api:
    """A test client that sends one person's token (or none) with every request."""

    def __init__(self, user: User | None = None, scopes: list[str] | None = None) -> None:
        self.client = Client()
        self.headers = bearer(token_for(user, scopes)) if user is not None else {}

    def get(self, url: str, params: dict[str, Any] | None = None) -> Any:
        return self.client.get(url, params or {}, **self.headers)

    def post(self, url: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(url, body or {}, content_type="application/json", **self.headers)

    def delete(self, url: str) -> Any:
        return self.client.delete(url, **self.headers)


@dataclass
class Practice:
    cohort: Cohort
    lead: User
    co_facilitator: User
    member: User
    other_member: User
    other_cohort: Cohort
    other_clinician: User
    coordinator: User
    meeting: Meeting


def make_practice(*, kind: str = ProgramKind.CARE_CIRCLE) -> Practice:
    """One group (a care circle unless told) with a clinician lead, a co-facilitator and a member;
    a second group with its own clinician and member; a coordinator; a meeting that has opened."""
    lead = ClinicianFactory(user__display_name="Jordan Lee").user
    LicenseFactory(clinician=lead.clinician, state="NY")
    co = UserFactory(is_facilitator=True, display_name="Priya Shah")
    cohort = CohortFactory(
        program=ProgramFactory(kind=kind, title="Circle of connection"),
        lead=lead,
        co_facilitator=co,
        name="Tuesday circle",
    )
    member = UserFactory(display_name="Alex")
    EnrollmentFactory(member=member, cohort=cohort)
    other_clinician = ClinicianFactory(user__display_name="Sam Rivera").user
    other_cohort = CohortFactory(
        program=ProgramFactory(kind=kind), lead=other_clinician, name="Thursday circle"
    )
    other_member = UserFactory(display_name="Taylor")
    EnrollmentFactory(member=other_member, cohort=other_cohort)
    coordinator = UserFactory(is_staff=True, display_name="Coordinator")
    meeting = meeting_at(cohort, timezone.now() - timedelta(minutes=5))
    return Practice(
        cohort=cohort,
        lead=lead,
        co_facilitator=co,
        member=member,
        other_member=other_member,
        other_cohort=other_cohort,
        other_clinician=other_clinician,
        coordinator=coordinator,
        meeting=meeting,
    )


NOT_FOUND = {"code": "not_found", "message": "We couldn't find that.", "detail": None}
