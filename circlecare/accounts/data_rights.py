"""A member's rights over their data: a full copy of it, and deleting their account.

The copy gathers every app's records about the member. Deleting an account removes what the member
shared socially (care posts, private journal entries, sign-in methods) and the identifying details on
the account, and keeps what the practice must retain by law for clinical records (questionnaire answers,
notes, alerts, attendance, agreements signed, the audit trail), attached to a de-identified account.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from circlecare.accounts.models import PersonalAccessToken, User
from circlecare.accounts.services import end_other_sessions
from circlecare.audit.models import AuditAction
from circlecare.audit.services import record
from circlecare.crypto import lookup_digest, lookup_digests
from circlecare.errors import DomainError

RETAINED_NOTICE = (
    "Your questionnaire answers, attendance, the agreements you signed and any notes your clinician "
    "wrote are clinical records. The practice must keep them for the period the law requires, so they "
    "are kept — no longer linked to your name or e-mail — and then destroyed. So are journal "
    "entries you shared with a facilitator."
)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _group_name(cohort: Any) -> str:
    """A group as the download names it: its own name, or its programme's title if it has none."""
    return str(cohort.name or cohort.program.title)


def _own_addresses(member: User) -> Q:
    """Records sent from an address of the member's: the account's own, or another they added
    and confirmed (one added but never confirmed may be anyone's)."""
    from allauth.account.models import EmailAddress

    addresses = {
        member.email,
        *EmailAddress.objects.filter(user=member, verified=True).values_list("email", flat=True),
    }
    # The addresses are stored encrypted: they are found by their keyed digest, which ignores
    # case as the comparison of addresses here always has.
    return Q(email_digest__in=sorted({d for a in addresses for d in lookup_digests(a)}))


