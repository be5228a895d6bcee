"""Factories for enrollment's own models, and helpers to build a member ready to take a seat."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import factory
from django.utils import timezone

from circlecare.enrollment.models import (
    ConsentDocument,
    ConsentKind,
    ConsentSignature,
    PartnerInvite,
)
from tests.factories import UserFactory


class ConsentDocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConsentDocument

    kind = ConsentKind.TELEHEALTH
    version = 1
    title = factory.LazyAttribute(lambda o: ConsentKind(o.kind).label)
    body = "Please read this agreement."
    effective_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=30))


def publish_consents() -> list[ConsentDocument]:
    """Version 1 of every agreement, in force since last month."""
    return [ConsentDocumentFactory(kind=kind) for kind in ConsentKind]


def sign_all(member: Any) -> None:
    for document in ConsentDocument.objects.all():
        ConsentSignature.objects.get_or_create(
            member=member,
            document=document,
            defaults={"signed_at": timezone.now(), "signed_name": member.display_name},
        )


def ready_member(**fields: Any) -> Any:
    """A member who has signed every published agreement (skills groups are open to them)."""
    member = UserFactory(**fields)
    sign_all(member)
    return member


@contextmanager
def only_enrollment_steps() -> Iterator[None]:
    """Run with just enrollment's own "before a seat" steps (eligibility and consents).

    Other apps add steps (intake questionnaires …) that their own tests cover; seat tests keep to
    the steps this app defines.
    """
    from circlecare.enrollment import steps

    saved = list(steps._steps)
    steps._steps = [s for s in saved if s[1] in {"eligibility", "consents"}]
    try:
        yield
    finally:
        steps._steps = saved


def invite_partner(**arguments: Any) -> tuple[PartnerInvite, str]:
    """``services.invite_partner``, then the link's secret minted as the e-mail task mints it
    (without sending the e-mail): the invitation and the secret its e-mailed link holds."""
    from circlecare.enrollment import services

    invite = services.invite_partner(**arguments)
    token = services.issue_partner_invite_link(invite_id=invite.pk)
    assert token is not None
    return invite, token
