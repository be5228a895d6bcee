"""Enrollment's background work: e-mails after commit, offer expiry, the under-minimum alert.

E-mails never carry clinical content: not the group's title or focus, nothing a member wrote. They
say what changed, when the group starts (in the member's own zone) and link to "My groups".
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django_tasks import task

from circlecare import emails
from circlecare.accounts.queries import coordinators_by_zone
from circlecare.emails import member_footer, site_link
from circlecare.enrollment.models import (
    DECLINED_OFFER,
    LAPSED_OFFERS_LIMIT,
    OFFERS_LAPSED,
    SEAT_HOLDING,
    CohortNotice,
    Enrollment,
    EnrollmentStatus,
    PartnerInvite,
    PartnerInviteStatus,
)
from circlecare.meetings.schedule import format_for_viewer, format_local
from circlecare.meetings.weeks import first_start
from circlecare.programs.models import JOINABLE, Cohort

UNDER_MINIMUM = "under_minimum"


def _my_groups_link() -> str:
    return site_link("enrollment:my_groups")


def _starts(cohort: Cohort, zone: str) -> str:
    """When the group starts, in ``zone``, with the group's own time beside it when that reads
    differently, as the site writes it."""
    mine, theirs = format_for_viewer(first_start(cohort), zone, cohort.time_zone)
    return f"{mine} ({theirs})" if theirs else mine


def _times(count: int) -> str:
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


def compose(enrollment: Enrollment, kind: str) -> tuple[str, str] | None:
    """Subject and body for one enrollment e-mail, or None when it no longer applies."""
    member = enrollment.member
    cohort = enrollment.cohort
    zone = member.time_zone or "UTC"
    starts = _starts(cohort, zone)
    # A group already meeting (joined late, or ended part-way) "started"; it does not "start".
    began = first_start(cohort) <= timezone.now()
    that_starts = f"{'that started' if began else 'that starts'} {starts}"
    that_was_to_start = that_starts if began else f"that was to start {starts}"
    link = _my_groups_link()
    # "Please contact the practice" comes with the way to do it, for someone whose place ended.
    contact = site_link("inquiries:contact")
    hello = f"Hello {member.display_name},\n\n"
    bye = "\n\n" + member_footer()
    if kind == "confirmed" and enrollment.status == EnrollmentStatus.CONFIRMED:
        return (
            "Your seat is confirmed",
            f"{hello}Your seat in the group {that_starts} is confirmed.\n\n"
            f"Your groups, meeting times and agreements are here, after signing in:\n{link}{bye}",
        )
    if kind == "waitlisted" and enrollment.status == EnrollmentStatus.WAITLISTED:
        return (
            "You're on the waiting list",
            f"{hello}The group {that_starts} is full, so you have a place on its waiting "
            "list. If a seat frees up we'll offer it to people in the order they joined, and "
            f"e-mail you.\n\nYou can see your place on the list here, after signing in:\n"
            f"{link}{bye}",
        )
    if kind == "offered" and enrollment.status == EnrollmentStatus.OFFERED:
        assert enrollment.offer_expires_at is not None
        deadline = format_local(enrollment.offer_expires_at, zone)
        again = (
            # Offered again because nobody else was waiting: said, so it isn't a puzzle.
            "Your earlier offer wasn't taken up in time, but the seat is still free and nobody "
            "else is waiting for it, so it's offered to you again. If this one isn't taken up "
            "either, we'll take you off the waiting list (you can always join it again). "
            if enrollment.passes
            else ""
        )
        if enrollment.pairing_id is not None:
            # A couple's offer is answered by either partner for both.
            return (
                "Two seats are free for you and your partner",
                f"{hello}Two seats have come free in the group {that_starts}, for you and your "
                f"partner, and they're yours if you want them. {again}Please accept or decline "
                f"by {deadline}; after that they go to the next people waiting, if there are "
                "any. Either of you can answer for you both: accepting takes both seats, and "
                "declining takes you both off the waiting list.\n\n"
                f"Accept or decline here, after signing in:\n{link}{bye}",
            )
        return (
            "A seat is free for you",
            f"{hello}A seat has come free in the group {that_starts}, and it's yours "
            f"if you want it. {again}Please accept or decline by {deadline}; after that it "
            "goes to the next person waiting, if there is one.\n\n"
            f"Accept or decline here, after signing in:\n{link}{bye}",
        )
    if kind == "offer_expired" and enrollment.status == EnrollmentStatus.WAITLISTED:
        if cohort.status not in JOINABLE:
            # Started meeting: the seat is not offered on, and no other seat will be offered.
            return (
                "Your seat offer has expired",
                f"{hello}The seat we offered you in the group {that_starts} wasn't taken up "
                "in time. The group has started meeting now, so no more seats will be offered "
                "from its waiting list. If you'd like to talk about other groups, please "
                f"contact the practice:\n{contact}\n\nYour groups, after signing in:\n{link}{bye}",
            )
        return (
            "Your seat offer has expired",
            f"{hello}The seat we offered you in the group {that_starts} wasn't taken up "
            "in time, so it has passed to the next person. You're still on the waiting list.\n\n"
            f"See your place here, after signing in:\n{link}{bye}",
        )
    if (
        kind == "offers_lapsed"
        and enrollment.status == EnrollmentStatus.WITHDRAWN
        and enrollment.end_reason == OFFERS_LAPSED
    ):
        # The seat goes on only while the group takes members from its list, and joining
        # again is suggested only while the group takes new members.
        passed_on = " and the seat can go to someone else" if cohort.status in JOINABLE else ""
        join_again = (
            ""
            if cohort.closed_for_joining
            else "if the group still suits you, you're welcome to join it again, and "
        )
        return (
            "You're no longer on a waiting list",
            f"{hello}We offered you a seat in the group {that_starts} "
            f"{_times(LAPSED_OFFERS_LIMIT)} and didn't hear back in time, so we've taken you off "
            f"its waiting list{passed_on}. That's all right: {join_again}the practice is glad to "
            f"talk about other groups:\n{contact}\n\nYour groups, after signing in:\n{link}{bye}",
        )
    if kind == "partner_left" and enrollment.status == EnrollmentStatus.WITHDRAWN:
        return (
            "Your partner has left your group",
            f"{hello}Your partner has left the group {that_starts}. A couple's places are "
            "kept and given up together, so your place there has ended too. If you'd like to "
            "keep going, on your own or in another group, please contact the practice:\n"
            f"{contact}\n\nYour groups, after signing in:\n{link}{bye}",
        )
    if (
        kind == "partner_declined"
        and enrollment.status == EnrollmentStatus.WITHDRAWN
        and enrollment.end_reason == DECLINED_OFFER
    ):
        return (
            "Your partner declined the seats",
            f"{hello}Your partner declined the two seats offered to you both in the group "
            f"{that_starts}. Either of you answers a couple's offer for you both, so you're both "
            "off the waiting list now. If that wasn't what you meant, or you'd like to talk about "
            f"other groups, please contact the practice:\n{contact}\n\nYour groups, after "
            f"signing in:\n{link}{bye}",
        )
    if kind == "partner_removed" and enrollment.status == EnrollmentStatus.REMOVED:
        return (
            "Your place in a group has ended",
            f"{hello}Your partner's place in the group {that_starts} has ended. A "
            "couple's places are kept and given up together, so your place there has ended too. "
            "If you'd like to keep going, on your own or in another group, please contact the "
            f"practice:\n{contact}\n\nYour groups, after signing in:\n{link}{bye}",
        )
    if kind == "group_cancelled" and enrollment.status == EnrollmentStatus.REMOVED:
        catalog = site_link("programs:list")
        return (
            "A group you joined has been cancelled",
            f"{hello}We're sorry: the group {that_was_to_start} has been cancelled, so "
            "your place in it has ended. The practice will be in touch about other groups, and "
            f"you can see the groups open now here:\n{catalog}\n\nYour groups, after signing in:\n"
            f"{link}{bye}",
        )
    if kind == "removed" and enrollment.status == EnrollmentStatus.REMOVED:
        return (
            "Your place in a group has ended",
            f"{hello}Your place in the group {that_starts} has ended. If you'd like to "
            "talk about it, or about other groups, please contact the practice:\n"
            f"{contact}\n\nYour groups, after signing in:\n{link}{bye}",
        )
    if (
        kind == "readmitted"
        and enrollment.status == EnrollmentStatus.REMOVED
        and enrollment.readmitted_at is not None
    ):
        # The group's page is where they join; its address carries no name or focus.
        page = site_link("programs:cohort", cohort.pk)
        return (
            "You can join a group again",
            f"{hello}The practice has said you're welcome to join the group {that_starts} "
            "again. You don't have a place in it yet: if it still suits you, you can join from "
            "its page as anyone does, and take a free seat, or a place on the waiting list if "
            f"the group is full.\n\nThe group's page, after signing in:\n{page}\n\nIf you'd "
            "like to talk about it first, or about other groups, please contact the practice:\n"
            f"{contact}\n\nYour groups, after signing in:\n{link}{bye}",
        )
    return None


@task()
def send_enrollment_email(enrollment_id: int, kind: str) -> int:
    enrollment = (
        Enrollment.objects.select_related("member", "cohort", "cohort__program")
        .defer("member__password")
        .filter(pk=enrollment_id)
        .first()
    )
    if enrollment is None or not enrollment.member.email:
        return 0
    message = compose(enrollment, kind)
    if message is None:
        return 0
    subject, body = message
    return send_mail(
        subject=emails.subject(subject),
        message=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[enrollment.member.email],
    )


@task()
def expire_offer(enrollment_id: int) -> int:
    """Runs at the offer's deadline: expires it (and any other lapsed offer in the cohort)."""
    from circlecare.enrollment.services import expire_offers

    cohort_id = (
        Enrollment.objects.filter(pk=enrollment_id).values_list("cohort_id", flat=True).first()
    )
    if cohort_id is None:
        return 0
    return expire_offers(cohort_id=cohort_id)


