"""Word to the live rooms of changes made elsewhere, sent once those changes are committed."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, transaction
from django.utils import timezone

from circlecare.meetings.live.consumers import leaders_group
from circlecare.meetings.models import JOIN_OPENS_BEFORE, Meeting, MeetingStatus
from circlecare.programs.models import Cohort


def leaders_changed(*, cohort: Cohort) -> None:
    """The group's lead or co-lead changed: after the commit, every room of the group open now
    hears of it, and each leader's socket in it asks at once whether its person still leads the
    group. Someone who no longer does loses the controls (letting people in, removing them,
    ending the meeting) there and then, not at the next re-check or when they reconnect.

    Runs inside the change's transaction."""
    assert connection.in_atomic_block, "call this inside the change's transaction"
    cohort_id = cohort.pk
    # Robust: the change is made whatever happens to the word about it, and the rooms' own
    # re-check every few seconds follows in any case.
    transaction.on_commit(lambda: tell_rooms_leaders_changed(cohort_id), robust=True)


def tell_rooms_leaders_changed(cohort_id: int) -> int:
    """Tell each room of the group whose join window is open now; returns how many."""
    now = timezone.now()
    meetings = list(
        Meeting.objects.filter(
            cohort_id=cohort_id,
            ended_at__isnull=True,
            starts_at__lte=now + JOIN_OPENS_BEFORE,
            ends_at__gt=now,
        )
        .exclude(status=MeetingStatus.CANCELLED)
        .values_list("pk", flat=True)
    )
    layer = get_channel_layer()
    if layer is None:
        return 0
    for meeting_id in meetings:
        async_to_sync(layer.group_send)(leaders_group(meeting_id), {"type": "room.leaders"})
    return len(meetings)
