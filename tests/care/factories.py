"""Factories and small builders for relational-care tests."""

from __future__ import annotations

from dataclasses import dataclass, field

import factory

from circlecare.accounts.models import User
from circlecare.care.models import CareMatch, CarePost, PostKind, Reflection, Support
from circlecare.programs.models import Cohort, ProgramKind
from tests.factories import (
    CohortFactory,
    EnrollmentFactory,
    ProgramFactory,
    ProgramWeekFactory,
    UserFactory,
)


class CircleProgramFactory(ProgramFactory):
    kind = ProgramKind.CARE_CIRCLE
    focus = "connection"


class CarePostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CarePost

    cohort = factory.SubFactory(CohortFactory)
    author = factory.SubFactory(UserFactory)
    kind = PostKind.REQUEST
    support = Support.WALK
    title = "A walk on Saturday"


class ReflectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reflection

    member = factory.SubFactory(UserFactory)
    body = "Today I noticed I was tired."


@dataclass
class Circle:
    cohort: Cohort
    lead: User
    members: list[User] = field(default_factory=list)


def make_circle(
    n_members: int = 3, *, kind: str = ProgramKind.CARE_CIRCLE, weeks: int = 6, **cohort: object
) -> Circle:
    """A cohort with a facilitator, ``n_members`` confirmed members and a curriculum."""
    program = ProgramFactory(kind=kind, focus="connection", weeks=weeks)
    for number in range(1, weeks + 1):
        ProgramWeekFactory(
            program=program,
            number=number,
            topic=f"Topic {number}",
            skill=f"Skill {number}",
            practice=f"Practice {number}",
            reflection_prompt=f"Prompt {number}",
        )
    lead = UserFactory(display_name="Facilitator", is_facilitator=True)
    c = CohortFactory(program=program, lead=lead, **cohort)
    members = [
        EnrollmentFactory(cohort=c, member=UserFactory(display_name=f"Member {chr(65 + i)}")).member
        for i in range(n_members)
    ]
    return Circle(cohort=c, lead=lead, members=members)


def make_match(post: CarePost, responder: User, **fields: object) -> CareMatch:
    giver, receiver = (
        (responder, post.author) if post.kind == PostKind.REQUEST else (post.author, responder)
    )
    return CareMatch.objects.create(
        post=post, cohort=post.cohort, responder=responder, giver=giver, receiver=receiver, **fields
    )
