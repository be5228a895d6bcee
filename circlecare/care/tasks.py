"""Background work for relational care (run by `manage.py db_worker`)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone
from django_tasks import task
from django_tasks.base import TaskResultStatus

from circlecare import emails
from circlecare.care.nudges import send_weekly_nudges
from circlecare.emails import member_footer, site_link

#: Nudges go out on Mondays at 15:00 UTC: morning in the Americas, afternoon in Europe.
SEND_WEEKDAY = 0
SEND_TIME = time(15, 0)


def next_run_after(now: datetime) -> datetime:
    """The next Monday 15:00 UTC strictly after ``now``."""
    now = now.astimezone(UTC)
    days = (SEND_WEEKDAY - now.weekday()) % 7
    candidate = datetime.combine(now.date() + timedelta(days=days), SEND_TIME, tzinfo=UTC)
    if candidate <= now:
        candidate += timedelta(days=7)
    return candidate


def schedule_next(*, now: datetime | None = None) -> bool:
    """Queue the next weekly run unless one is already waiting. Returns whether it queued one."""
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    waiting = DBTaskResult.objects.filter(
        task_path=weekly_care_nudges.module_path,
        status=TaskResultStatus.READY,
        run_after__gt=now,
    ).exists()
    if waiting:
        return False
    weekly_care_nudges.using(run_after=next_run_after(now)).enqueue()
    return True


@task()
def weekly_care_nudges() -> int:
    """Send this week's "just because" nudges, then queue next week's run."""
    try:
        return send_weekly_nudges()
    finally:
        # Keep the weekly chain alive even if this week's sweep failed part-way.
        schedule_next()


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
    author = match.post.author
    if not (author.is_active and author.care_replies):
        return 0
    link = site_link("care:post", post_id=match.post_id)
    return send_mail(
        subject=emails.subject("someone responded to your care-board post"),
        message=(
            f"Hello {author.display_name},\n\n"
            "Someone in your group responded to a post you made on the care board. You can see "
            f"who, and arrange the rest, here, after signing in:\n{link}\n\n"
            + member_footer("these e-mails")
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[author.email],
    )
