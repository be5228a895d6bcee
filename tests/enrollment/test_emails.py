"""What members and partners read in enrollment e-mails: their own time, plain words, one ending."""

from __future__ import annotations

import hashlib
import re
from datetime import date, time, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from circlecare.enrollment import services, tasks
from circlecare.enrollment.models import (
    DECLINED_OFFER,
    OFFERS_LAPSED,
    REMOVED_BY_PRACTICE,
    EnrollmentStatus,
    PartnerInvite,
    PartnerInviteStatus,
)
from tests.factories import CohortFactory, EnrollmentFactory, ProgramFactory, UserFactory

pytestmark = pytest.mark.django_db

CRISIS = "If you are in crisis, call or text 988 (US), or your local emergency number."


def _evening_group() -> object:
    # Tuesdays 9 pm in New York: already Wednesday in London.
    return CohortFactory(first_meeting_date=date(2027, 3, 9), weekday=1, start_time=time(21, 0))


def test_a_member_abroad_reads_their_own_day_with_the_groups_time_beside_it() -> None:
    member = UserFactory(display_name="Ana", time_zone="Europe/London")
    enrollment = EnrollmentFactory(member=member, cohort=_evening_group())
    _, body = tasks.compose(enrollment, "confirmed")  # type: ignore[misc]
    assert (
        "the group that starts Wed 10 Mar 2027, 2:00 am GMT (9:00 pm on Tue 9 Mar in New York) "
        "is confirmed" in body
    )


def test_a_group_already_meeting_started_it_does_not_start_or_was_to_start() -> None:
    began = timezone.localdate() - timedelta(days=14)
    running = CohortFactory(first_meeting_date=began, weekday=began.weekday())
    for kind in ("group_cancelled", "removed"):
        enrollment = EnrollmentFactory(cohort=running, status=EnrollmentStatus.REMOVED)
        _, body = tasks.compose(enrollment, kind)  # type: ignore[misc]
        assert "the group that started " in body
        assert "was to start" not in body and "that starts" not in body
    upcoming = EnrollmentFactory(cohort=_evening_group(), status=EnrollmentStatus.REMOVED)
    _, body = tasks.compose(upcoming, "group_cancelled")  # type: ignore[misc]
    assert "the group that was to start Tue 9 Mar 2027" in body


def test_an_offer_does_not_promise_the_seat_to_someone_else_who_may_not_exist() -> None:
    enrollment = EnrollmentFactory(
        cohort=_evening_group(),
        status=EnrollmentStatus.OFFERED,
        offered_at=timezone.now(),
        offer_expires_at=timezone.now() + timedelta(hours=48),
    )
    _, body = tasks.compose(enrollment, "offered")  # type: ignore[misc]
    assert "after that it goes to the next person waiting, if there is one." in body
    assert "passes to the next person" not in body


def test_a_couples_offer_says_the_seats_are_for_both_and_either_answers_for_both() -> None:
    from circlecare.enrollment.models import Pairing

    cohort = _evening_group()
    enrollment = EnrollmentFactory(
        cohort=cohort,
        status=EnrollmentStatus.OFFERED,
        offered_at=timezone.now(),
        offer_expires_at=timezone.now() + timedelta(hours=48),
        pairing=Pairing.objects.create(cohort=cohort),
    )
    subject, body = tasks.compose(enrollment, "offered")  # type: ignore[misc]
    assert subject == "Two seats are free for you and your partner"
    assert "two seats have come free in the group" in body.lower()
    assert "Either of you can answer for you both" in body
    assert "declining takes you both off the waiting list" in body
    assert "after that they go to the next people waiting, if there are any." in body
    assert "it's yours" not in body


def test_a_place_taken_off_the_list_says_twice_not_2_times() -> None:
    enrollment = EnrollmentFactory(
        cohort=_evening_group(),
        status=EnrollmentStatus.WITHDRAWN,
        end_reason=OFFERS_LAPSED,
        ended_at=timezone.now(),
    )
    _, body = tasks.compose(enrollment, "offers_lapsed")  # type: ignore[misc]
    assert "2 times" not in body
    assert "(9:00 pm in New York)" not in body  # a New York member: one time is enough
    assert "Tue 9 Mar 2027, 9:00 pm EST twice and didn't hear back" in body


def test_an_offer_lapsing_once_the_group_has_started_does_not_say_it_passes_on() -> None:
    """A group that has started meeting offers no more seats from its waiting list: the e-mails
    about a lapsed offer say so, and do not suggest joining it again."""
    from circlecare.programs.models import CohortStatus

    began = timezone.localdate() - timedelta(days=14)
    running = CohortFactory(
        first_meeting_date=began, weekday=began.weekday(), status=CohortStatus.RUNNING
    )
    waiting = EnrollmentFactory(
        cohort=running, status=EnrollmentStatus.WAITLISTED, confirmed_at=None, passes=1
    )
    _, body = tasks.compose(waiting, "offer_expired")  # type: ignore[misc]
    assert "passed to the next person" not in body and "still on the waiting list" not in body
    assert "no more seats will be offered from its waiting list" in body
    ended = EnrollmentFactory(
        cohort=running,
        status=EnrollmentStatus.WITHDRAWN,
        end_reason=OFFERS_LAPSED,
        ended_at=timezone.now(),
        confirmed_at=None,
    )
    _, body = tasks.compose(ended, "offers_lapsed")  # type: ignore[misc]
    assert "join it again" not in body and "can go to someone else" not in body
    assert "the practice is glad to talk about other groups" in body


