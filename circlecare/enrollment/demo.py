"""Demo data for enrollment: the agreements (version 1) and a waiting list on a full group."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from circlecare.accounts.models import User
from circlecare.enrollment.models import (
    LIVE,
    SEAT_HOLDING,
    ConsentDocument,
    ConsentKind,
    ConsentSignature,
    Enrollment,
    EnrollmentStatus,
)
from circlecare.programs.models import Cohort, CohortStatus

DOCUMENTS = {
    ConsentKind.TELEHEALTH: (
        "Telehealth consent",
        "Groups meet by video in your web browser. Join from a private place where you can't be "
        "overheard, and on a device and connection you trust.\n\n"
        "Video meetings have limits: a connection may drop, and in an emergency we may not be able "
        "to reach you quickly. Tell your clinician the state you are in at the start of each "
        "therapy meeting. If you are in crisis, call or text 988, or 911 in an emergency.\n\n"
        "Meetings are never recorded by the practice, and you agree not to record them either.",
    ),
    ConsentKind.GROUP_CONFIDENTIALITY: (
        "Group confidentiality agreement",
        "What members share in the group stays in the group. You may talk about what you learned, "
        "but never about who was there or what another member said.\n\n"
        "Members see each other's display names only. Please don't contact other members outside "
        "the group unless you have both agreed to.\n\n"
        "If you decide to leave, you're asked to say goodbye, in a meeting or with a short "
        "message: endings matter to the people who stay.\n\n"
        "Groups are for adults: by signing you confirm you are 18 or older.",
    ),
    ConsentKind.INFORMED_CONSENT: (
        "Informed consent for group therapy",
        "Group therapy is led by a licensed clinician. It can help, and it can also bring up "
        "difficult feelings for a while. You can ask questions or stop at any time.\n\n"
        "Your clinician keeps notes, encrypted and seen only by the clinicians of your group. The "
        "practice shares information only with your written permission, or where the law requires "
        "it to keep you or someone else safe.\n\n"
        "You'll be asked to fill in short questionnaires so that you and your clinician can see "
        "how you are doing.",
    ),
}

WAITING = ["kai", "logan", "nico"]


@transaction.atomic
def seed_demo() -> str:
    epoch = timezone.now() - timedelta(days=60)
    created = 0
    documents = []
    for kind, (title, body) in DOCUMENTS.items():
        document, made = ConsentDocument.objects.get_or_create(
            kind=kind, version=1, defaults={"title": title, "body": body, "effective_at": epoch}
        )
        created += int(made)
        documents.append(document)
    now = timezone.now()
    # One skills group is full, with three people waiting in the order they joined.
    waiting = 0
    cohort = Cohort.objects.filter(
        program__slug="dbt-skills", name="Wednesday evenings (Central)"
    ).first()
    if cohort is not None:
        held = cohort.enrollments.filter(status__in=SEAT_HOLDING)
        if held.count() < cohort.capacity:
            others = (
                User.objects.filter(email__endswith="@demo.circlecare.example")
                .exclude(pk__in=cohort.enrollments.values("member_id"))
                .exclude(email__startswith="coordinator")
                .exclude(is_facilitator=True)
            )
            extra = [u for u in others if u.email.split("@")[0] not in WAITING]
            for index, member in enumerate(extra[: cohort.capacity - held.count()]):
                Enrollment.objects.create(
                    member=member,
                    cohort=cohort,
                    status=EnrollmentStatus.CONFIRMED,
                    queued_at=now - timedelta(days=20, minutes=-index),
                    confirmed_at=now - timedelta(days=20, minutes=-index),
                )
        for index, local in enumerate(WAITING):
            waiter = User.objects.filter(email=f"{local}@demo.circlecare.example").first()
            if waiter is None or cohort.enrollments.filter(member=waiter).exists():
                continue
            Enrollment.objects.create(
                member=waiter,
                cohort=cohort,
                status=EnrollmentStatus.WAITLISTED,
                queued_at=now - timedelta(days=10 - index),
            )
            waiting += 1
        if cohort.status == CohortStatus.OPEN and (
            cohort.enrollments.filter(status__in=SEAT_HOLDING).count() >= cohort.capacity
        ):
            cohort.status = CohortStatus.FULL
            cohort.save(update_fields=["status"])
    # Members who already hold a seat or wait for one signed what their group needs.
    for member in User.objects.filter(enrollments__status__in=LIVE).distinct():
        for document in documents:
            ConsentSignature.objects.get_or_create(
                member=member,
                document=document,
                defaults={"signed_at": now, "signed_name": member.display_name},
            )
    return f"Enrollment: {created} agreements published, {waiting} members added to a waiting list."
