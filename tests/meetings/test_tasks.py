"""Reminders and change notices, sent by the task worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time as clock
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from circlecare.meetings import reminders, schedule, services, tasks
from circlecare.meetings.models import Meeting, MeetingStatus, ReminderKind, ReminderSent
from circlecare.programs.models import CohortStatus
from tests.conftest import someone_waits_for_a_lock
from tests.factories import ClinicianFactory, CohortFactory, EnrollmentFactory, UserFactory
from tests.meetings.factories import coordinator, meeting_at, member_of

ROOT = Path(__file__).resolve().parents[2]


NEW_YORK = ZoneInfo("America/New_York")


def _day_subject(meeting: Meeting) -> str:
    """A day reminder sent now names the meeting's day as a New York calendar reads it."""
    days = (meeting.starts_at.astimezone(NEW_YORK).date() - timezone.localdate(None, NEW_YORK)).days
    return f"circlecare: your group meets {'today' if days == 0 else 'tomorrow'}"


def _cohort_in(minutes: float, members: int = 2) -> tuple[Any, Meeting, list[Any]]:
    # A lead who turned reminders off: these tests count the members' reminders.
    cohort = CohortFactory(
        name="Tuesday evenings", lead=ClinicianFactory(user__email_reminders=False).user
    )
    people = [member_of(cohort) for _ in range(members)]
    meeting = meeting_at(cohort, timezone.now() + timedelta(minutes=minutes))
    return cohort, meeting, people


@pytest.mark.django_db
def test_hour_reminder_goes_once_to_each_confirmed_member() -> None:
    cohort, meeting, people = _cohort_in(55)
    quiet = member_of(cohort, email_reminders=False)
    waiting = UserFactory()
    EnrollmentFactory(member=waiting, cohort=cohort, status="waitlisted")
    assert reminders.sweep() == 2
    assert reminders.sweep() == 0
    assert sorted(e.to[0] for e in mail.outbox) == sorted(p.email for p in people)
    assert quiet.email not in {e.to[0] for e in mail.outbox}
    message = mail.outbox[0]
    assert message.subject == "circlecare: your group meets in about an hour"
    assert f"{django_settings.SITE_URL}/meetings/{meeting.pk}/" in message.body
    # No programme title (it can say what someone is being treated for) in a reminder.
    assert cohort.program.title not in message.body + message.subject
    assert ReminderSent.objects.filter(meeting=meeting, kind=ReminderKind.HOUR).count() == 2


@pytest.mark.django_db
def test_the_groups_lead_and_co_facilitator_are_reminded_too() -> None:
    co = UserFactory(is_facilitator=True)
    cohort = CohortFactory(co_facilitator=co)
    member = member_of(cohort)
    meeting_at(cohort, timezone.now() + timedelta(minutes=55))
    assert reminders.sweep() == 3
    assert sorted(e.to[0] for e in mail.outbox) == sorted(
        [cohort.lead.email, co.email, member.email]
    )


@pytest.mark.django_db
def test_a_reminder_whose_moment_has_passed_is_not_sent_late() -> None:
    # Starts in 40 minutes: the hour reminder was due 20 minutes ago (past its 15-minute grace),
    # and the day reminder long ago.
    _cohort_in(40)
    assert reminders.sweep() == 0
    assert mail.outbox == []


@pytest.mark.django_db
def test_day_reminder_is_sent_within_its_grace_and_not_after() -> None:
    _cohort, meeting, _people = _cohort_in(24 * 60 - 10)
    assert reminders.send_reminders(meeting.pk, ReminderKind.DAY) == 2
    assert mail.outbox[0].subject == _day_subject(meeting)
    later = timezone.now() + timedelta(hours=2)
    assert reminders.send_reminders(meeting.pk, ReminderKind.HOUR, now=later) == 0


