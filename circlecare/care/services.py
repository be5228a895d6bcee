"""Every change of state in relational care: one function per use case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from circlecare.accounts.models import User
from circlecare.audit.models import AuditAction
from circlecare.audit.services import record
from circlecare.care import tasks
from circlecare.care.errors import CannotRespond, LeadersDoNotPost, NotOnBoard
from circlecare.care.models import (
    DETAILS_MAX,
    REASON_MAX,
    RESOLUTION_NOTE_MAX,
    THANKS_MAX,
    TITLE_MAX,
    BlockKind,
    CallOff,
    CareBoardSetting,
    CareMatch,
    CarePost,
    CareReport,
    CohortWeek,
    MatchStatus,
    MemberBlock,
    PostKind,
    PostStatus,
    Reflection,
)
from circlecare.care.queries import (
    blocked_between,
    can_see_board,
    hidden_author_ids,
    is_member,
)
from circlecare.errors import InvalidTransition, NotFound, RateLimited
from circlecare.programs.models import Cohort, ProgramKind

POSTS_PER_DAY = getattr(settings, "CARE_POSTS_PER_DAY", 10)
#: How long an identical post by the same member counts as the same submission sent twice.
RESUBMIT_WINDOW = timedelta(minutes=10)


# --- the weekly programme --------------------------------------------------------------------


@dataclass(frozen=True)
class WeekChanges:
    topic: str = ""
    skill: str = ""
    practice: str = ""
    reflection_prompt: str = ""

    @property
    def empty(self) -> bool:
        return not (self.topic or self.skill or self.practice or self.reflection_prompt)


def adapt_week(
    *, cohort: Cohort, number: int, changes: WeekChanges, actor: User
) -> CohortWeek | None:
    """Adapt one week for a cohort. Empty changes go back to the program's own week."""
    if not cohort.is_led_by(actor):
        raise NotFound()
    if not 1 <= number <= cohort.program.weeks:
        raise NotFound()
    with transaction.atomic(durable=True):
        if changes.empty:
            CohortWeek.objects.filter(cohort=cohort, number=number).delete()
            return None
        week, _ = CohortWeek.objects.update_or_create(
            cohort=cohort,
            number=number,
            defaults={
                "topic": changes.topic,
                "skill": changes.skill,
                "practice": changes.practice,
                "reflection_prompt": changes.reflection_prompt,
                "updated_by": actor,
            },
        )
    return week


def set_board_enabled(*, cohort: Cohort, enabled: bool, actor: User) -> CareBoardSetting:
    """The lead turns the care board on or off for a group that is not a care circle."""
    if cohort.lead_id != actor.pk:
        raise NotFound()
    if cohort.program.kind == ProgramKind.CARE_CIRCLE:
        raise InvalidTransition("Care circles always have a care board.")
    with transaction.atomic(durable=True):
        setting, _ = CareBoardSetting.objects.update_or_create(
            cohort=cohort, defaults={"enabled": enabled, "changed_by": actor}
        )
    return setting


# --- the care board ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PostDraft:
    kind: str
    support: str
    title: str
    details: str = ""
    when_text: str = ""
    when_date: date | None = None
    where: str = ""