def export_member_data(member: User) -> dict[str, Any]:
    """Everything circlecare holds about ``member``, in plain JSON-ready structures."""
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from allauth.usersessions.models import UserSession

    from circlecare.care.models import (
        CareMatch,
        CarePost,
        CareReport,
        MemberBlock,
        NudgeSent,
        Reflection,
    )
    from circlecare.enrollment.models import ConsentSignature, Enrollment, PartnerInvite
    from circlecare.inquiries.models import Inquiry
    from circlecare.meetings.live.models import RoomPresence, RoomRemoval
    from circlecare.meetings.models import (
        Attendance,
        CalendarFeed,
        LocationAttestation,
        ReminderSent,
    )

    data: dict[str, Any] = {
        "exported_at": timezone.now().isoformat(),
        "profile": {
            "email": member.email,
            "display_name": member.display_name,
            "home_state": member.home_state,
            "time_zone": member.time_zone,
            "language": member.language,
            "email_reminders": member.email_reminders,
            "care_nudges": member.care_nudges,
            "care_replies": member.care_replies,
            "joined": _iso(member.date_joined),
        },
        # Every address added to the account, confirmed or not, not only the one signed in with.
        "email_addresses": [
            {"email": a.email, "verified": a.verified, "primary": a.primary}
            for a in EmailAddress.objects.filter(user=member).order_by("-primary", "email")
        ],
        "groups": [
            {
                "group": _group_name(e.cohort),
                "program": e.cohort.program.title,
                "status": e.status,
                "joined": _iso(e.queued_at),
                "confirmed": _iso(e.confirmed_at),
                "ended": _iso(e.ended_at),
                "goodbye_message": e.goodbye,
            }
            for e in Enrollment.objects.filter(member=member).select_related("cohort__program")
        ],
        "agreements_signed": [
            {
                "agreement": s.document.title,
                "version": s.document.version,
                "signed_at": _iso(s.signed_at),
            }
            for s in ConsentSignature.objects.filter(member=member).select_related("document")
        ],
        "attendance": [
            {
                "meeting": _iso(a.meeting.starts_at),
                "group": _group_name(a.meeting.cohort),
                "status": a.status,
            }
            for a in Attendance.objects.filter(member=member).select_related(
                "meeting__cohort__program"
            )
        ],
        "locations_confirmed": [
            {
                "meeting": _iso(x.meeting.starts_at),
                "state": x.state,
                "at": _iso(x.at),
                "allowed": x.allowed,
            }
            for x in LocationAttestation.objects.filter(member=member).select_related("meeting")
        ],
        "care_posts": [
            {
                "kind": p.kind,
                "support": p.support,
                "title": p.title,
                "details": p.details,
                "when": p.when_text or (p.when_date.isoformat() if p.when_date else ""),
                "where": p.where,
                "status": p.status,
                "created": _iso(p.created_at),
            }
            for p in CarePost.objects.filter(author=member)
        ],
        "care_matches": [
            {
                "post": m.post.title,
                "you": "gave" if m.giver_id == member.pk else "received",
                "status": m.status,
                "thanks": m.thanks,
                "done": _iso(m.done_at),
            }
            for m in CareMatch.objects.filter(Q(giver=member) | Q(receiver=member)).select_related(
                "post"
            )
        ],
        "blocks_and_mutes": [
            {"member": b.blocked.display_name, "kind": b.kind, "since": _iso(b.created_at)}
            for b in MemberBlock.objects.filter(blocker=member)
            .select_related("blocked")
            .defer("blocked__password")
        ],
        "journal": [
            {
                "written": _iso(r.created_at),
                "prompt": r.prompt,
                "text": r.body,
                "shared_with_facilitator": r.shared_with_facilitator,
                "read_by_facilitator": _iso(r.read_at),
            }
            for r in Reflection.objects.filter(member=member)
        ],
        "partner_invitations_sent": [
            {
                "group": _group_name(i.cohort),
                "to": i.email,
                "status": i.status,
                "sent": _iso(i.created_at),
            }
            for i in PartnerInvite.objects.filter(inviter=member).select_related("cohort__program")
        ],
        "messages_to_the_practice": [
            {
                "name": q.name,
                "state": q.state,
                "interest": q.interest,
                "message": q.message,
                "status": q.status,
                "sent": _iso(q.created_at),
            }
            for q in Inquiry.objects.filter(_own_addresses(member)).order_by("created_at")
        ],
        "api_tokens": [
            {
                "name": t.name,
                "scopes": t.scopes,
                "created": _iso(t.created_at),
                "expires": _iso(t.expires_at),
                "revoked": _iso(t.revoked_at),
            }
            for t in PersonalAccessToken.objects.filter(user=member)
        ],
        "care_reports_made": [
            {
                "post": r.post.title,
                "reason": r.reason,
                "sent": _iso(r.created_at),
                "resolved": _iso(r.resolved_at),
            }
            for r in CareReport.objects.filter(reporter=member).select_related("post")
        ],
        "live_room_stays": [
            {
                "meeting": _iso(p.meeting.starts_at),
                "group": _group_name(p.meeting.cohort),
                "joined": _iso(p.joined_at),
                "left": _iso(p.left_at),
            }
            for p in RoomPresence.objects.filter(user=member).select_related(
                "meeting__cohort__program"
            )
        ],
        # That a facilitator removed them from a meeting; the reason they gave is theirs, given
        # through the practice as the other things staff wrote are.
        "removed_from_meetings": [
            {
                "meeting": _iso(r.meeting.starts_at),
                "group": _group_name(r.meeting.cohort),
                "at": _iso(r.at),
            }
            for r in RoomRemoval.objects.filter(user=member).select_related(
                "meeting__cohort__program"
            )
        ],
        "emails_sent": [
            *(
                {
                    "kind": f"meeting reminder ({r.get_kind_display()})",
                    "meeting": _iso(r.meeting.starts_at),
                    "sent": _iso(r.sent_at),
                }
                for r in ReminderSent.objects.filter(member=member).select_related("meeting")
            ),
            *(
                {"kind": "care nudge", "week": n.week}
                for n in NudgeSent.objects.filter(member=member).order_by("week")
            ),
        ],
        "sign_ins": [
            {
                "ip_address": s.ip,
                "browser": s.user_agent,
                "started": _iso(s.created_at),
                "last_seen": _iso(s.last_seen_at),
            }
            for s in UserSession.objects.filter(user=member).order_by("created_at")
        ],
        "second_factor": [
            {
                "kind": a.get_type_display(),
                "added": _iso(a.created_at),
                "last_used": _iso(a.last_used_at),
            }
            for a in Authenticator.objects.filter(user=member).order_by("created_at")
        ],
        "calendar_feeds": [
            {
                "created": _iso(f.created_at),
                "last_used": _iso(f.last_used_at),
                "revoked": _iso(f.revoked_at),
            }
            for f in CalendarFeed.objects.filter(member=member).order_by("created_at")
        ],
    }
    for exporter in _extra_exporters():
        data.update(exporter(member))
    return data