@task()
def sweep() -> int:
    """The periodic safety net: lapsed offers, free seats with people waiting, under-minimum
    alerts, and groups moving on to running and finished. Idempotent."""
    from circlecare.enrollment.services import advance_cohorts, expire_offers, offer_waiting_seats

    return expire_offers() + offer_waiting_seats() + alert_under_minimum() + advance_cohorts()


def _alert_if_under_minimum(cohort: Cohort) -> bool:
    held = Enrollment.objects.filter(cohort=cohort, status__in=SEAT_HOLDING).aggregate(
        all=Count("pk"), offered=Count("pk", filter=Q(status=EnrollmentStatus.OFFERED))
    )
    if held["all"] >= cohort.min_size:
        return False
    # An offer not yet taken is not someone in the group: it is named apart.
    confirmed, offered = held["all"] - held["offered"], held["offered"]
    offers = (
        f", and {offered} seat{'' if offered == 1 else 's'} offered not yet taken"
        if offered
        else ""
    )
    by_zone = coordinators_by_zone(cohort.time_zone)
    if not by_zone:
        return False
    try:
        with transaction.atomic():
            CohortNotice.objects.create(cohort=cohort, kind=UNDER_MINIMUM)
    except IntegrityError:
        return False  # already sent
    link = site_link("enrollment:roster", cohort.pk)
    # Each coordinator reads the start in their own zone, as the site shows it to them.
    for zone, recipients in by_zone.items():
        send_mail(
            subject=emails.subject("a group is under its minimum size"),
            message=(
                f"The group starting {_starts(cohort, zone)} has {confirmed} of the "
                f"{cohort.min_size} people it needs to run{offers}.\n\nOpen its roster:\n{link}\n"
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=recipients,
        )
    return True


def alert_under_minimum() -> int:
    """Alert coordinators about cohorts starting within the window that are under their minimum."""
    days = int(getattr(settings, "COHORT_MIN_SIZE_ALERT_DAYS", 7))
    # A group's first meeting date is on its own calendar, up to a day either side of UTC's:
    # the query takes that margin, and each group's own today decides, as in check_minimum_size.
    today = timezone.now().astimezone(UTC).date()
    cohorts = Cohort.objects.filter(
        status__in=JOINABLE,
        first_meeting_date__gte=today - timedelta(days=1),
        first_meeting_date__lte=today + timedelta(days=days + 1),
    ).exclude(pk__in=CohortNotice.objects.filter(kind=UNDER_MINIMUM).values("cohort_id"))
    return sum(
        1
        for cohort in cohorts
        if _in_alert_window(cohort, days) and _alert_if_under_minimum(cohort)
    )


def _in_alert_window(cohort: Cohort, days: int) -> bool:
    today = cohort.local_today()
    return today <= cohort.first_meeting_date <= today + timedelta(days=days)


@task()
def check_minimum_size(cohort_id: int) -> bool:
    cohort = Cohort.objects.filter(pk=cohort_id).first()
    if cohort is None or cohort.status not in JOINABLE:
        return False
    days = int(getattr(settings, "COHORT_MIN_SIZE_ALERT_DAYS", 7))
    if not _in_alert_window(cohort, days):
        return False
    return _alert_if_under_minimum(cohort)


def _invite(invite_id: int, **where: Any) -> PartnerInvite | None:
    """The invitation with who sent it and its group, if it still exists (and matches ``where``)."""
    return (
        PartnerInvite.objects.select_related("inviter", "cohort")
        .defer("inviter__password")
        .filter(pk=invite_id, **where)
        .first()
    )


@task()
def send_partner_invite(invite_id: int, legacy_token: str | None = None) -> int:
    """E-mail the invited partner a link to accept.

    The link's secret is minted here, not by the request that made the invitation, so that it
    is never among the queued arguments, which the task table keeps in clear. Only its hash is
    stored, on the invitation. Run again for the same invitation, the task mints a new secret
    and the previous e-mail's link stops working: there is never more than one link that opens
    an invitation.

    ``legacy_token`` is only ever the secret that an earlier release queued along with the
    invitation's id; it is ignored, and minting a new one makes it worthless. Never pass it."""
    from circlecare.enrollment.services import issue_partner_invite_link

    token = issue_partner_invite_link(invite_id=invite_id)
    invite = _invite(invite_id, status=PartnerInviteStatus.PENDING)
    if token is None or invite is None:
        # Sent again, cancelled or accepted before the worker reached it: no link opens it,
        # and a newer invitation (if any) has its own e-mail.
        return 0
    link = site_link("enrollment:partner_accept", token)
    # A partner who already has an account reads times in their own zone; anyone else in the
    # group's, which is named.
    zone = (
        get_user_model()
        .objects.filter(email__iexact=invite.email)
        .values_list("time_zone", flat=True)
        .first()
    ) or invite.cohort.time_zone
    starts = _starts(invite.cohort, zone)
    until = format_local(invite.expires_at, zone)
    return send_mail(
        subject=emails.subject("an invitation to join a group together"),
        message=(
            f"Hello,\n\n{invite.inviter.display_name} has invited you to join a group for "
            f"couples with them, starting {starts}.\n\nTo accept, create an account (or log in) "
            f"with this e-mail address and open:\n{link}\n\nThe link works until {until}. If "
            "you weren't expecting this, you can ignore it.\n\n" + member_footer()
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[invite.email],
    )


@task()
def send_partner_invite_called_off(invite_id: int) -> int:
    """Tell the one who sent an invitation that it was called off when the group stopped being
    for couples: they can each join on their own."""
    invite = _invite(invite_id)
    if invite is None:
        return 0
    inviter = invite.inviter
    starts = _starts(invite.cohort, inviter.time_zone or "UTC")
    return send_mail(
        subject=emails.subject("your invitation to your partner was called off"),
        message=(
            f"Hello {inviter.display_name},\n\nThe group that starts {starts} is no longer for "
            "couples: each person joins it on their own. The invitation you sent your partner "
            "was called off, and its link no longer works.\n\nYou can each join the group from "
            f"its page. Your groups are here, after signing in:\n{_my_groups_link()}\n\n"
            + member_footer()
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[inviter.email],
    )


@task()
def send_partner_could_not_join(invite_id: int) -> int:
    """Tell the one who sent an invitation that their partner tried to accept and couldn't join
    yet. Nothing of why (where their partner lives, say, is theirs to tell)."""
    invite = _invite(invite_id, status=PartnerInviteStatus.PENDING)
    if invite is None or invite.could_not_join_at is None:
        # Accepted, called off or replaced before the worker reached it: nothing to tell.
        return 0
    inviter = invite.inviter
    zone = inviter.time_zone or "UTC"
    starts = _starts(invite.cohort, zone)
    until = format_local(invite.expires_at, zone)
    return send_mail(
        subject=emails.subject("your partner couldn't join yet"),
        message=(
            f"Hello {inviter.display_name},\n\nYour partner opened your invitation to the group "
            f"that starts {starts}, but they can't join it yet, so neither of you has a place "
            "in it yet. They've been shown what they can do; you may want to talk it over "
            f"together.\n\nTheir link works until {until}. Your groups are here, after signing "
            f"in:\n{_my_groups_link()}\n\n" + member_footer()
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[inviter.email],
    )
