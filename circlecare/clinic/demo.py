"""Demo notes: the running demo circle's held meetings get a signed group note and signed
individual notes (made-up text, clearly labelled)."""

from __future__ import annotations

from django.utils import timezone

from circlecare.clinic import services
from circlecare.clinic.models import GroupNote, IndividualNote
from circlecare.meetings.demo import RUNNING_NAME
from circlecare.meetings.models import Attendance, Meeting
from circlecare.programs.models import Cohort

GROUP_TEXT = (
    "[Demo note — made-up] Week {week}. The circle checked in and shared one moment of connection "
    "from the past week. Theme: asking for support without apology. Members practised naming a "
    "need to one another in pairs; the group closed with a short reflection."
)
INDIVIDUAL_TEXT = (
    " {name} took part in the pair practice and named one small need to bring next week."
)


def seed_demo() -> str:
    cohort = Cohort.objects.select_related("lead").filter(name=RUNNING_NAME).order_by("pk").first()
    if cohort is None:
        return ""
    lead = cohort.lead
    now = timezone.now()
    meetings = Meeting.objects.filter(
        cohort=cohort, ends_at__lt=now, pk__in=Attendance.objects.values("meeting_id")
    ).order_by("starts_at")
    written = 0
    for meeting in meetings:
        if GroupNote.objects.filter(meeting=meeting).exists():
            continue
        group = services.save_group_note(
            meeting=meeting, text=GROUP_TEXT.format(week=meeting.number), actor=lead
        )
        services.sign_note(note=group, actor=lead)
        services.create_individual_notes(meeting=meeting, actor=lead)
        for note in IndividualNote.objects.filter(meeting=meeting).select_related("member"):
            note = services.save_individual_note(
                note=note,
                text=note.text + INDIVIDUAL_TEXT.format(name=note.member.display_name),
                actor=lead,
            )
            services.sign_note(note=note, actor=lead)
        written += 1
    return f"Notes: signed group and individual notes for {written} held meeting(s) of the running circle."