def test_an_offer_lapsing_before_the_start_passes_on_and_invites_joining_again() -> None:
    waiting = EnrollmentFactory(
        cohort=_evening_group(), status=EnrollmentStatus.WAITLISTED, confirmed_at=None, passes=1
    )
    _, body = tasks.compose(waiting, "offer_expired")  # type: ignore[misc]
    assert "passed to the next person. You're still on the waiting list." in body
    ended = EnrollmentFactory(
        cohort=_evening_group(),
        status=EnrollmentStatus.WITHDRAWN,
        end_reason=OFFERS_LAPSED,
        ended_at=timezone.now(),
    )
    _, body = tasks.compose(ended, "offers_lapsed")  # type: ignore[misc]
    assert "its waiting list and the seat can go to someone else. That's all right: if the " in (
        " ".join(body.split())
    )
    assert "you're welcome to join it again" in body


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("confirmed", EnrollmentStatus.CONFIRMED),
        ("waitlisted", EnrollmentStatus.WAITLISTED),
        ("removed", EnrollmentStatus.REMOVED),
        ("group_cancelled", EnrollmentStatus.REMOVED),
        ("readmitted", EnrollmentStatus.REMOVED),
    ],
)
def test_every_enrollment_email_ends_with_the_crisis_line_and_says_to_sign_in(
    kind: str, status: str
) -> None:
    enrollment = EnrollmentFactory(status=status, readmitted_at=timezone.now())
    _, body = tasks.compose(enrollment, kind)  # type: ignore[misc]
    assert body.endswith(f"\n\n{CRISIS}\n")
    assert f"after signing in:\n{settings.SITE_URL}/my/" in body
    assert "  " not in body and "\n\n\n" not in body and "None" not in body


@pytest.mark.parametrize(
    ("kind", "status", "end_reason"),
    [
        ("removed", EnrollmentStatus.REMOVED, ""),
        ("partner_removed", EnrollmentStatus.REMOVED, ""),
        ("partner_left", EnrollmentStatus.WITHDRAWN, ""),
        ("partner_declined", EnrollmentStatus.WITHDRAWN, DECLINED_OFFER),
        ("offers_lapsed", EnrollmentStatus.WITHDRAWN, OFFERS_LAPSED),
    ],
)
def test_an_ended_place_says_how_to_reach_the_practice(
    kind: str, status: str, end_reason: str
) -> None:
    """Someone whose place ended is asked to talk to the practice: the e-mail gives the way."""
    enrollment = EnrollmentFactory(status=status, end_reason=end_reason, ended_at=timezone.now())
    _, body = tasks.compose(enrollment, kind)  # type: ignore[misc]
    assert f"the practice:\n{settings.SITE_URL}/contact/\n\n" in body or (
        f"other groups:\n{settings.SITE_URL}/contact/\n\n" in body
    )
    assert "  " not in body and "\n\n\n" not in body


def test_a_member_let_back_in_is_told_they_may_join_and_where_not_that_they_have_a_seat() -> None:
    enrollment = EnrollmentFactory(
        status=EnrollmentStatus.REMOVED,
        end_reason=REMOVED_BY_PRACTICE,
        removal_reason="Private reason",
        ended_at=timezone.now(),
    )
    # Not let back in (or no longer so): nothing to say.
    assert tasks.compose(enrollment, "readmitted") is None
    enrollment.readmitted_at = timezone.now()
    subject, body = tasks.compose(enrollment, "readmitted")  # type: ignore[misc]
    assert subject == "You can join a group again"
    assert "welcome to join the group that starts" in body
    assert "You don't have a place in it yet" in body
    assert f"The group's page, after signing in:\n{settings.SITE_URL}/groups/group/" in body
    assert f"the practice:\n{settings.SITE_URL}/contact/\n\n" in body
    assert "Private reason" not in body
    assert enrollment.cohort.program.title not in body
    assert "  " not in body and "\n\n\n" not in body


def unsent_invite(**fields: Any) -> PartnerInvite:
    """An invitation to a couples group, as it stands before its e-mail goes out."""
    fields = {
        "cohort": CohortFactory(program=ProgramFactory(for_couples=True)),
        "inviter": UserFactory(),
        "token_hash": "hash",
        **fields,
    }
    return PartnerInvite.objects.create(
        email="partner@example.org", expires_at=timezone.now() + timedelta(days=14), **fields
    )