def create_post(
    *, cohort: Cohort, draft: PostDraft, actor: User, now: datetime | None = None
) -> CarePost:
    """A member posts an offer or a request, at most ``POSTS_PER_DAY`` in any 24 hours."""
    # The columns are encrypted text, which the database does not hold to a length: the limits
    # the form shows are kept here for every caller.
    if not draft.title.strip():
        raise InvalidTransition("Please say in a few words what you're offering or asking.")
    if len(draft.title) > TITLE_MAX:
        raise InvalidTransition(f"Please keep the title to {TITLE_MAX} characters or fewer.")
    if len(draft.details) > DETAILS_MAX:
        raise InvalidTransition(f"Please keep the details to {DETAILS_MAX} characters or fewer.")
    if not is_member(actor, cohort) or not can_see_board(actor, cohort):
        if cohort.is_led_by(actor) and can_see_board(actor, cohort):
            raise LeadersDoNotPost()
        raise NotOnBoard()
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        # Serialise one member's posting so two quick submissions cannot both slip under the limit.
        # "No key": a change of seat that holds the group's row records itself against the
        # member (a key share of their row) and must not wait on this, which waits on the group.
        User.objects.select_for_update(no_key=True).filter(pk=actor.pk).first()
        # A change of seat in the group still under way finishes first; then the member is
        # asked again, so nobody gone from the group is left with an open post in it.
        Cohort.objects.select_for_update(no_key=True).filter(pk=cohort.pk).first()
        if not is_member(actor, cohort):
            raise NotOnBoard()
        # The same post sent again (a second press on a slow connection, a resubmitted form)
        # is the post already made, not a second copy on the board.
        fields = {
            "cohort": cohort,
            "author": actor,
            "kind": draft.kind,
            "support": draft.support,
            "when_text": draft.when_text,
            "when_date": draft.when_date,
            "where": draft.where,
        }
        # A post its author has since closed is not on the board any more: posting it again
        # (after closing it by mistake, say) is a new post. The title and details are
        # encrypted, so they are compared here rather than in the query.
        recent_same = CarePost.objects.filter(
            **fields, status=PostStatus.OPEN, created_at__gte=now - RESUBMIT_WINDOW
        ).order_by("-created_at", "-pk")
        same = next(
            (p for p in recent_same if (p.title, p.details) == (draft.title, draft.details)),
            None,
        )
        if same is not None:
            return same
        recent = CarePost.objects.filter(author=actor, created_at__gte=now - timedelta(days=1))
        if recent.count() >= POSTS_PER_DAY:
            raise RateLimited(
                f"You've shared {POSTS_PER_DAY} posts in the last day, which is the most for one "
                "day. Your posts are still on the board; you can add more tomorrow."
            )
        post = CarePost.objects.create(**fields, title=draft.title, details=draft.details)
    return post


def close_post(*, post: CarePost, actor: User) -> CarePost:
    if post.author_id != actor.pk:
        raise NotFound()
    with transaction.atomic(durable=True):
        post = CarePost.objects.select_for_update().get(pk=post.pk)
        if post.status == PostStatus.CLOSED:
            raise InvalidTransition("This post is already closed.")
        post.status = PostStatus.CLOSED
        post.save(update_fields=["status"])
    return post


