"""A member's rights over their data: a full copy of it, and deleting their account.

The copy gathers every app's records about the member. Deleting an account removes what the member
shared socially (care posts, private journal entries, sign-in methods) and the identifying details on
the account, and keeps what the practice must retain by law for clinical records (questionnaire answers,
notes, alerts, attendance, agreements signed, the audit trail), attached to a de-identified account.
"""

from __future__ import annotations

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
from circlecare.errors import DomainError

RETAINED_NOTICE = (
    "Your questionnaire answers, attendance, the agreements you signed and any notes your clinician "
    "wrote are clinical records. The practice must keep them for the period the law requires, so they "
    "are kept — no longer linked to your name or e-mail — and then destroyed."
)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export_member_data(member: User) -> dict[str, Any]:
    """Everything circlecare holds about ``member``, in plain JSON-ready structures."""
    from circlecare.care.models import CareMatch, CarePost, MemberBlock, Reflection
    from circlecare.enrollment.models import ConsentSignature, Enrollment, PartnerInvite
    from circlecare.inquiries.models import Inquiry
    from circlecare.meetings.models import Attendance, LocationAttestation

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
        "groups": [
            {
                "group": str(e.cohort.name or e.cohort.program.title),
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
                "group": a.meeting.cohort.name,
                "status": a.status,
            }
            for a in Attendance.objects.filter(member=member).select_related("meeting__cohort")
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
                "group": str(i.cohort.name or i.cohort.program.title),
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
            for q in Inquiry.objects.filter(email__iexact=member.email).order_by("created_at")
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
    }
    for extra in _extra_exporters():
        data.update(extra(member))
    return data


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
    from circlecare.inquiries.models import Inquiry
    from circlecare.meetings.models import CalendarFeed

    for enrollment in Enrollment.objects.filter(member=member, status__in=[s.value for s in LIVE]):
        enrollment.refresh_from_db()
        if enrollment.status in LIVE:
            withdraw(enrollment=enrollment, actor=member)
    with transaction.atomic(durable=True):
        locked = User.objects.select_for_update().get(pk=member.pk)
        CarePost.objects.filter(author=locked, matches__isnull=True).delete()
        # A post someone took up stays as the other person's record of it, without its words,
        # and closed: nobody should answer a post whose author has gone.
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
        # The agreements signed stay on record, without the name typed to sign them.
        ConsentSignature.objects.filter(member=locked).update(signed_name="")
        PartnerInvite.objects.filter(inviter=locked, status=PartnerInviteStatus.PENDING).update(
            status=PartnerInviteStatus.CANCELLED, end_reason=PartnerInviteEnd.WITHDRAWN
        )
        # What they wrote to the practice before they joined, under the same address.
        Inquiry.objects.filter(email__iexact=locked.email).update(
            name="(removed)", email=f"deleted-{locked.pk}@deleted.invalid", message=""
        )
        MemberBlock.objects.filter(Q(blocker=locked) | Q(blocked=locked)).delete()
        Reflection.objects.filter(member=locked, shared_with_facilitator=False).delete()
        EmailAddress.objects.filter(user=locked).delete()
        Authenticator.objects.filter(user=locked).delete()
        PersonalAccessToken.objects.filter(user=locked).delete()
        CalendarFeed.objects.filter(member=locked).delete()
        locked.email = f"deleted-{locked.pk}@deleted.invalid"
        locked.display_name = "Former member"
        locked.home_state = ""
        locked.password = make_password(None)
        locked.is_active = False
        locked.email_reminders = False
        locked.care_nudges = False
        locked.care_replies = False
        locked.save()
        record(actor=locked, action=AuditAction.ACCOUNT_DELETED, target=locked, subject=locked)
        # Every sign-in ends, and its record (IP address, browser, when) goes with it.
        end_other_sessions(user=locked, keep_session_key=None)
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
            if session.get_decoded().get("_auth_user_id") == str(locked.pk):
                session.delete()