def test_a_partner_with_an_account_reads_the_invitation_in_their_own_zone() -> None:
    UserFactory(email="partner@example.org", time_zone="America/Los_Angeles")
    inviter = UserFactory(display_name="Dana")
    cohort = CohortFactory(
        program=ProgramFactory(for_couples=True),
        first_meeting_date=date(2027, 3, 9),
        weekday=1,
        start_time=time(19, 0),
    )
    invite = unsent_invite(cohort=cohort, inviter=inviter)
    tasks.send_partner_invite.call(invite.pk)
    [message] = mail.outbox
    assert "starting Tue 9 Mar 2027, 4:00 pm PST (7:00 pm in New York)" in message.body
    assert "The link works until " in message.body and " PST." in message.body
    assert services.invitation_by_link(_secret_in(message.body)) == invite
    assert message.body.endswith(f"\n\n{CRISIS}\n")


def _secret_in(body: str) -> str:
    """The secret in the invitation link of an e-mail."""
    match = re.search(rf"{re.escape(settings.SITE_URL)}/my/partner/([^/\s]+)/\n", body)
    assert match, body
    return match.group(1)


def test_an_invitation_emailed_again_opens_only_by_the_newer_link() -> None:
    """The task mints the link's secret, keeping only its hash: run twice for one invitation
    (queued again by hand, say), it sends a new link and the earlier one stops opening it, so
    there is never more than one link that does."""
    invite = unsent_invite()
    assert tasks.send_partner_invite.call(invite.pk) == 1
    assert tasks.send_partner_invite.call(invite.pk) == 1
    earlier, newer = (_secret_in(m.body) for m in mail.outbox)
    assert earlier != newer
    assert services.invitation_by_link(earlier) is None
    assert services.invitation_by_link(newer) == invite
    invite.refresh_from_db()
    assert invite.token_hash == hashlib.sha256(newer.encode()).hexdigest()


def test_an_invitation_queued_with_its_secret_by_an_earlier_release_gets_a_new_one() -> None:
    """Tasks queued before the e-mail task minted the secret carry it as a second argument.
    Run now, it is ignored: the e-mail holds a new link, and the one in the queue opens
    nothing."""
    queued = "the-secret-an-earlier-release-queued"
    invite = unsent_invite(token_hash=hashlib.sha256(queued.encode()).hexdigest())
    assert tasks.send_partner_invite.call(invite.pk, queued) == 1
    [message] = mail.outbox
    assert queued not in message.body
    assert services.invitation_by_link(_secret_in(message.body)) == invite
    assert services.invitation_by_link(queued) is None


def test_each_coordinator_reads_the_under_minimum_alert_in_their_own_zone(settings: Any) -> None:
    settings.COORDINATOR_EMAILS = ["office@example.org"]
    UserFactory(is_staff=True, email="west@example.org", time_zone="America/Los_Angeles")
    UserFactory(is_staff=True, email="east@example.org", time_zone="America/New_York")
    cohort = CohortFactory(
        first_meeting_date=timezone.localdate() + timedelta(days=3),
        start_time=time(19, 0),
        min_size=4,
    )
    assert tasks.check_minimum_size.call(cohort.pk) is True
    by_address = {tuple(m.to): m.body for m in mail.outbox}
    assert set(by_address) == {("east@example.org", "office@example.org"), ("west@example.org",)}
    assert "pm PST (7:00 pm in New York) has 0 of the 4" in by_address[("west@example.org",)]
    east = by_address[("east@example.org", "office@example.org")]
    assert ":00 pm ES" in east and "in New York)" not in east
    assert f"{settings.SITE_URL}/my/roster/{cohort.pk}/" in east


def test_an_invitation_cancelled_before_its_email_went_out_is_not_sent() -> None:
    invite = unsent_invite(status=PartnerInviteStatus.CANCELLED)
    assert tasks.send_partner_invite.call(invite.pk) == 0
    assert mail.outbox == []
    invite.refresh_from_db()
    assert invite.token_hash == "hash"  # no link minted for it


def test_the_under_minimum_alert_does_not_count_an_open_offer_as_someone_in_the_group() -> None:
    """Two confirmed and one offered seat not yet taken: the group has 2 of the 4 people it
    needs, and the offer is named apart, not added to them."""
    UserFactory(is_staff=True, email="coord@example.org", time_zone="America/New_York")
    cohort = CohortFactory(
        first_meeting_date=timezone.localdate() + timedelta(days=3), capacity=8, min_size=4
    )
    for _ in range(2):
        EnrollmentFactory(cohort=cohort)
    EnrollmentFactory(
        cohort=cohort,
        status=EnrollmentStatus.OFFERED,
        confirmed_at=None,
        offered_at=timezone.now(),
        offer_expires_at=timezone.now() + timedelta(days=1),
    )
    assert tasks.check_minimum_size.call(cohort.pk) is True
    [message] = mail.outbox
    assert "has 2 of the 4 people it needs to run, and 1 seat offered not yet taken." in (
        message.body
    )