def _lock_people(user_ids: list[int]) -> None:
    assert connection.in_atomic_block
    list(
        User.objects.select_for_update(no_key=True)
        .filter(pk__in=user_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def respond(*, post: CarePost, actor: User) -> CareMatch:
    """Take up a post: a request is answered with help, an offer is accepted. Makes a match.

    Locks the two people first (as a block between them does), then the post together with its
    group's row (which every change of seat locks first): a block or a member leaving either
    comes first and the response is refused, or waits for the match and calls it off. The people
    are locked "no key" so that saving a row that points at them (as leaving does) need not wait.
    """
    pair = sorted({post.author_id, actor.pk})
    with transaction.atomic(durable=True):
        _lock_people(pair)
        post = (
            CarePost.objects.select_for_update().select_related("cohort__program").get(pk=post.pk)
        )
        if not is_member(actor, post.cohort):
            raise CannotRespond("Only members of this group can respond to its posts.")
        if post.author_id == actor.pk:
            raise CannotRespond("This is your own post.")
        if post.is_hidden or post.status != PostStatus.OPEN:
            raise CannotRespond("This post is no longer open.")
        if not is_member(post.author, post.cohort):
            raise CannotRespond("Its author has left the group, so this post is no longer open.")
        if post.author_id in hidden_author_ids(actor) or blocked_between(post.author_id, actor.pk):
            raise CannotRespond()
        if (
            CareMatch.objects.filter(post=post, responder=actor)
            .exclude(status=MatchStatus.CANCELLED)
            .exists()
        ):
            raise CannotRespond("You've already responded to this post.")
        if post.kind == PostKind.REQUEST:
            giver_id, receiver_id = actor.pk, post.author_id
        else:
            giver_id, receiver_id = post.author_id, actor.pk
        try:
            with transaction.atomic():
                match = CareMatch.objects.create(
                    post=post,
                    cohort=post.cohort,
                    responder=actor,
                    giver_id=giver_id,
                    receiver_id=receiver_id,
                )
        except IntegrityError as exc:
            raise CannotRespond("You've already responded to this post.") from exc
        match_id = match.pk
        transaction.on_commit(lambda: tasks.tell_author_of_response.enqueue(match_id))
    return match


class _CallOffs:
    """The matches one transaction calls off, told about together once it commits: a block, a
    couple leaving or a group ending may call off several, and each person hears once."""

    def __init__(self) -> None:
        self.match_ids: list[int] = []

    def __call__(self) -> None:
        tasks.tell_of_call_off.enqueue(sorted(self.match_ids))


def _tell_after_commit(match_ids: list[int]) -> None:
    assert connection.in_atomic_block
    if not match_ids:
        return
    # Join the batch this transaction already has waiting, if any. A batch registered inside a
    # savepoint that was rolled back is no longer waiting, so a new one starts.
    for entry in connection.run_on_commit:
        waiting = entry[1]
        if isinstance(waiting, _CallOffs):
            waiting.match_ids.extend(match_ids)
            return
    batch = _CallOffs()
    batch.match_ids.extend(match_ids)
    transaction.on_commit(batch)


def _locked_match(match: CareMatch, actor: User) -> CareMatch:
    locked = CareMatch.objects.select_for_update().get(pk=match.pk)
    if not locked.involves(actor):
        raise NotFound()
    return locked


def mark_done(*, match: CareMatch, actor: User, now: datetime | None = None) -> CareMatch:
    """One of the two people says it happened; when both have, the match is done."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        match = _locked_match(match, actor)
        if match.status == MatchStatus.CANCELLED:
            raise InvalidTransition("This was called off, so it can't be marked as done.")
        if match.done_by(actor):
            raise InvalidTransition("You've already marked this as done.")
        if actor.pk == match.giver_id:
            match.giver_done_at = now
        else:
            match.receiver_done_at = now
        if match.giver_done_at and match.receiver_done_at:
            match.status = MatchStatus.DONE
            match.done_at = now
        match.save(update_fields=["giver_done_at", "receiver_done_at", "status", "done_at"])
    return match


def cancel_match(*, match: CareMatch, actor: User, now: datetime | None = None) -> CareMatch:
    with transaction.atomic(durable=True):
        match = _locked_match(match, actor)
        if match.status != MatchStatus.AGREED:
            raise InvalidTransition(
                "This is already done, so it can't be called off."
                if match.status == MatchStatus.DONE
                else "This was already called off."
            )
        match.status = MatchStatus.CANCELLED
        match.cancelled_at = now or timezone.now()
        match.cancel_reason = CallOff.BY_ONE_OF_THEM
        match.cancelled_by = actor
        match.save(update_fields=["status", "cancelled_at", "cancel_reason", "cancelled_by"])
        _tell_after_commit([match.pk])
    return match


def send_thanks(
    *, match: CareMatch, text: str, actor: User, now: datetime | None = None
) -> CareMatch:
    """The one who was helped sends a short thank-you, once, after both marked it done."""
    text = text.strip()
    with transaction.atomic(durable=True):
        match = _locked_match(match, actor)
        if actor.pk != match.receiver_id:
            raise InvalidTransition("Thanks come from the person who was helped.")
        if match.status != MatchStatus.DONE:
            raise InvalidTransition("You can send thanks once you've both marked this as done.")
        if match.thanked_at is not None:
            raise InvalidTransition("You've already sent thanks for this.")
        if blocked_between(match.giver_id, actor.pk):
            # A block stops the two reaching each other here as on the board; the one blocked
            # is refused as plainly as when they respond to a post, and not told why.
            raise InvalidTransition(
                "You've blocked them, so thanks can't be sent to them while the block stands."
                if MemberBlock.objects.filter(
                    blocker=actor, blocked_id=match.giver_id, kind=BlockKind.BLOCK
                ).exists()
                else "Thanks can't be sent for this."
            )
        if not text:
            raise InvalidTransition("Please write a few words of thanks.")
        if len(text) > THANKS_MAX:
            raise InvalidTransition(f"Please keep your thanks to {THANKS_MAX} characters or fewer.")
        match.thanks = text
        match.thanked_at = now or timezone.now()
        match.save(update_fields=["thanks", "thanked_at"])
        match_id = match.pk
        transaction.on_commit(lambda: tasks.tell_giver_of_thanks.enqueue(match_id))
    return match


def _within_reason_max(reason: str) -> None:
    """The forms stop a longer reason first; this keeps any other caller from a database error."""
    if len(reason) > REASON_MAX:
        raise InvalidTransition(f"Please keep the reason to {REASON_MAX} characters or fewer.")


def hide_post(*, post: CarePost, reason: str, actor: User) -> CarePost:
    """A facilitator hides a post; the reason is kept with it."""
    reason = reason.strip()
    if not post.cohort.is_led_by(actor):
        raise NotFound()
    if not reason:
        raise InvalidTransition("Please give a reason for hiding this post.")
    _within_reason_max(reason)
    with transaction.atomic(durable=True):
        post = CarePost.objects.select_for_update().get(pk=post.pk)
        if post.is_hidden:
            raise InvalidTransition("This post is already hidden.")
        post.hidden_at = timezone.now()
        post.hidden_by = actor
        post.hidden_reason = reason
        post.save(update_fields=["hidden_at", "hidden_by", "hidden_reason"])
        # Neither of the two could open the post any more: what they agreed on it is called
        # off (showing the post again does not bring it back), and both are told why.
        _call_off_agreed(
            Q(post=post), now=post.hidden_at, reason=CallOff.POST_HIDDEN, by_id=actor.pk
        )
        record(
            actor=actor,
            action=AuditAction.CARE_POST_HIDDEN,
            target=post,
            subject=post.author,
            data={"cohort": post.cohort_id},
        )
    return post


def unhide_post(*, post: CarePost, actor: User) -> CarePost:
    if not post.cohort.is_led_by(actor):
        raise NotFound()
    with transaction.atomic(durable=True):
        post = CarePost.objects.select_for_update().get(pk=post.pk)
        if not post.is_hidden:
            raise InvalidTransition("This post isn't hidden.")
        post.hidden_at = None
        post.hidden_by = None
        post.hidden_reason = ""
        post.save(update_fields=["hidden_at", "hidden_by", "hidden_reason"])
        record(
            actor=actor,
            action=AuditAction.CARE_POST_SHOWN,
            target=post,
            subject=post.author,
            data={"cohort": post.cohort_id},
        )
    return post


OWN_POST = "You can't report your own post; you can close it instead."
ALREADY_REPORTED = "You've already reported this post. Thank you."


def why_not_report(*, post: CarePost, actor: User) -> str:
    """Why ``actor`` could not report ``post`` whatever reason they gave; empty if they can."""
    if post.author_id == actor.pk:
        return OWN_POST
    if CareReport.objects.filter(post=post, reporter=actor).exists():
        return ALREADY_REPORTED
    return ""


def report_post(*, post: CarePost, reason: str, actor: User) -> CareReport:
    reason = reason.strip()
    if not is_member(actor, post.cohort):
        raise NotFound()
    if post.author_id == actor.pk:
        raise InvalidTransition(OWN_POST)
    if not reason:
        raise InvalidTransition("Please say briefly what worries you about this post.")
    _within_reason_max(reason)
    try:
        with transaction.atomic(durable=True):
            report = CareReport.objects.create(post=post, reporter=actor, reason=reason)
            # A report may be about someone's safety: the facilitators hear of it at once
            # rather than the next time they open the board.
            transaction.on_commit(lambda: tasks.tell_facilitators_of_report.enqueue(report.pk))
            return report
    except IntegrityError as exc:
        raise InvalidTransition(ALREADY_REPORTED) from exc


def resolve_report(
    *, report: CareReport, note: str, actor: User, now: datetime | None = None
) -> CareReport:
    """A facilitator of the post's group marks a report resolved, with an optional short note."""
    note = note.strip()
    if not report.post.cohort.is_led_by(actor):
        raise NotFound()
    if len(note) > RESOLUTION_NOTE_MAX:
        raise InvalidTransition(
            f"Please keep the note to {RESOLUTION_NOTE_MAX} characters or fewer."
        )
    with transaction.atomic(durable=True):
        report = CareReport.objects.select_for_update().get(pk=report.pk)
        if report.resolved_at is not None:
            raise InvalidTransition("This report is already resolved.")
        report.resolved_at = now or timezone.now()
        report.resolved_by = actor
        report.resolution_note = note
        report.save(update_fields=["resolved_at", "resolved_by", "resolution_note"])
        record(
            actor=actor,
            action=AuditAction.CARE_REPORT_RESOLVED,
            target=report,
            data={"cohort": report.post.cohort_id, "post": report.post_id},
        )
    return report


def set_block(*, blocked: User, kind: str, cohort: Cohort, actor: User) -> MemberBlock:
    """Block or mute someone from a board you share.

    A block also calls off whatever the two had agreed and not yet done, in every group they
    share, exactly as if the blocker had called each one off: the blocked person sees an ordinary
    call-off and is not told why. A mute only hides the other person's posts from the one who
    muted; they may still respond to each other, so what they agreed stands.
    """
    if not is_member(actor, cohort) or not (
        is_member(blocked, cohort) or cohort.is_led_by(blocked)
    ):
        raise NotFound()
    if kind not in BlockKind.values:
        raise InvalidTransition("Choose whether to mute or block.")
    if blocked.pk == actor.pk:
        raise InvalidTransition("You can't block or mute yourself.")
    if cohort.is_led_by(blocked):
        raise InvalidTransition(
            f"{cohort.program.leader_word.capitalize()}s can't be blocked. If something worries "
            "you, please contact the practice."
        )
    with transaction.atomic(durable=True):
        # The same locks as respond(), so a response racing this block is called off or refused.
        _lock_people(sorted({actor.pk, blocked.pk}))
        block, _ = MemberBlock.objects.update_or_create(
            blocker=actor, blocked=blocked, defaults={"kind": kind}
        )
        if kind == BlockKind.BLOCK:
            # Told exactly as if the blocker had called each one off.
            _call_off_agreed(
                Q(giver_id=actor.pk, receiver_id=blocked.pk)
                | Q(giver_id=blocked.pk, receiver_id=actor.pk),
                now=timezone.now(),
                reason=CallOff.BY_ONE_OF_THEM,
                by_id=actor.pk,
            )
    return block


def _call_off_agreed(which: Q, *, now: datetime, reason: str, by_id: int | None) -> int:
    """Call off the agreed matches ``which`` picks, locked first so that a "mark as done" at the
    same moment is not overwritten, and tell the other people after commit. How many."""
    agreed = list(
        CareMatch.objects.filter(which, status=MatchStatus.AGREED)
        .select_for_update()
        .values_list("pk", flat=True)
    )
    called_off = CareMatch.objects.filter(pk__in=agreed).update(
        status=MatchStatus.CANCELLED, cancelled_at=now, cancel_reason=reason, cancelled_by_id=by_id
    )
    _tell_after_commit(agreed)
    return called_off


def member_left(*, member_id: int, cohort_id: int, now: datetime, group_ended: bool) -> int:
    """A member's seat in a group ended: what they agreed there and had not yet done is called
    off, and their open posts there close, so nobody waits on someone who is gone.

    Called by the enrollment service that ends the seat, inside its transaction. The other person
    sees only that it was called off because the member left (or because the group ended), never
    why they left. Returns how many matches were called off.
    """
    assert connection.in_atomic_block, "called inside the transaction that ends the seat"
    called_off = _call_off_agreed(
        (Q(giver_id=member_id) | Q(receiver_id=member_id)) & Q(cohort_id=cohort_id),
        now=now,
        reason=CallOff.GROUP_ENDED if group_ended else CallOff.LEFT_GROUP,
        by_id=None if group_ended else member_id,
    )
    CarePost.objects.filter(
        author_id=member_id, cohort_id=cohort_id, status=PostStatus.OPEN
    ).update(status=PostStatus.CLOSED)
    return called_off


def remove_block(*, blocked_id: int, actor: User) -> None:
    with transaction.atomic(durable=True):
        # The person by their own key, not the block's column: a look-up by primary key finds
        # nobody for an id no column can hold (a forged address), where comparing the foreign
        # key with it overflows on SQLite.
        deleted, _ = MemberBlock.objects.filter(
            blocker=actor, blocked__in=User.objects.filter(pk=blocked_id)
        ).delete()
    if not deleted:
        raise NotFound()


# --- the reflection journal -------------------------------------------------------------------


def _share_target(member: User, cohort: Cohort | None, share: bool) -> None:
    if cohort is not None and not (is_member(member, cohort)):
        raise NotFound()
    if share and cohort is None:
        raise InvalidTransition(
            "To share an entry, choose the group whose clinician or facilitator should read it."
        )


def write_reflection(
    *,
    body: str,
    actor: User,
    cohort: Cohort | None = None,
    week_number: int | None = None,
    prompt: str = "",
    share: bool = False,
) -> Reflection:
    body = body.strip()
    if not body:
        raise InvalidTransition("Please write something before saving.")
    _share_target(actor, cohort, share)
    fields = {
        "member": actor,
        "cohort": cohort,
        "week_number": week_number if cohort is not None else None,
        "prompt": prompt if cohort is not None else "",
        "shared_with_facilitator": share,
    }
    with transaction.atomic(durable=True):
        # Serialise one member's saving, so that the same entry sent twice (a second press on a
        # slow connection, a resubmitted form) is the entry already saved, not a second copy.
        # The text is encrypted, so it is compared here rather than in the query. "No key", as
        # in create_post: a change of seat under way in the group must not wait on this.
        User.objects.select_for_update(no_key=True).filter(pk=actor.pk).first()
        recent = Reflection.objects.filter(
            **fields, created_at__gte=timezone.now() - RESUBMIT_WINDOW
        ).order_by("-created_at", "-pk")
        same = next((r for r in recent if r.body == body), None)
        if same is not None:
            return same
        return Reflection.objects.create(
            **fields, body=body, shared_at=timezone.now() if share else None
        )


def update_reflection(*, reflection: Reflection, body: str, share: bool, actor: User) -> Reflection:
    if reflection.member_id != actor.pk:
        raise NotFound()
    body = body.strip()
    if not body:
        raise InvalidTransition("Please write something before saving.")
    if share and not reflection.shared_with_facilitator:
        # Only newly sharing needs the group: a member who has left it can still edit the entry
        # and stop sharing it.
        if reflection.cohort is not None and not is_member(actor, reflection.cohort):
            raise InvalidTransition(
                "You're no longer in this group, so this entry can't be shared with its "
                f"{reflection.cohort.program.leader_word}."
            )
        _share_target(actor, reflection.cohort, share)
    with transaction.atomic(durable=True):
        reflection = Reflection.objects.select_for_update().get(pk=reflection.pk)
        if body != reflection.body or share != reflection.shared_with_facilitator:
            # What the facilitator read is not what is shared now (if anything is).
            reflection.read_at = None
            reflection.read_by = None
        reflection.body = body
        if share != reflection.shared_with_facilitator:
            reflection.shared_with_facilitator = share
            reflection.shared_at = timezone.now() if share else None
        reflection.save(
            update_fields=[
                "body",
                "shared_with_facilitator",
                "shared_at",
                "read_at",
                "read_by",
                "updated_at",
            ]
        )
    return reflection


def delete_reflection(*, reflection: Reflection, actor: User) -> None:
    if reflection.member_id != actor.pk:
        raise NotFound()
    with transaction.atomic(durable=True):
        Reflection.objects.filter(pk=reflection.pk, member=actor).delete()


def read_shared_reflection(
    *, cohort: Cohort, reflection_id: int, actor: User, now: datetime | None = None
) -> Reflection:
    """A facilitator reads an entry a member shared with them; the read is audited, and the
    first read of the entry as shared now is kept (``read_at``, ``read_by``), for the member and
    for the other facilitators. A read by someone who no longer leads the group does not count
    for those who do now: the first of them to read it takes its place."""
    if not cohort.is_led_by(actor):
        raise NotFound()
    with transaction.atomic(durable=True):
        # Locked, so that a change the member saves meanwhile (which clears ``read_at``) comes
        # after this read, and is not taken as read by a read of the text before it.
        reflection = (
            Reflection.objects.select_for_update(of=("self",))
            .select_related("member")
            .defer("member__password")
            .filter(pk=reflection_id, cohort=cohort, shared_with_facilitator=True)
            .first()
        )
        if reflection is None:
            raise NotFound()
        read_by_someone_gone = reflection.read_by_id is not None and reflection.read_by_id not in {
            cohort.lead_id,
            cohort.co_facilitator_id,
        }
        if reflection.read_at is None or read_by_someone_gone:
            reflection.read_at = now or timezone.now()
            reflection.read_by = actor
            reflection.save(update_fields=["read_at", "read_by"])
        record(
            actor=actor,
            action=AuditAction.REFLECTION_VIEWED,
            target=reflection,
            subject=reflection.member,
            data={"cohort": cohort.pk},
        )
    return reflection
