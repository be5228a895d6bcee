"""factory_boy factories for every model tests build. Defaults make a valid, unremarkable row."""

from __future__ import annotations

from datetime import date, time, timedelta

import factory
from django.utils import timezone

from circlecare.accounts.models import User
from circlecare.enrollment.models import Enrollment, EnrollmentStatus
from circlecare.inquiries.models import Inquiry
from circlecare.practice.models import Clinician, CompactPrivilege, License, LicenseKind
from circlecare.programs.models import (
    Cohort,
    CohortStatus,
    Focus,
    Program,
    ProgramKind,
    ProgramWeek,
)

PASSWORD = "a calm lake at dawn 42"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"member{n}@example.org")
    display_name = factory.Sequence(lambda n: f"Member {n}")
    home_state = "NY"
    time_zone = "America/New_York"
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified(obj: User, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            from allauth.account.models import EmailAddress

            obj.save()
            EmailAddress.objects.get_or_create(
                user=obj,
                email=obj.email,
                defaults={"verified": extracted is not False, "primary": True},
            )


class ClinicianFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clinician

    user = factory.SubFactory(UserFactory, is_facilitator=True)
    credentials = "LCSW"
    bio = "Helps people find their footing in relationships."


class LicenseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = License

    clinician = factory.SubFactory(ClinicianFactory)
    state = "NY"
    kind = LicenseKind.LCSW
    number = factory.Sequence(lambda n: f"L{n:06d}")
    valid_from = date(2020, 1, 1)
    valid_to = date(2030, 12, 31)


class CompactPrivilegeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CompactPrivilege

    clinician = factory.SubFactory(ClinicianFactory)
    compact = "PSYPACT"
    state = "PA"
    home_license = factory.SubFactory(
        LicenseFactory, clinician=factory.SelfAttribute("..clinician")
    )
    valid_from = date(2020, 1, 1)
    valid_to = date(2030, 12, 31)


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Program

    kind = ProgramKind.SKILLS
    title = factory.Sequence(lambda n: f"Program {n}")
    slug = factory.Sequence(lambda n: f"program-{n}")
    focus = Focus.EMOTIONS
    summary = "Learn steady ways through hard feelings, together."
    audience = "Adults who want practical skills."
    weeks = 8
    minutes_per_meeting = 90
    default_capacity = 10
    min_group_size = 4


class ProgramWeekFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProgramWeek

    program = factory.SubFactory(ProgramFactory)
    number = factory.Sequence(lambda n: n + 1)
    topic = "Noticing what you feel"


def next_weekday(start: date, weekday: int) -> date:
    return start + timedelta(days=(weekday - start.weekday()) % 7)


class CohortFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cohort

    program = factory.SubFactory(ProgramFactory)
    lead = factory.LazyAttribute(lambda o: ClinicianFactory().user)
    first_meeting_date = factory.LazyFunction(
        lambda: next_weekday(timezone.localdate() + timedelta(days=14), 1)
    )
    weekday = factory.LazyAttribute(lambda o: o.first_meeting_date.weekday())
    start_time = time(19, 0)
    time_zone = "America/New_York"
    capacity = 10
    min_size = 1
    status = CohortStatus.OPEN


class EnrollmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enrollment

    member = factory.SubFactory(UserFactory)
    cohort = factory.SubFactory(CohortFactory)
    status = EnrollmentStatus.CONFIRMED
    queued_at = factory.LazyFunction(timezone.now)
    confirmed_at = factory.LazyFunction(timezone.now)


class InquiryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Inquiry

    name = "Sam"
    email = "sam@example.org"
    state = "NY"
    interest = "any"
    message = "When does the next circle start?"
    source = "test"