@pytest.mark.django_db
def test_a_day_reminder_sent_after_the_members_midnight_says_today() -> None:
    cohort = CohortFactory(lead=ClinicianFactory(user__email_reminders=False).user)
    member = member_of(cohort, display_name="Ana")
    meeting = meeting_at(cohort, datetime(2027, 3, 10, 23, 30, tzinfo=NEW_YORK).astimezone(UTC))
    # Due at 11:30 pm the evening before; the worker, behind, sends it 50 minutes later.
    late = datetime(2027, 3, 10, 0, 20, tzinfo=NEW_YORK)
    assert reminders.send_reminders(meeting.pk, ReminderKind.DAY, now=late) == 1
    [message] = mail.outbox
    assert message.subject == "circlecare: your group meets today"
    assert "Your circlecare group meets today:\nWed 10 Mar 2027, 11:30 pm EST\n" in message.body
    assert "tomorrow" not in message.body
    assert message.to == [member.email]


@pytest.mark.django_db
def test_a_day_reminder_on_the_night_the_clocks_go_back_says_today() -> None:
    # 11:30 pm EST on 7 Nov 2027 is 25 hours of wall clock after midnight: 24 hours before it
    # is 12:30 am EDT the same day.
    cohort = CohortFactory(lead=ClinicianFactory(user__email_reminders=False).user)
    member_of(cohort)
    meeting = meeting_at(cohort, datetime(2027, 11, 7, 23, 30, tzinfo=NEW_YORK).astimezone(UTC))
    due = reminders.due_at(meeting, ReminderKind.DAY)
    assert due.astimezone(NEW_YORK).strftime("%d %H:%M %Z") == "07 00:30 EDT"
    assert reminders.send_reminders(meeting.pk, ReminderKind.DAY, now=due) == 1
    assert mail.outbox[0].subject == "circlecare: your group meets today"


@pytest.mark.django_db
def test_a_reminder_ends_with_the_setting_that_stops_it_and_the_crisis_line() -> None:
    _cohort_in(55, members=1)
    assert reminders.sweep() == 1
    body = mail.outbox[0].body
    assert body.endswith(
        "\nYou can turn these reminders off in your account settings, after signing in:\n"
        f"{django_settings.SITE_URL}/accounts/profile/\n\n"
        "If you are in crisis, call or text 988 (US), or your local emergency number.\n"
    )
    assert "\n\n\n" not in body


@pytest.mark.django_db
def test_cancelled_meeting_gets_no_reminder() -> None:
    _cohort, meeting, _people = _cohort_in(55)
    Meeting.objects.filter(pk=meeting.pk).update(status=MeetingStatus.CANCELLED)
    assert reminders.sweep() == 0


@pytest.mark.django_db
def test_a_failed_send_releases_the_claim_for_a_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    _cohort, _meeting, people = _cohort_in(55, members=1)

    def refuse(*args: Any, **kwargs: Any) -> int:
        raise OSError("mail server down")

    monkeypatch.setattr(mail.EmailMessage, "send", refuse)
    assert reminders.sweep() == 0
    assert not ReminderSent.objects.exists()
    monkeypatch.undo()
    assert reminders.sweep() == 1
    assert [e.to[0] for e in mail.outbox] == [people[0].email]


@pytest.mark.django_db
def test_opening_a_cohort_queues_delayed_reminders(
    django_capture_on_commit_callbacks: Any,
) -> None:
    cohort = CohortFactory(status=CohortStatus.DRAFT)
    with django_capture_on_commit_callbacks(execute=True):
        meetings = services.open_cohort(cohort=cohort, actor=coordinator())
    queued = DBTaskResult.objects.filter(task_path__endswith="send_meeting_reminders")
    assert queued.count() == 2 * len(meetings)
    due = sorted(r.run_after for r in queued)
    expected = sorted(m.starts_at - d for m in meetings for d in reminders.BEFORE.values())
    assert due == expected