#: Every link from a record to an account, or to a record listed here (which reaches the member
#: without naming them), and the download's section that holds what it says about the member. A
#: new link fails a test (tests/accounts/test_data_rights.py) until it is placed here or in
#: ``NOT_IN_DOWNLOAD``.
IN_DOWNLOAD: dict[str, str] = {
    "accounts.PersonalAccessToken.user": "api_tokens",
    "account.EmailAddress.user": "email_addresses",
    "mfa.Authenticator.user": "second_factor",
    "usersessions.UserSession.user": "sign_ins",
    "enrollment.Enrollment.member": "groups",
    "enrollment.ConsentSignature.member": "agreements_signed",
    "enrollment.PartnerInvite.inviter": "partner_invitations_sent",
    "meetings.Attendance.member": "attendance",
    "meetings.LocationAttestation.member": "locations_confirmed",
    "meetings.ReminderSent.member": "emails_sent",
    "meetings.CalendarFeed.member": "calendar_feeds",
    "live.RoomPresence.user": "live_room_stays",
    "live.RoomRemoval.user": "removed_from_meetings",
    "measures.Assessment.member": "questionnaires",
    "measures.RiskAlert.member": "follow_up_alerts",
    "measures.RiskAlert.assessment": "follow_up_alerts",
    "care.CarePost.author": "care_posts",
    "care.CareMatch.responder": "care_matches",
    "care.CareMatch.giver": "care_matches",
    "care.CareMatch.receiver": "care_matches",
    "care.CareMatch.post": "care_matches",
    "care.CareReport.reporter": "care_reports_made",
    "care.MemberBlock.blocker": "blocks_and_mutes",
    "care.NudgeSent.member": "emails_sent",
    "care.Reflection.member": "journal",
}

#: Links whose records are not in the download, and why (docs/privacy.md says the same).
NOT_IN_DOWNLOAD: dict[str, str] = {
    "measures.ScoreSummary.member": "worked out from the questionnaires, which are in it",
    "measures.ScoreSummary.baseline_assessment": "worked out from the questionnaires",
    "measures.ScoreSummary.last_assessment": "worked out from the questionnaires",
    "measures.Assessment.shared_from": "a copy of the member's own answers, each of them in it",
    "account.EmailConfirmation.email_address": "a confirmation link's secret; the address is in it",
    "care.CareReport.post": "another member's report of the member's post, and why: theirs",
    "clinic.IndividualNote.member": "the clinical record, given by the practice on request",
    "care.MemberBlock.blocked": "another member's private choice",
    "care.NudgeSent.suggested": "another member's e-mail",
    "enrollment.PartnerInvite.accepted_by": "the inviter's record; the group joined is in it",
    "audit.AuditEvent.subject": "the practice's audit trail",
    # Records of work done as staff, or of what another person did.
    "audit.AuditEvent.actor": "staff work",
    "admin.LogEntry.user": "staff work",
    "practice.Clinician.user": "staff work",
    "programs.Cohort.lead": "staff work",
    "programs.Cohort.co_facilitator": "staff work",
    "meetings.Attendance.recorded_by": "staff work",
    "live.RoomRemoval.removed_by": "staff work",
    "enrollment.Enrollment.readmitted_by": "staff work",
    "measures.RiskAlert.assignee": "staff work",
    "measures.RiskAlert.acknowledged_by": "staff work",
    "care.CohortWeek.updated_by": "staff work",
    "care.CareBoardSetting.changed_by": "staff work",
    "care.CarePost.hidden_by": "staff work",
    "care.CareReport.resolved_by": "staff work",
    "care.Reflection.read_by": "staff work",
    "care.CareMatch.cancelled_by": "who called a plan off; the plan's status is in it",
    "clinic.GroupNote.author": "staff work",
    "clinic.GroupNote.signed_by": "staff work",
    "clinic.IndividualNote.author": "staff work",
    "clinic.IndividualNote.signed_by": "staff work",
    "inquiries.Inquiry.handled_by": "staff work",
}


