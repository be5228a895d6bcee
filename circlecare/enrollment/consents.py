"""Which agreements a member must have signed for a cohort, at their current version.

Every group needs the telehealth consent and the group confidentiality agreement; therapy groups also
need the practice's informed consent. A new version applies from its ``effective_at``: a member who
signed an older one must sign the new one before their next meeting (the meetings app asks
``consents_missing(member, cohort, at=meeting_start)``).
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from circlecare.enrollment.models import ConsentDocument, ConsentKind, ConsentSignature
from circlecare.prebuilt import PreparedRead
from circlecare.programs.models import Cohort


def required_kinds(cohort: Cohort) -> list[str]:
    kinds = [ConsentKind.TELEHEALTH.value, ConsentKind.GROUP_CONFIDENTIALITY.value]
    if cohort.program.is_therapy:
        kinds.append(ConsentKind.INFORMED_CONSENT.value)
    return kinds


def _current(kinds: tuple[str, ...], member: Any, at: datetime) -> QuerySet[ConsentDocument]:
    documents = ConsentDocument.objects.filter(kind__in=kinds, effective_at__lte=at)
    if member is not None:
        documents = documents.annotate(
            signed=Exists(
                ConsentSignature.objects.filter(document=OuterRef("pk"), member_id=member)
            )
        )
    return documents.order_by("kind", "-version")


@functools.cache
def _current_signed_by(kinds: tuple[str, ...]) -> PreparedRead[ConsentDocument]:
    return PreparedRead(lambda member, at: _current(kinds, member, at), "member", "at")


def current_documents(
    kinds: list[str], *, at: datetime | None = None, signed_by: Any = None
) -> list[ConsentDocument]:
    """The newest version in force at ``at`` of each kind, in the order of ``kinds`` (one query).

    With ``signed_by`` (a member), each document says in ``signed`` whether they signed it, in the
    same query."""
    at = at or timezone.now()
    member = getattr(signed_by, "pk", None)
    if member is None:
        documents = list(_current(tuple(kinds), None, at))
    else:
        documents = _current_signed_by(tuple(sorted(kinds)))(member=member, at=at)
    newest: dict[str, ConsentDocument] = {}
    for document in documents:
        newest.setdefault(document.kind, document)
    return [newest[kind] for kind in kinds if kind in newest]


def asked_for_at(cohort: Cohort, now: datetime | None = None) -> datetime:
    """The moment whose agreements a member is asked to sign now: the start of a meeting of the
    cohort whose join window is already open, as joining it asks for the versions in force when
    it starts; otherwise now. Without this, a version taking effect inside that window would be
    asked for by the Join button and not yet offered on the agreements page."""
    from circlecare.meetings.models import JOIN_OPENS_BEFORE, Meeting, MeetingStatus

    now = now or timezone.now()
    soonest = (
        Meeting.objects.filter(
            cohort=cohort,
            status=MeetingStatus.SCHEDULED,
            starts_at__gt=now,
            starts_at__lte=now + JOIN_OPENS_BEFORE,
        )
        .order_by("starts_at")
        .values_list("starts_at", flat=True)
        .first()
    )
    return soonest or now


def consents_missing(
    member: Any, cohort: Cohort, *, at: datetime | None = None
) -> list[ConsentDocument]:
    """Agreements (current versions) this member still has to sign for this cohort. One query."""
    documents = current_documents(required_kinds(cohort), at=at, signed_by=member)
    return [d for d in documents if not getattr(d, "signed", False)]
