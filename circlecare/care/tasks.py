"""Background work for relational care (run by `manage.py db_worker`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from circlecare import emails
from circlecare.care.nudges import send_due_nudges
from circlecare.chains import enqueue_unless_waiting
from circlecare.emails import member_footer, site_link

#: The nudge run comes round every hour: each member's nudge goes out in the run that falls in
#: their own Monday morning hour (``nudges.SEND_HOUR``), and zones differ by whole hours (or
#: half and quarter hours, which still put exactly one whole UTC hour in each local hour).
RUN_EVERY = timedelta(hours=1)
#: This chain's advisory lock (``chains.enqueue_unless_waiting``): an arbitrary constant, unique
#: among the project's advisory locks.
SCHEDULE_LOCK = 7_304_215_002


def next_run_after(now: datetime) -> datetime:
    """The next whole hour (UTC) strictly after ``now``."""
    now = now.astimezone(UTC)
    return now.replace(minute=0, second=0, microsecond=0) + RUN_EVERY


def schedule_next(*, now: datetime | None = None) -> bool:
    """Queue the next hourly run unless one is already waiting for it. Returns whether it queued
    one.

    Only a run due by the next whole hour counts as waiting: one queued for later (the weekly run
    of earlier releases, for next Monday) would leave the hours before it without a run, so the
    hourly chain is started beside it; when that one comes it sends nothing twice (nudges are
    claimed once a week), and whichever of the two runs of that hour finishes last finds the
    next hour's run waiting and queues nothing."""
    now = now or timezone.now()
    next_run = next_run_after(now)
    return enqueue_unless_waiting(
        weekly_care_nudges,
        run_after=next_run,
        lock=SCHEDULE_LOCK,
        waiting=Q(run_after__gt=now, run_after__lte=next_run),
    )


@task()
def weekly_care_nudges() -> int:
    """This hour's part of the weekly "just because" nudges (the members whose Monday
    morning hour it is), then queue the next hour's run."""
    try:
        return send_due_nudges()
    finally:
        # Keep the hourly chain alive even if this hour's sweep failed part-way.
        schedule_next()


def _care_email(person: Any, subject: str, text: str) -> int:
    """One care-board e-mail to a member, unless their account is closed or they turned these
    e-mails off (``care_replies``): a greeting, ``text``, and the ending that says how to."""
    if not (person.is_active and person.care_replies):
        return 0
    return send_mail(
        subject=emails.subject(subject),
        message=f"Hello {person.display_name},\n\n{text}\n\n" + member_footer("these e-mails"),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[person.email],
    )


@task()
def tell_author_of_response(match_id: int) -> int:
    """E-mail a post's author that someone responded, unless they turned these e-mails off.
    The e-mail says only that, and links to the post: not what the post or the person said."""
    from circlecare.care.models import CareMatch, MatchStatus

    match = (
        CareMatch.objects.select_related("post__author")
        .defer("post__author__password")
        .filter(pk=match_id)
        .first()
    )
    if match is None or match.status == MatchStatus.CANCELLED:
        return 0
    link = site_link("care:post", post_id=match.post_id)
    return _care_email(
        match.post.author,
        "someone responded to your care-board post",
        "Someone in your group responded to a post you made on the care board. You can see "
        f"who, and arrange the rest, here, after signing in:\n{link}",
    )


@task()
def tell_giver_of_thanks(match_id: int) -> int:
    """E-mail the one who helped that they were thanked, unless they turned care-board e-mails
    off. Not the words of thanks, nor who sent them: those are on their care page, after signing
    in."""
    from circlecare.care.models import CareMatch

    match = (
        CareMatch.objects.select_related("giver")
        .defer("giver__password")
        .filter(pk=match_id, thanked_at__isnull=False)
        .first()
    )
    if match is None:
        return 0
    from circlecare.care.queries import blocked_between

    if blocked_between(match.giver_id, match.receiver_id):
        # Blocked since the thanks were sent: the one never hears of the other.
        return 0
    # Where every thank-you one has received is kept, whatever became of the post since.
    link = site_link("care:mutuality")
    return _care_email(
        match.giver,
        "someone thanked you",
        "Someone in your group thanked you for the help you gave them. You can read what they "
        f"wrote here, after signing in:\n{link}",
    )