def _extra_exporters() -> list[Any]:
    """Apps with an ``exports.export(member) -> dict`` add their records (e.g. questionnaires)."""
    from importlib import import_module

    found = []
    for app in ("measures", "clinic"):
        try:
            module = import_module(f"circlecare.{app}.exports")
        except ModuleNotFoundError as exc:
            if exc.name != f"circlecare.{app}.exports":
                raise
            continue
        found.append(module.export)
    return found


def _closed_address(member: User) -> str:
    """The address a deleted account is left with: unique, and never one that can receive mail."""
    return f"deleted-{member.pk}@deleted.invalid"


def _forget_in_admin_history(member: User, inquiries: list[int]) -> None:
    """The admin's history names each object changed there as it read then ("Sam in 12
    (confirmed)"): those naming the member now read as the objects do once the account is closed.
    What was done, by whom and when stays. (An inquiry is named by its number, not the name
    given, but is renamed with the rest all the same.)"""
    from django.contrib.admin.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    from circlecare.enrollment.models import Enrollment
    from circlecare.inquiries.models import Inquiry
    from circlecare.practice.models import Clinician

    named: list[Any] = [
        member,
        *Enrollment.objects.filter(member=member).select_related("member"),
        *Inquiry.objects.filter(pk__in=inquiries),
        *Clinician.objects.filter(user=member).select_related("user"),
    ]
    for obj in named:
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(type(obj)), object_id=str(obj.pk)
        ).update(object_repr=str(obj)[:200])


class StillLeading(DomainError):
    code = "still_leading"
    default_message = "You lead groups that are still running."
    status = 409


def groups_still_led(member: User) -> list[str]:
    """The names of the groups ``member`` leads or co-leads that have not finished."""
    from circlecare.programs.models import Cohort, CohortStatus

    led = (
        Cohort.objects.filter(Q(lead=member) | Q(co_facilitator=member))
        .exclude(status__in=[CohortStatus.FINISHED, CohortStatus.CANCELLED])
        .select_related("program")
        .only("name", "program__title")
        .order_by("first_meeting_date", "pk")
    )
    return [c.title for c in led]


