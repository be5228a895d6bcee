"""The other person hears by e-mail, once per event, when something agreed is called off."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.core import mail

from circlecare.care import services
from circlecare.care.models import PostKind
from circlecare.enrollment.models import Enrollment
from circlecare.enrollment.services import cancel_cohort, remove, withdraw
from tests.care.factories import CarePostFactory, make_circle, make_match
from tests.factories import UserFactory

# The real worker closes the connection it used.
pytestmark = pytest.mark.django_db(transaction=True)

GROUP = "Saturday walkers"
CARE_PAGE = f"{settings.SITE_URL}/care/"


def call_off_emails() -> list[Any]:
    return [m for m in mail.outbox if "care board" in m.subject]


def seat(member: object, cohort: object) -> Enrollment:
    return Enrollment.objects.get(member=member, cohort=cohort, status="confirmed")


def test_calling_off_tells_the_other_person_and_not_the_one_who_called_it_off(
    run_worker: Any,
) -> None:
    circle = make_circle(2)
    circle.cohort.program.title = GROUP
    circle.cohort.program.save()
    author, helper = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=author, title="A phone call tonight")
    match = make_match(post, helper)

    services.cancel_match(match=match, actor=helper)
    run_worker()

    [sent] = call_off_emails()
    assert sent.to == [author.email]
    assert sent.subject == "circlecare: a plan on the care board was called off"
    assert sent.body.startswith(
        f"Hello {author.display_name},\n\nThe other person has called off something you'd "
        "agreed on the care board. That's all right; nothing more is needed from you."
    )
    assert CARE_PAGE in sent.body
    text = sent.subject + sent.body
    for secret in ("phone call", GROUP, helper.display_name, f"/posts/{post.pk}/"):
        assert secret not in text


def test_a_block_reads_exactly_like_an_ordinary_call_off(run_worker: Any) -> None:
    sent = []
    for way in ("called off", "blocked"):
        mail.outbox.clear()
        circle = make_circle(2)
        blocked, blocker = circle.members
        match = make_match(CarePostFactory(cohort=circle.cohort, author=blocked), blocker)
        if way == "called off":
            services.cancel_match(match=match, actor=blocker)
        else:
            services.set_block(blocked=blocked, kind="block", cohort=circle.cohort, actor=blocker)
        run_worker()
        [message] = call_off_emails()
        assert message.to == [blocked.email]
        sent.append((message.subject, message.body.replace(blocked.email, "")))
    assert sent[0] == sent[1]
    assert "block" not in sent[1][0] + sent[1][1]


def test_a_block_that_calls_off_several_plans_sends_one_email_saying_how_many(
    run_worker: Any,
) -> None:
    circle = make_circle(3)
    blocked, blocker, bystander = circle.members
    make_match(CarePostFactory(cohort=circle.cohort, author=blocked), blocker)
    make_match(CarePostFactory(cohort=circle.cohort, author=blocker, kind=PostKind.OFFER), blocked)
    make_match(CarePostFactory(cohort=circle.cohort, author=bystander), blocked)

    services.set_block(blocked=blocked, kind="block", cohort=circle.cohort, actor=blocker)
    run_worker()

    [sent] = call_off_emails()
    assert sent.to == [blocked.email]
    assert sent.subject == "circlecare: plans on the care board were called off"
    assert "The other person has called off 2 things you'd agreed on the care board." in sent.body


@pytest.mark.parametrize("how", ["withdrew", "removed"])
def test_leaving_tells_each_other_person_once_without_saying_why(how: str, run_worker: Any) -> None:
    circle = make_circle(3)
    leaver, first, second = circle.members
    make_match(CarePostFactory(cohort=circle.cohort, author=leaver), first)
    make_match(CarePostFactory(cohort=circle.cohort, author=first, kind=PostKind.OFFER), leaver)
    make_match(CarePostFactory(cohort=circle.cohort, author=second), leaver)

    if how == "withdrew":
        withdraw(enrollment=seat(leaver, circle.cohort), goodbye="Too much going on at home")
    else:
        remove(enrollment=seat(leaver, circle.cohort), actor=circle.lead, reason="Unkind messages")
    run_worker()

    sent = {message.to[0]: message for message in call_off_emails()}
    assert sorted(sent) == sorted([first.email, second.email])
    assert len(call_off_emails()) == 2
    assert (
        "2 things you'd agreed on the care board are called off, because the other person left "
        "the group." in sent[first.email].body
    )
    assert (
        "Something you'd agreed on the care board is called off, because the other person left "
        "the group." in sent[second.email].body
    )
    for message in sent.values():
        for secret in ("Too much", "Unkind", "removed", "withdr", leaver.display_name):
            assert secret not in message.subject + message.body


def test_a_couple_leaving_is_not_told_as_one_person_leaving(run_worker: Any) -> None:
    """A couple's places end together: whoever had agreed something with each of them reads that
    the people they'd agreed it with left, not "the other person"."""
    from circlecare.enrollment.models import Pairing

    circle = make_circle(4)
    one, partner, both, just_one = circle.members
    pairing = Pairing.objects.create(cohort=circle.cohort)
    Enrollment.objects.filter(member__in=[one, partner]).update(pairing=pairing)
    make_match(CarePostFactory(cohort=circle.cohort, author=both), one)
    make_match(CarePostFactory(cohort=circle.cohort, author=partner, kind=PostKind.OFFER), both)
    make_match(CarePostFactory(cohort=circle.cohort, author=just_one), one)
    make_match(CarePostFactory(cohort=circle.cohort, author=just_one, title="Tea"), one)

    withdraw(enrollment=seat(one, circle.cohort))
    run_worker()

    sent = {message.to[0]: message.body for message in call_off_emails()}
    assert sorted(sent) == sorted([both.email, just_one.email])
    assert (
        "2 things you'd agreed on the care board are called off, because the people you'd "
        "agreed them with left the group." in sent[both.email]
    )
    assert (
        "2 things you'd agreed on the care board are called off, because the other person left "
        "the group." in sent[just_one.email]
    )
    for body in sent.values():
        assert one.display_name not in body and partner.display_name not in body


