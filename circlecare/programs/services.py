"""Changes to programme and cohort rows made on behalf of other apps."""

from __future__ import annotations

from datetime import date, time

from django.db import connection

from circlecare.programs.models import Cohort, Program


def follow_first_meeting(*, cohort: Cohort, local_date: date, local_time: time) -> bool:
    """Keep the cohort's start (first meeting date, weekday and time) on its first meeting that
    is not cancelled, after its meetings changed. Joining, the catalog and "starts in a few
    days" notices go by this date, so a group whose start moved stays open until it really meets.

    Returns whether anything changed. Raises ValueError, changing nothing, when the new start
    would come before the group's joining deadline. Runs inside the caller's transaction, with
    the cohort row locked.
    """
    assert connection.in_atomic_block, "call this inside a service's transaction"
    if (cohort.first_meeting_date, cohort.start_time) == (local_date, local_time):
        return False
    if cohort.enrollment_deadline is not None and local_date < cohort.enrollment_deadline:
        raise ValueError(
            f"The deadline for joining this group is {cohort.enrollment_deadline:%A %-d %B %Y}, "
            "and its first meeting can't come before it. Choose a later date, or move the "
            "deadline first."
        )
    cohort.first_meeting_date = local_date
    cohort.weekday = local_date.weekday()
    cohort.start_time = local_time
    # save() keeps joinable_until in step with the new date.
    cohort.save(update_fields=["first_meeting_date", "weekday", "start_time"])
    return True


def set_for_couples(*, program: Program, for_couples: bool) -> None:
    """Record whether couples join the programme's groups together. Only
    ``enrollment.services.change_for_couples`` calls this: who a group is for decides how many
    seats a place takes, so it changes under the locks seat changes take, with each open group's
    status worked out again. Runs inside that transaction."""
    assert connection.in_atomic_block, "call this inside a service's transaction"
    # update(), not save(): save() refuses this change, so that nothing makes it another way.
    Program.objects.filter(pk=program.pk).update(for_couples=for_couples)
    program.for_couples = for_couples