def delete_account(*, member: User) -> None:
    """Close the account: leave every group, forget identity and social content, keep clinical records.

    Refused (``StillLeading``, nothing changed) while the member leads or co-leads a group that has
    not finished: its members' alerts, notes and meetings need a clinician or facilitator who can
    still act, so a coordinator hands the group to someone else first."""
    led = groups_still_led(member)
    if led:
        raise StillLeading(
            "You lead groups that are still running: "
            + "; ".join(led)
            + ". Please ask the practice's coordinators to hand them to someone else first, so "
            "their members are not left without you. Then you can delete your account here."
        )
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from django.contrib.sessions.models import Session

    from circlecare.care.models import (
        CareMatch,
        CarePost,
        CareReport,
        MatchStatus,
        MemberBlock,
        PostStatus,
        Reflection,
    )
    from circlecare.enrollment.models import (
        LIVE,
        ConsentSignature,
        Enrollment,
        PartnerInvite,
        PartnerInviteEnd,
        PartnerInviteStatus,
    )
    from circlecare.enrollment.services import withdraw
    from circlecare.errors import InvalidTransition
    from circlecare.inquiries.models import Inquiry
    from circlecare.meetings.models import CalendarFeed

    for enrollment in Enrollment.objects.filter(member=member, status__in=[s.value for s in LIVE]):
        enrollment.refresh_from_db()
        if enrollment.status in LIVE:
            # Left a moment ago when the button was pressed twice and the other press got
            # there first: the place is given up either way.
            with suppress(InvalidTransition):
                withdraw(enrollment=enrollment, actor=member)
    with transaction.atomic(durable=True):
        locked = User.objects.select_for_update().get(pk=member.pk)
        if locked.email == _closed_address(locked):
            # Closed by that other press while this one waited for the lock: nothing is left to
            # forget, and the deletion is on record once.
            return
        CarePost.objects.filter(author=locked, matches__isnull=True, reports__isnull=True).delete()
        # A post someone took up stays as the other person's record of it, and one someone
        # reported stays so that the facilitators keep the report and its reason (a worry about
        # the author may matter most now): without its words, and closed, since nobody should
        # answer a post whose author has gone.
        CarePost.objects.filter(author=locked).update(
            title="(removed)", details="", where="", when_text="", status=PostStatus.CLOSED
        )
        # Plans not yet carried out are called off; the words of thanks they wrote go.
        CareMatch.objects.filter(
            Q(giver=locked) | Q(receiver=locked) | Q(responder=locked), status=MatchStatus.AGREED
        ).update(status=MatchStatus.CANCELLED, cancelled_at=timezone.now())
        CareMatch.objects.filter(receiver=locked, thanked_at__isnull=False).update(
            thanks="", thanked_at=None
        )
        # A goodbye left for a group, and why they reported a post, are their words too.
        Enrollment.objects.filter(member=locked).exclude(goodbye="").update(goodbye="")
        CareReport.objects.filter(reporter=locked).update(reason="(removed)")
        # The agreements signed stay on record, without the name typed to sign them.
        ConsentSignature.objects.filter(member=locked).update(signed_name="")
        PartnerInvite.objects.filter(inviter=locked, status=PartnerInviteStatus.PENDING).update(
            status=PartnerInviteStatus.CANCELLED, end_reason=PartnerInviteEnd.WITHDRAWN
        )
        # The address they typed is someone else's, given for an invitation that is over.
        PartnerInvite.objects.filter(inviter=locked).update(email=_closed_address(locked))
        # One they accepted was sent to their own address, which goes with the account.
        PartnerInvite.objects.filter(accepted_by=locked).update(email=_closed_address(locked))
        # What they wrote to the practice before they joined, under the same address.
        inquiries = list(
            Inquiry.objects.filter(_own_addresses(locked)).values_list("pk", flat=True)
        )
        Inquiry.objects.filter(pk__in=inquiries).update(
            name="(removed)",
            email=_closed_address(locked),
            email_digest=lookup_digest(_closed_address(locked)),
            message="",
        )
        MemberBlock.objects.filter(Q(blocker=locked) | Q(blocked=locked)).delete()
        Reflection.objects.filter(member=locked, shared_with_facilitator=False).delete()
        EmailAddress.objects.filter(user=locked).delete()
        Authenticator.objects.filter(user=locked).delete()
        PersonalAccessToken.objects.filter(user=locked).delete()
        CalendarFeed.objects.filter(member=locked).delete()
        locked.email = _closed_address(locked)
        locked.display_name = "Former member"
        locked.home_state = ""
        locked.password = make_password(None)
        locked.is_active = False
        locked.email_reminders = False
        locked.care_nudges = False
        locked.care_replies = False
        locked.save()
        _forget_in_admin_history(locked, inquiries)
        record(actor=locked, action=AuditAction.ACCOUNT_DELETED, target=locked, subject=locked)
        # Every sign-in ends, and its record (IP address, browser, when) goes with it.
        end_other_sessions(user=locked, keep_session_key=None)
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
            if session.get_decoded().get("_auth_user_id") == str(locked.pk):
                session.delete()