def test_a_group_ending_tells_everyone_once_that_it_ended(run_worker: Any) -> None:
    circle = make_circle(3)
    a, b, c = circle.members
    make_match(CarePostFactory(cohort=circle.cohort, author=a), b)
    make_match(CarePostFactory(cohort=circle.cohort, author=b), c)
    make_match(CarePostFactory(cohort=circle.cohort, author=c), a)

    cancel_cohort(cohort=circle.cohort, actor=UserFactory(is_staff=True))
    run_worker()

    emails = call_off_emails()
    assert sorted(m.to[0] for m in emails) == sorted(p.email for p in (a, b, c))
    for message in emails:
        assert (
            "Your group has ended, so 2 things you'd agreed on its care board and not yet done "
            "are called off." in message.body
        )


def test_nobody_is_emailed_who_turned_care_board_emails_off(run_worker: Any) -> None:
    circle = make_circle(2)
    author, helper = circle.members
    author.care_replies = False
    author.save()
    match = make_match(CarePostFactory(cohort=circle.cohort, author=author), helper)
    services.cancel_match(match=match, actor=helper)
    run_worker()
    assert call_off_emails() == []


def test_hiding_a_post_calls_off_what_was_agreed_on_it_and_tells_both(run_worker: Any) -> None:
    """Neither could open the post any more; showing it again brings nothing back."""
    from circlecare.care.models import CareMatch

    circle = make_circle(2)
    circle.cohort.program.title = GROUP
    circle.cohort.program.save()
    author, helper = circle.members
    post = CarePostFactory(cohort=circle.cohort, author=author, title="A phone call tonight")
    match = make_match(post, helper)
    services.hide_post(post=post, reason="Shares a phone number", actor=circle.lead)
    match.refresh_from_db()
    assert (match.status, match.cancel_reason) == ("cancelled", "post_hidden")
    run_worker()
    sent = call_off_emails()
    assert sorted(m.to[0] for m in sent) == sorted([author.email, helper.email])
    for email in sent:
        person = author if email.to[0] == author.email else helper
        assert email.body.startswith(
            f"Hello {person.display_name},\n\nThe group's facilitators took a post off the care board, so something you'd "
            "agreed on it is called off."
        )
        text = email.subject + email.body
        for secret in ("phone call", GROUP, "Shares a phone number", f"/posts/{post.pk}/"):
            assert secret not in text
    services.unhide_post(post=post, actor=circle.lead)
    assert CareMatch.objects.get(pk=match.pk).status == "cancelled"


def test_a_therapy_group_hiding_a_post_is_said_to_be_its_clinicians_doing(
    run_worker: Any,
) -> None:
    from circlecare.programs.models import ProgramKind

    group = make_circle(2, kind=ProgramKind.THERAPY)
    services.set_board_enabled(cohort=group.cohort, enabled=True, actor=group.lead)
    author, helper = group.members
    post = CarePostFactory(cohort=group.cohort, author=author, title="A phone call tonight")
    make_match(post, helper)
    services.hide_post(post=post, reason="Shares a phone number", actor=group.lead)
    run_worker()
    sent = call_off_emails()
    assert len(sent) == 2
    for email in sent:
        assert "The group's clinicians took a post off the care board" in email.body
        assert "facilitator" not in email.body