@task()
def tell_facilitators_of_report(report_id: int) -> int:
    """E-mail a reported post's facilitators (the lead and a co-facilitator) that a member
    reported it, with a link to the group's care overview; the coordinators when neither can be
    reached. Never what the post or the report says, nor who wrote either. Not sent once the
    report is resolved (a facilitator saw it on the board first)."""
    from circlecare.accounts.queries import coordinator_addresses
    from circlecare.care.models import CareReport
    from circlecare.measures.notifications import leaders_reachable

    report = (
        CareReport.objects.select_related("post__cohort__lead", "post__cohort__co_facilitator")
        .defer("post__cohort__lead__password", "post__cohort__co_facilitator__password")
        .filter(pk=report_id, resolved_at__isnull=True)
        .first()
    )
    if report is None:
        return 0
    cohort = report.post.cohort
    leaders = leaders_reachable(cohort)
    if leaders:
        return send_mail(
            subject=emails.subject("a care-board post was reported"),
            message=(
                "A member reported a post on the care board of a group you lead.\n\n"
                "You can read the report, hide the post if it needs to be, and mark the report "
                "resolved here, after signing in:\n"
                f"{site_link('care:facilitate', cohort_id=cohort.pk)}\n"
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=leaders,
        )
    # Only a group's facilitators may open its care overview: the coordinators are asked to
    # give the group someone who can.
    coordinators = coordinator_addresses()
    if not coordinators:
        return 0
    return send_mail(
        subject=emails.subject("a care-board post was reported"),
        message=(
            "A member reported a post on the care board of a group whose facilitators can't be "
            "reached by e-mail.\n\n"
            "Please make sure someone leads the group: they will find the report on its care "
            "overview. The group, after signing in:\n"
            f"{site_link('admin:programs_cohort_change', cohort.pk)}\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=coordinators,
    )


def _call_off_words(
    reason: str, count: int, people: int = 1, leader_word: str = "facilitator"
) -> tuple[str, str]:
    """The subject and the sentence that says what was called off, for one person, with how many
    ``people`` they had agreed it with (a couple leaves together); ``leader_word`` is what they
    call whoever leads the group (Program.leader_word).

    A block is stored as an ordinary call-off and reads exactly like one: the other person is
    never told they were blocked. Leaving never says why someone left."""
    from circlecare.care.models import CallOff

    one = count == 1
    what = "Something you'd agreed" if one else f"{count} things you'd agreed"
    subject = (
        "a plan on the care board was called off"
        if one
        else "plans on the care board were called off"
    )
    if reason == CallOff.LEFT_GROUP:
        who = "the other person" if people == 1 else "the people you'd agreed them with"
        sentence = (
            f"{what} on the care board {'is' if one else 'are'} called off, because {who} left "
            "the group."
        )
    elif reason == CallOff.POST_HIDDEN:
        sentence = (
            f"The group's {leader_word}s took a post off the care board, so {what[0].lower()}"
            f"{what[1:]} on it {'is' if one else 'are'} called off."
        )
    elif reason == CallOff.GROUP_ENDED:
        sentence = (
            f"Your group has ended, so {what[0].lower() + what[1:]} on its care board and not "
            f"yet done {'is' if one else 'are'} called off."
        )
    else:
        sentence = (
            f"The other person has called off {what[0].lower() + what[1:]} on the care board."
        )
    return subject, sentence


@task()
def tell_of_call_off(match_ids: list[int]) -> int:
    """E-mail each person whose plans were called off in one event (someone calling off, a
    block, a member leaving, a group ending), once, with how many: never the person who called
    them off, and not those who turned care-board e-mails off. No names, no post titles; the
    link goes to the member's care page, which every member can open (a post may be one they
    can no longer see)."""
    from circlecare.accounts.models import User
    from circlecare.care.models import CareMatch, MatchStatus

    matches = list(
        CareMatch.objects.filter(pk__in=match_ids, status=MatchStatus.CANCELLED)
        .select_related("cohort__program")
        .only(
            "giver_id",
            "receiver_id",
            "cancel_reason",
            "cancelled_by_id",
            "cohort__program__kind",
        )
    )
    callers = {m.cancelled_by_id for m in matches if m.cancelled_by_id is not None}
    counts: dict[tuple[int, str], int] = {}
    others: dict[tuple[int, str], set[int]] = {}
    leaders: dict[tuple[int, str], str] = {}
    for match in matches:
        for person_id in (match.giver_id, match.receiver_id):
            if person_id not in callers:
                key = (person_id, match.cancel_reason)
                counts[key] = counts.get(key, 0) + 1
                other = match.receiver_id if person_id == match.giver_id else match.giver_id
                others.setdefault(key, set()).add(other)
                leaders.setdefault(key, match.cohort.program.leader_word)
    people = User.objects.defer("password").in_bulk({person_id for person_id, _ in counts})
    link = site_link("care:home")
    sent = 0
    for (person_id, reason), count in sorted(counts.items()):
        person = people.get(person_id)
        if person is None:
            continue
        subject, sentence = _call_off_words(
            reason, count, len(others[(person_id, reason)]), leaders[(person_id, reason)]
        )
        sent += _care_email(
            person,
            subject,
            f"{sentence} That's all right; nothing more is needed from you. You can see what's "
            f"still in progress on your care page, after signing in:\n{link}",
        )
    return sent