@pytest.mark.django_db
def test_moved_meeting_old_reminder_task_sends_nothing(
    django_capture_on_commit_callbacks: Any,
) -> None:
    _cohort, meeting, _people = _cohort_in(3 * 24 * 60)
    old_due = meeting.starts_at - timedelta(hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        services.move_meeting(
            meeting=meeting,
            local_date=meeting.local_date + timedelta(days=2),
            local_time=meeting.local_time,
            actor=coordinator(),
        )
    assert reminders.send_reminders(meeting.pk, ReminderKind.HOUR, now=old_due) == 0
    queued = DBTaskResult.objects.filter(task_path__endswith="send_meeting_reminders")
    meeting.refresh_from_db()
    assert meeting.starts_at - timedelta(hours=1) in {r.run_after for r in queued}


@pytest.mark.django_db
def test_a_meeting_moved_after_its_reminder_is_reminded_again_at_its_new_time() -> None:
    _cohort, meeting, people = _cohort_in(23 * 60 + 50)
    assert reminders.send_reminders(meeting.pk, ReminderKind.DAY) == 2  # the old time's
    services.move_meeting(
        meeting=meeting,
        local_date=meeting.local_date + timedelta(days=3),
        local_time=meeting.local_time,
        actor=coordinator(),
    )
    meeting.refresh_from_db()
    before = len(mail.outbox)
    new_due = meeting.starts_at - timedelta(hours=23, minutes=50)
    assert reminders.send_reminders(meeting.pk, ReminderKind.DAY, now=new_due) == 2
    assert sorted(m.to[0] for m in mail.outbox[before:]) == sorted(p.email for p in people)
    assert reminders.send_reminders(meeting.pk, ReminderKind.DAY, now=new_due) == 0  # once


@pytest.mark.django_db
@pytest.mark.parametrize("change", ["cancel", "move"])
def test_a_meeting_changed_while_its_reminders_go_out_gets_none_at_the_old_time(
    change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A facilitator who falls ill cancels or moves the meeting just as its hour reminders start
    going out: the reminders not yet sent must not say it meets in an hour, and a moved meeting
    is still reminded at its new time."""
    _cohort, meeting, people = _cohort_in(55)
    staff = coordinator()
    found = reminders.recipients

    def changed_meanwhile(item: Meeting, kind: str) -> list[Any]:
        who = found(item, kind)
        if change == "cancel":
            services.cancel_meeting(meeting=item, actor=staff)
        else:
            services.move_meeting(
                meeting=item,
                local_date=item.local_date + timedelta(days=2),
                local_time=item.local_time,
                actor=staff,
            )
        return who

    monkeypatch.setattr(reminders, "recipients", changed_meanwhile)
    assert reminders.send_reminders(meeting.pk, ReminderKind.HOUR) == 0
    assert mail.outbox == []
    assert not ReminderSent.objects.filter(meeting=meeting).exists()
    monkeypatch.setattr(reminders, "recipients", found)
    meeting.refresh_from_db()
    if change == "move":
        new_due = meeting.starts_at - timedelta(minutes=55)
        assert reminders.send_reminders(meeting.pk, ReminderKind.HOUR, now=new_due) == 2
        assert sorted(m.to[0] for m in mail.outbox) == sorted(p.email for p in people)


@pytest.mark.django_db(transaction=True)
def test_worker_runs_due_reminder_tasks_once(run_worker: Any) -> None:
    _cohort, meeting, people = _cohort_in(55)
    tasks.schedule_reminders([meeting.pk])
    tasks.send_meeting_reminders.enqueue(meeting.pk, ReminderKind.HOUR)  # a duplicate task
    tasks.sweep_reminders.enqueue()
    run_worker()
    assert sorted(e.to[0] for e in mail.outbox) == sorted(p.email for p in people)


# --- SECURITY.md R3: a worker killed mid-run and restarted -------------------------------


def _messages(folder: Path) -> list[tuple[str, str]]:
    found = []
    for path in folder.glob("*.log"):
        for chunk in path.read_bytes().split(b"-" * 79):
            text = chunk.decode()
            headers = dict(
                line.split(": ", 1)
                for line in text.splitlines()
                if line.startswith(("To: ", "Subject: "))
            )
            if headers:
                found.append((headers["To"], headers["Subject"]))
    return found


def _worker_env(mail_dir: Path, **extra: str) -> dict[str, str]:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "PYTHONPATH": str(ROOT),
    }
    env.update(extra)
    return env


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the worker subprocess must reach the test database; pytest-django's SQLite test "
    "database lives in this process's memory",
)
@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_run_and_restarted_sends_every_reminder_exactly_once(
    tmp_path: Path,
) -> None:
    soon_cohort, soon, soon_people = _cohort_in(55, members=3)  # hour reminder due
    day_cohort, tomorrow, day_people = _cohort_in(24 * 60 - 10, members=3)  # day reminder due
    tasks.schedule_reminders([soon.pk, tomorrow.pk])
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    marker = tmp_path / "stuck"

    worker = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--interval",
            "0.1",
            "--no-startup-delay",
            "--no-reload",
        ],
        cwd=ROOT,
        env=_worker_env(
            mail_dir,
            EMAIL_BACKEND="tests.meetings.gated_backend.EmailBackend",
            MAIL_GATE_AFTER="1",
            MAIL_GATE_MARKER=str(marker),
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = clock.monotonic() + 60
        while not marker.exists():
            assert worker.poll() is None, worker.stderr.read().decode() if worker.stderr else ""
            assert clock.monotonic() < deadline, "the worker never reached its second e-mail"
            clock.sleep(0.05)
        # Killed in the middle of its second send: the first reminder is out and committed.
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert len(_messages(mail_dir)) == 1
    assert ReminderSent.objects.count() == 1

    # Restart: the new worker finishes the queue, and the sweep picks up the killed task's work.
    tasks.sweep_reminders.enqueue()
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--batch",
            "--interval",
            "0",
            "--no-startup-delay",
            "--no-reload",
        ],
        cwd=ROOT,
        env=_worker_env(mail_dir),
        check=True,
        timeout=120,
        capture_output=True,
    )
    sent = Counter(_messages(mail_dir))
    expected = {(p.email, "circlecare: your group meets in about an hour") for p in soon_people} | {
        (p.email, _day_subject(tomorrow)) for p in day_people
    }
    assert set(sent) == expected
    assert all(count == 1 for count in sent.values()), sent
    assert ReminderSent.objects.count() == 6
    del soon_cohort, day_cohort


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL: SQLite cannot show a race"
)
@pytest.mark.django_db(transaction=True)
def test_a_move_while_a_reminder_is_being_sent_leaves_the_new_time_its_own_reminder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The move waits for the reminder being sent, then clears its claim; before, the claim was
    committed after the move had cleared the old ones, and the new time got no reminder."""
    import threading

    from django.db import connections

    _cohort, meeting, [member] = _cohort_in(55, members=1)
    staff = coordinator()
    sending, release = threading.Event(), threading.Event()
    outcome: list[str] = []
    build = reminders._message

    def paused(*args: Any) -> Any:
        sending.set()
        assert release.wait(timeout=30)
        return build(*args)

    monkeypatch.setattr(reminders, "_message", paused)

    def send() -> None:
        try:
            outcome.append(f"sent {reminders.send_reminders(meeting.pk, ReminderKind.HOUR)}")
        finally:
            connections.close_all()

    def move() -> None:
        try:
            services.move_meeting(
                meeting=Meeting.objects.get(pk=meeting.pk),
                local_date=meeting.local_date + timedelta(days=2),
                local_time=meeting.local_time,
                actor=staff,
            )
            outcome.append("moved")
        finally:
            connections.close_all()

    sender = threading.Thread(target=send)
    sender.start()
    assert sending.wait(timeout=30)
    mover = threading.Thread(target=move)
    mover.start()
    # Until the move is seen waiting for a lock, or has finished: either way the reminder is
    # then let go.
    someone_waits_for_a_lock(mover.is_alive)
    release.set()
    sender.join(timeout=30)
    mover.join(timeout=30)
    assert sorted(outcome) == ["moved", "sent 1"]
    assert [m.to for m in mail.outbox] == [[member.email]]
    monkeypatch.setattr(reminders, "_message", build)
    meeting.refresh_from_db()
    new_due = meeting.starts_at - timedelta(minutes=55)
    assert reminders.send_reminders(meeting.pk, ReminderKind.HOUR, now=new_due) == 1
    assert [m.to for m in mail.outbox] == [[member.email]] * 2


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL: SQLite cannot show a race"
)
@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_the_same_reminders_at_once_send_each_once() -> None:
    import threading

    from django.db import connections

    _cohort, meeting, people = _cohort_in(55, members=4)
    barrier = threading.Barrier(4)

    def work() -> None:
        try:
            barrier.wait()
            reminders.send_reminders(meeting.pk, ReminderKind.HOUR)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(e.to[0] for e in mail.outbox) == sorted(p.email for p in people)
    assert ReminderSent.objects.count() == 4


@pytest.mark.django_db
def test_reminder_command_runs_and_queues_the_sweep() -> None:
    from io import StringIO

    from django.core.management import call_command

    _cohort_in(55, members=1)
    out = StringIO()
    call_command("meeting_reminders", stdout=out)
    assert "1 reminder(s) sent." in out.getvalue()
    call_command("meeting_reminders", "--enqueue", stdout=out)
    assert DBTaskResult.objects.filter(task_path__endswith="sweep_reminders").count() == 1


@pytest.mark.django_db
def test_a_cancellation_notice_says_it_once_calmly_and_ends_cleanly() -> None:
    cohort, meeting, [member] = _cohort_in(3 * 24 * 60, members=1)
    Meeting.objects.filter(pk=meeting.pk).update(status=MeetingStatus.CANCELLED)
    assert tasks.notify_meetings_changed.call([meeting.pk], "cancelled") == 2
    [body] = [message.body for message in mail.outbox if message.to == [member.email]]
    assert "A meeting of your circlecare group is cancelled:\n\n- " in body
    assert "CANCELLED" not in body
    assert body.endswith(
        "The meeting pages open after signing in.\n\nWith warm wishes,\ncirclecare\n\n"
        "If you are in crisis, call or text 988 (US), or your local emergency number.\n"
    )
    del cohort


@pytest.mark.django_db
def test_a_skip_notice_speaks_of_one_meeting_when_only_one_moved() -> None:
    """Skipping a group's last week moves only that meeting: the notice says "this meeting",
    not "these meetings"."""
    cohort, meeting, [member] = _cohort_in(3 * 24 * 60, members=1)
    assert tasks.notify_meetings_changed.call([meeting.pk], "skipped") == 2
    [body] = [message.body for message in mail.outbox if message.to == [member.email]]
    assert "is skipping a week, so this meeting is now a week later:\n" in body
    assert "these meetings" not in body
    del cohort


def _queued_notices() -> list[DBTaskResult]:
    return list(
        DBTaskResult.objects.filter(task_path__endswith="notify_meetings_changed").order_by(
            "enqueued_at", "pk"
        )
    )


@pytest.mark.django_db
def test_a_meeting_moved_twice_before_its_first_notice_went_is_told_once_of_its_new_time(
    django_capture_on_commit_callbacks: Any,
) -> None:
    cohort, meeting, [member] = _cohort_in(3 * 24 * 60, members=1)
    staff = coordinator()
    first_date = meeting.local_date + timedelta(days=1)
    second_date = meeting.local_date + timedelta(days=2)
    with django_capture_on_commit_callbacks(execute=True):
        services.move_meeting(
            meeting=meeting, local_date=first_date, local_time=meeting.local_time, actor=staff
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.move_meeting(
            meeting=meeting, local_date=second_date, local_time=meeting.local_time, actor=staff
        )
    first, second = _queued_notices()
    # The worker reaches the first move's notice only now: the meeting has moved on since.
    assert tasks.notify_meetings_changed.call(*first.args_kwargs["args"]) == 0
    assert mail.outbox == []
    assert tasks.notify_meetings_changed.call(*second.args_kwargs["args"]) == 2
    [body] = [message.body for message in mail.outbox if message.to == [member.email]]
    meeting.refresh_from_db()
    when, _group_time = schedule.format_for_viewer(
        meeting.starts_at, member.time_zone, cohort.time_zone
    )
    assert meeting.local_date == second_date and f"- {when}" in body
    del cohort


@pytest.mark.django_db
def test_a_new_pattern_is_told_for_the_meetings_no_later_change_has_told(
    django_capture_on_commit_callbacks: Any,
) -> None:
    """One meeting of a new pattern is moved again before the pattern's notice went: the notice
    tells the others, and that meeting's own move notice tells it."""
    cohort, meeting, [member] = _cohort_in(3 * 24 * 60, members=1)
    later = meeting_at(cohort, meeting.starts_at + timedelta(weeks=1), number=2)
    staff = coordinator()
    with django_capture_on_commit_callbacks(execute=True):
        services.change_pattern(
            cohort=cohort,
            from_date=meeting.local_date + timedelta(days=1),
            start_time=meeting.local_time,
            actor=staff,
        )
    later.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        services.move_meeting(
            meeting=later,
            local_date=later.local_date + timedelta(days=2),
            local_time=later.local_time,
            actor=staff,
        )
    pattern, move = _queued_notices()
    assert tasks.notify_meetings_changed.call(*pattern.args_kwargs["args"]) == 2
    [body] = [message.body for message in mail.outbox if message.to == [member.email]]
    assert body.count("\n- ") == 1 and f"/meetings/{meeting.pk}/" in body
    assert f"/meetings/{later.pk}/" not in body
    mail.outbox.clear()
    assert tasks.notify_meetings_changed.call(*move.args_kwargs["args"]) == 2
    [body] = [message.body for message in mail.outbox if message.to == [member.email]]
    assert f"/meetings/{later.pk}/" in body and f"/meetings/{meeting.pk}/" not in body


@pytest.mark.django_db
def test_a_reminder_asks_for_an_agreements_new_version_before_the_meeting() -> None:
    from circlecare.enrollment.models import ConsentKind
    from tests.enrollment.factories import ConsentDocumentFactory, publish_consents, sign_all

    publish_consents()
    cohort, meeting, (behind, up_to_date) = _cohort_in(55)
    sign_all(behind)
    ConsentDocumentFactory(
        kind=ConsentKind.GROUP_CONFIDENTIALITY,
        version=2,
        effective_at=timezone.now() - timedelta(days=1),
    )
    sign_all(up_to_date)
    assert reminders.sweep() == 2
    sent = {m.to[0]: m.body for m in mail.outbox}
    link = (
        f"{django_settings.SITE_URL}/my/join/{cohort.pk}/agreements/?next=/meetings/{meeting.pk}/"
    )
    assert (
        f"Before you can join, please read and sign an agreement for your group:\n{link}\n"
    ) in sent[behind.email]
    # Named, an agreement can say what the group is (informed consent for therapy): counted only.
    assert "confidentiality" not in sent[behind.email].lower()
    assert "please read and sign" not in sent[up_to_date.email]


@pytest.mark.django_db
def test_those_who_lead_a_group_are_told_which_group_and_members_are_not() -> None:
    """A facilitator may lead several groups: their reminders and change notices name the group.
    A member's never do: a title can say what its members are treated for."""
    cohort, meeting, [member] = _cohort_in(55, members=1)
    co = UserFactory(display_name="Co")
    cohort.co_facilitator = co
    cohort.save()
    named = f"{cohort.program.title} — Tuesday evenings (a group you lead)"
    assert reminders.send_reminders(meeting.pk, ReminderKind.HOUR) == 2  # the lead opted out
    by_person = {message.to[0]: message.body for message in mail.outbox}
    assert f"{named} meets in about an hour:" in by_person[co.email]
    assert "Your circlecare group meets in about an hour:" in by_person[member.email]
    assert cohort.program.title not in by_person[member.email]

    mail.outbox.clear()
    Meeting.objects.filter(pk=meeting.pk).update(status=MeetingStatus.CANCELLED)
    assert tasks.notify_meetings_changed.call([meeting.pk], "cancelled") == 3
    by_person = {message.to[0]: message.body for message in mail.outbox}
    for leader in (cohort.lead, co):
        assert f"A meeting of {named} is cancelled:" in by_person[leader.email]
    assert "A meeting of your circlecare group is cancelled:" in by_person[member.email]
    assert cohort.program.title not in by_person[member.email]
