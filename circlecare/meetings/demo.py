"""Demo meetings: every open demo group gets its meetings, and one group already has history."""

from __future__ import annotations

from datetime import time, timedelta

from django.utils import timezone

from circlecare.accounts.models import User
from circlecare.enrollment.models import Enrollment, EnrollmentStatus
from circlecare.meetings import services
from circlecare.meetings.models import Attendance, AttendanceStatus, Meeting, MeetingStatus
from circlecare.programs.models import ACTIVE, Cohort, CohortStatus, Program

DOMAIN = "demo.circlecare.example"
RUNNING_NAME = "Midday circle (in progress)"
RUNNING_MEMBERS = ("alex", "taylor", "morgan", "casey", "riley")
# Who came to the meetings already held, in member order; a believable mix.
HISTORY = (
    (AttendanceStatus.ATTENDED, AttendanceStatus.ATTENDED, AttendanceStatus.LATE,
     AttendanceStatus.ATTENDED, AttendanceStatus.EXCUSED),
    (AttendanceStatus.ATTENDED, AttendanceStatus.ABSENT, AttendanceStatus.ATTENDED,
     AttendanceStatus.ATTENDED, AttendanceStatus.ATTENDED),
)  # fmt: skip


def _running_cohort() -> Cohort | None:
    program = Program.objects.filter(slug="circle-of-connection").first()
    lead = User.objects.filter(email=f"priya.shah@{DOMAIN}").first()
    if program is None or lead is None:
        return None
    cohort = Cohort.objects.filter(program=program, name=RUNNING_NAME).first()
    if cohort is not None:
        return cohort
    first = timezone.localdate() - timedelta(days=14)
    cohort = Cohort.objects.create(
        program=program,
        lead=lead,
        name=RUNNING_NAME,
        first_meeting_date=first,
        weekday=first.weekday(),
        start_time=time(12, 0),
        time_zone="America/New_York",
        capacity=10,
        min_size=4,
        status=CohortStatus.RUNNING,
    )
    now = timezone.now()
    for local in RUNNING_MEMBERS:
        member = User.objects.filter(email=f"{local}@{DOMAIN}").first()
        if member is not None:
            Enrollment.objects.get_or_create(
                member=member,
                cohort=cohort,
                defaults={
                    "status": EnrollmentStatus.CONFIRMED,
                    "queued_at": now - timedelta(days=30),
                    "confirmed_at": now - timedelta(days=30),
                },
            )
    return cohort


def _history(cohort: Cohort) -> int:
    now = timezone.now()
    members = list(
        User.objects.filter(
            enrollments__cohort=cohort, enrollments__status=EnrollmentStatus.CONFIRMED
        ).order_by("pk")
    )
    recorded = 0
    held = Meeting.objects.filter(cohort=cohort, ends_at__lt=now).order_by("starts_at")
    for meeting, marks in zip(held, HISTORY, strict=False):
        if Attendance.objects.filter(meeting=meeting).exists():
            continue
        for member, status in zip(members, marks, strict=False):
            services.record_attendance(
                meeting=meeting, member=member, status=status, actor=cohort.lead
            )
            recorded += 1
        Meeting.objects.filter(pk=meeting.pk).update(status=MeetingStatus.HELD)
    return recorded


def seed_demo() -> str:
    created = 0
    running = _running_cohort()
    cohorts = Cohort.objects.filter(
        program__slug__in=["closer-relationships-therapy", "dbt-skills", "circle-of-connection"],
        status__in=ACTIVE,
        meetings__isnull=True,
    ).distinct()
    for cohort in cohorts:
        services.create_meetings(cohort=cohort, actor=None)
        created += 1
    recorded = _history(running) if running is not None else 0
    return (
        f"Meetings: scheduled for {created} group(s); {recorded} attendance mark(s) "
        f"added to the running group."
    )
