"""A member downloads all their data, changes their name, and deletes their account."""

from __future__ import annotations

import html
import json
from datetime import timedelta

import pytest
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from circlecare.accounts.data_rights import StillLeading, delete_account
from circlecare.accounts.models import User
from circlecare.audit.models import AuditEvent
from circlecare.care.models import CareMatch, CarePost, MatchStatus, PostStatus, Reflection
from circlecare.crypto import lookup_digest, lookup_digests
from circlecare.enrollment.models import ConsentSignature, Enrollment
from circlecare.measures.models import Assessment
from circlecare.programs.models import CohortStatus
from tests.enrollment.factories import ConsentDocumentFactory
from tests.factories import PASSWORD, CohortFactory, EnrollmentFactory, LicenseFactory, UserFactory

pytestmark = pytest.mark.django_db


def member_with_history() -> User:
    enrollment = EnrollmentFactory(cohort=CohortFactory(name="Tuesday evenings"))
    member = enrollment.member
    Reflection.objects.create(
        member=member, body="A private canary thought", prompt="How was today?"
    )
    Reflection.objects.create(
        member=member,
        cohort=enrollment.cohort,
        body="Shared with my facilitator",
        shared_with_facilitator=True,
    )
    Assessment.objects.create(
        member=member, cohort=enrollment.cohort, program_kind="therapy", instrument="PHQ9",
        occasion="intake", status="completed", due_at=timezone.now(), completed_at=timezone.now(),
        answers=json.dumps([0, 1, 0, 0, 2, 0, 0, 0, 0]), total=3, band="minimal",
    )  # fmt: skip
    CarePost.objects.create(
        cohort=enrollment.cohort, author=member, kind="request", support="walk", title="A walk?"
    )
    return member


def profile_form(member: User, home_state: str) -> dict[str, str]:
    """The profile form as sent, unchanged but for where the member lives."""
    return {
        "display_name": member.display_name,
        "time_zone": "America/New_York",
        "language": "en",
        "email_reminders": "on",
        "home_state": home_state,
    }


def test_download_all_my_data_as_json_and_as_a_page(client: Client) -> None:
    member = member_with_history()
    client.force_login(member)
    response = client.get(reverse("my_data"), {"format": "json"})
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    assert response["Cache-Control"] == "no-store"
    data = json.loads(response.content)
    assert data["profile"]["email"] == member.email
    assert data["groups"][0]["group"] == "Tuesday evenings"
    assert {entry["text"] for entry in data["journal"]} == {
        "A private canary thought",
        "Shared with my facilitator",
    }
    assert data["care_posts"][0]["title"] == "A walk?"
    assert data["questionnaires"][0]["instrument"] == "PHQ-9"
    assert data["questionnaires"][0]["answers"] == [0, 1, 0, 0, 2, 0, 0, 0, 0]
    page = client.get(reverse("my_data")).content.decode()
    assert "A private canary thought" in page and "Tuesday evenings" in page
    assert AuditEvent.objects.filter(action="account.exported", subject=member).count() == 2


def test_my_data_page_gives_a_who5_score_as_the_percentage_the_progress_page_shows(
    client: Client,
) -> None:
    enrollment = EnrollmentFactory()
    Assessment.objects.create(
        member=enrollment.member, cohort=enrollment.cohort, program_kind="skills",
        instrument="WHO5", occasion="weekly", status="completed", due_at=timezone.now(),
        completed_at=timezone.now(), answers=json.dumps([3, 3, 4, 3, 4]), total=17,
        percentage=68, band="adequate",
    )  # fmt: skip
    client.force_login(enrollment.member)
    page = client.get(reverse("my_data")).content.decode()
    assert "score 17 (68%, as your progress page shows it)" in page


def test_my_data_page_says_where_you_live_in_words_and_the_download_keeps_codes(
    client: Client,
) -> None:
    member = UserFactory(home_state="XX", language="es")
    client.force_login(member)
    page = client.get(reverse("my_data")).content.decode()
    assert "<dd>I live outside the US</dd>" in page and "<dd>Español</dd>" in page
    assert "<dd>XX</dd>" not in page
    profile = client.get(reverse("my_data"), {"format": "json"}).json()["profile"]
    assert profile["home_state"] == "XX" and profile["language"] == "es"


def test_my_data_holds_invitations_messages_and_follow_up_alerts(client: Client) -> None:
    from circlecare.enrollment.models import PartnerInvite
    from circlecare.inquiries.models import Inquiry
    from circlecare.measures.models import RiskAlert

    member = member_with_history()
    enrollment = Enrollment.objects.get(member=member)
    PartnerInvite.objects.create(
        cohort=enrollment.cohort, inviter=member, email="partner@example.org",
        token_hash="x" * 64, status="pending", expires_at=timezone.now(),
    )  # fmt: skip
    Inquiry.objects.create(
        name="Sam", email=member.email.upper(), state="NY", interest="therapy",
        message="Is there an evening group?", source="test",
    )  # fmt: skip
    assessment = Assessment.objects.get(member=member)
    RiskAlert.objects.create(
        assessment=assessment, member=member, cohort=enrollment.cohort,
        assignee=enrollment.cohort.lead, raised_at=timezone.now(), action_note="Called.",
        acknowledged_at=timezone.now(), acknowledged_by=enrollment.cohort.lead,
    )  # fmt: skip
    client.force_login(member)
    data = client.get(reverse("my_data"), {"format": "json"}).json()
    assert data["partner_invitations_sent"][0]["to"] == "partner@example.org"
    assert data["messages_to_the_practice"][0]["message"] == "Is there an evening group?"
    [alert] = data["follow_up_alerts"]
    assert alert["group"] == "Tuesday evenings" and alert["followed_up"]
    assert "Called." not in json.dumps(data)  # the clinician's words come through the practice
    page = client.get(reverse("my_data")).content.decode()
    assert "Is there an evening group?" in page and "partner@example.org" in page
    assert "Name shown to your group" in page and "Displayname" not in page
    assert "+00:00" not in page  # moments in the member's own zone, not raw ISO text

    address = member.email
    client.post(reverse("delete_account"), {"password": PASSWORD, "confirm": "DELETE"})
    invite = PartnerInvite.objects.get()
    # Cancelled, and the partner's address (someone else's, typed by the member) forgotten.
    assert invite.status == "cancelled" and invite.email.endswith("@deleted.invalid")
    inquiry = Inquiry.objects.get()
    assert inquiry.message == "" and inquiry.name == "(removed)"
    assert inquiry.email.endswith("@deleted.invalid")
    # Nor is the message found by the address any more: its digest went with it.
    assert inquiry.email_digest == lookup_digest(inquiry.email)
    assert not Inquiry.objects.filter(email_digest__in=lookup_digests(address)).exists()


def test_messages_sent_from_another_confirmed_address_are_in_the_download_and_go_with_it(
    client: Client,
) -> None:
    """A member who wrote to the practice from their work address, and later added it to their
    account, finds the message in their download, and deleting the account forgets it. An
    address added but not confirmed proves nothing: what was sent from it stays out."""
    from allauth.account.models import EmailAddress

    from circlecare.inquiries.models import Inquiry

    member = member_with_history()
    EmailAddress.objects.create(user=member, email="me@work.example", verified=True)
    EmailAddress.objects.create(user=member, email="someone@else.example", verified=False)
    mine = Inquiry.objects.create(
        name="Sam", email="Me@Work.example", state="NY", interest="therapy",
        message="Is there a lunchtime group?", source="test",
    )  # fmt: skip
    theirs = Inquiry.objects.create(
        name="Alex", email="someone@else.example", state="NY", interest="therapy",
        message="Someone else's question", source="test",
    )  # fmt: skip
    client.force_login(member)

    data = client.get(reverse("my_data"), {"format": "json"}).json()
    assert [m["message"] for m in data["messages_to_the_practice"]] == [
        "Is there a lunchtime group?"
    ]

    client.post(reverse("delete_account"), {"password": PASSWORD, "confirm": "DELETE"})
    mine.refresh_from_db()
    assert mine.message == "" and mine.name == "(removed)"
    assert mine.email.endswith("@deleted.invalid")
    theirs.refresh_from_db()
    assert theirs.message == "Someone else's question"


def test_my_data_holds_every_address_added_to_the_account(client: Client) -> None:
    """Not only the address the practice writes to: one added later, and one added but not
    yet confirmed, are held about the member too."""
    from allauth.account.models import EmailAddress

    member = member_with_history()
    EmailAddress.objects.create(user=member, email="me@work.example", verified=True)
    EmailAddress.objects.create(user=member, email="old@home.example", verified=False)
    client.force_login(member)

    data = client.get(reverse("my_data"), {"format": "json"}).json()
    assert data["email_addresses"] == [
        {"email": member.email, "verified": True, "primary": True},
        {"email": "me@work.example", "verified": True, "primary": False},
        {"email": "old@home.example", "verified": False, "primary": False},
    ]
    page = client.get(reverse("my_data")).content.decode()
    assert "me@work.example" in page and "old@home.example — not confirmed" in page


def test_my_data_never_includes_other_peoples_private_data(client: Client) -> None:
    member = member_with_history()
    other = member_with_history()
    client.force_login(member)
    blob = client.get(reverse("my_data"), {"format": "json"}).content.decode()
    assert other.email not in blob


def test_anonymous_cannot_see_data_pages(client: Client) -> None:
    for name in ("my_data", "delete_account"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_delete_needs_the_password_and_the_word(client: Client) -> None:
    member = member_with_history()
    client.force_login(member)
    for data in (
        {"password": "wrong one!!", "confirm": "DELETE"},
        {"password": PASSWORD, "confirm": "yes"},
    ):
        response = client.post(reverse("delete_account"), data)
        assert response.status_code == 400
    member.refresh_from_db()
    assert member.is_active and member.display_name != "Former member"


def test_the_delete_page_says_shared_journal_entries_stay_with_the_practice(
    client: Client,
) -> None:
    """They are kept, like clinical records: the member is told before deleting, not after."""
    client.force_login(member_with_history())
    page = client.get(reverse("delete_account")).content.decode()
    assert "So are journal entries you shared with a facilitator." in page


def test_the_delete_page_limits_password_tries_as_sign_in_does(client: Client) -> None:
    member = member_with_history()
    client.force_login(member)
    url = reverse("delete_account")
    for n in range(5):
        wrong = client.post(url, {"password": f"guess number {n}", "confirm": "NOPE"})
        assert wrong.status_code == 400
    paused = client.post(url, {"password": PASSWORD, "confirm": "DELETE"})
    assert paused.status_code == 429
    assert "Please wait a little before trying again" in paused.content.decode()
    member.refresh_from_db()
    assert member.is_active and member.display_name != "Former member"


def test_delete_my_account_keeps_clinical_records_and_forgets_me(client: Client) -> None:
    member = member_with_history()
    email = member.email
    enrollment = Enrollment.objects.get(member=member)
    other_device = Client()
    other_device.force_login(member)
    client.force_login(member)
    response = client.post(reverse("delete_account"), {"password": PASSWORD, "confirm": "delete"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "clinical records" in body and "988" in body

    member.refresh_from_db()
    assert not member.is_active and member.email != email and member.display_name == "Former member"
    assert not member.has_usable_password()
    enrollment.refresh_from_db()
    assert enrollment.status == "withdrawn"
    # Private journal entries go; one shared with the facilitator is part of the record and stays.
    assert list(Reflection.objects.filter(member=member).values_list("body", flat=True)) == [
        "Shared with my facilitator"
    ]
    assert not CarePost.objects.filter(author=member).exists()
    assert AuditEvent.objects.filter(action="account.deleted", subject=member).count() == 1
    # Signed out everywhere, and the address can sign up again as a new person.
    assert other_device.get(reverse("profile")).status_code == 302
    assert not any(
        s.get_decoded().get("_auth_user_id") == str(member.pk) for s in Session.objects.all()
    )
    UserFactory(email=email)


def test_a_closed_account_leaves_its_address_name_and_sign_ins_in_no_table() -> None:
    """Read straight from every table after the account is closed: the address, the name and
    where they signed in from are gone, the invitation their partner sent to that address
    included. Clinical records stay, without them."""
    from django.apps import apps
    from django.contrib import admin
    from django.contrib.admin.models import LogEntry
    from django.db import connection
    from django.test import RequestFactory

    from circlecare.enrollment.models import PartnerInvite
    from circlecare.inquiries.models import Inquiry

    member = member_with_history()
    member.display_name = "Zebedee Quist"
    member.save(update_fields=["display_name"])
    address = member.email
    partner = UserFactory()
    PartnerInvite.objects.create(
        cohort=Enrollment.objects.get(member=member).cohort, inviter=partner, email=address,
        token_hash="z" * 64, status="accepted", accepted_by=member, expires_at=timezone.now(),
    )  # fmt: skip
    inquiry = Inquiry.objects.create(
        name="Zebedee Quist", email=address, state="NY", interest="therapy", message="Hello",
        source="test",
    )  # fmt: skip
    # A coordinator's changes in the admin are in its history, each naming what was changed.
    staff = UserFactory(is_staff=True, is_superuser=True)
    request = RequestFactory().post("/admin/")
    request.user = staff
    for obj in (member, Enrollment.objects.get(member=member), inquiry):
        admin.site._registry[type(obj)].log_change(request, obj, "Changed status.")
    # The member and their place by name; the inquiry by its number, never the name it gives.
    assert LogEntry.objects.filter(object_repr__icontains="zebedee").count() == 2
    browser = Client(REMOTE_ADDR="203.0.113.57")
    browser.post(reverse("account_login"), {"login": address, "password": PASSWORD})
    assert UserSession.objects.filter(user=member).exists()

    response = browser.post(reverse("delete_account"), {"password": PASSWORD, "confirm": "DELETE"})
    assert response.status_code == 200

    found = []
    with connection.cursor() as cursor:
        for model in apps.get_models():
            table = model._meta.db_table
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            raw = repr(cursor.fetchall()).lower()
            found += [
                f"{what} in {table}"
                for what in (address, "zebedee quist", "203.0.113.57")
                if what in raw
            ]
    assert found == []
    assert Assessment.objects.filter(member=member).count() == 1
    # The admin's history of those changes stays, naming the objects as they now read.
    cohort_id = Enrollment.objects.get(member=member).cohort_id
    inquiry.refresh_from_db()
    assert sorted(LogEntry.objects.values_list("object_repr", flat=True)) == sorted(
        ["Former member", f"Former member in {cohort_id} (withdrawn)", str(inquiry)]
    )
    assert str(inquiry).startswith(f"Inquiry {inquiry.pk} ")


def test_deleting_twice_at_once_closes_the_account_once_without_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ "Delete my account" pressed twice: the second press finds the place already given up
    and the account already closed, and says the account is closed, as the first did."""
    from circlecare.enrollment import services as enrollment_services

    member = member_with_history()
    first, second = Client(), Client()
    for browser in (first, second):
        browser.force_login(member)
    real_withdraw = enrollment_services.withdraw

    def the_other_press_first(**kwargs: object) -> Enrollment:
        # The first press runs to the end after the second has listed the places to give up.
        monkeypatch.setattr(enrollment_services, "withdraw", real_withdraw)
        form = {"password": PASSWORD, "confirm": "DELETE"}
        assert first.post(reverse("delete_account"), form).status_code == 200
        return real_withdraw(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(enrollment_services, "withdraw", the_other_press_first)
    response = second.post(reverse("delete_account"), {"password": PASSWORD, "confirm": "DELETE"})

    assert response.status_code == 200
    assert "Your account is closed" in response.content.decode()
    member.refresh_from_db()
    assert not member.is_active and member.display_name == "Former member"
    assert Enrollment.objects.get(member=member).status == "withdrawn"
    assert AuditEvent.objects.filter(action="account.deleted", subject=member).count() == 1


def test_a_group_busy_while_leaving_it_leaves_the_account_open_with_a_message(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Leaving a group waits a bounded time for its lock; when the wait runs out the member is
    asked to try again, not shown a server error, and the account is not closed."""
    from circlecare.enrollment import services as enrollment_services
    from circlecare.errors import Busy

    member = member_with_history()
    email = member.email

    def busy(**kwargs: object) -> Enrollment:
        raise Busy("This group is busy right now. Please try again in a moment.")

    monkeypatch.setattr(enrollment_services, "withdraw", busy)
    client.force_login(member)
    response = client.post(reverse("delete_account"), {"password": PASSWORD, "confirm": "DELETE"})

    assert response.status_code == 503
    said = html.unescape(response.content.decode())
    assert "Please try again in a moment. Your account has not been closed yet." in said
    member.refresh_from_db()
    assert member.is_active and member.email == email
    assert client.get(reverse("profile")).status_code == 200  # still signed in


def test_delete_forgets_where_and_on_what_they_signed_in() -> None:
    """Each sign-in's record (IP address, browser, when) goes with the account, on every device."""
    member = member_with_history()
    laptop, phone = Client(REMOTE_ADDR="203.0.113.7"), Client(REMOTE_ADDR="198.51.100.9")
    for device in (laptop, phone):
        device.post(reverse("account_login"), {"login": member.email, "password": PASSWORD})
    assert UserSession.objects.filter(user=member).count() == 2

    response = laptop.post(reverse("delete_account"), {"password": PASSWORD, "confirm": "DELETE"})
    assert response.status_code == 200
    assert not UserSession.objects.filter(user=member).exists()
    assert phone.get(reverse("profile")).status_code == 302


def test_delete_forgets_the_words_and_name_left_with_other_people(client: Client) -> None:
    """A taken-up post is closed and emptied, an open plan is called off, the thanks written go,
    and the agreements stay on record without the name typed to sign them."""
    member = member_with_history()
    helper = UserFactory()
    post = CarePost.objects.get(author=member)
    done = CareMatch.objects.create(
        post=post, cohort=post.cohort, responder=helper, giver=helper, receiver=member,
        status=MatchStatus.DONE, giver_done_at=timezone.now(), receiver_done_at=timezone.now(),
        done_at=timezone.now(), thanks="Thank you, it helped.", thanked_at=timezone.now(),
    )  # fmt: skip
    theirs = CarePost.objects.create(
        cohort=post.cohort, author=helper, kind="offer", support="walk", title="Walks"
    )
    planned = CareMatch.objects.create(
        post=theirs, cohort=post.cohort, responder=member, giver=helper, receiver=member
    )
    document = ConsentDocumentFactory()
    ConsentSignature.objects.create(
        member=member, document=document, signed_at=timezone.now(), signed_name="Casey Jones"
    )
    client.force_login(member)
    response = client.post(reverse("delete_account"), {"password": PASSWORD, "confirm": "DELETE"})
    assert response.status_code == 200

    post.refresh_from_db()
    assert post.status == PostStatus.CLOSED and post.title == "(removed)"
    done.refresh_from_db()
    assert done.status == MatchStatus.DONE and done.thanks == "" and done.thanked_at is None
    planned.refresh_from_db()
    assert planned.status == MatchStatus.CANCELLED and planned.cancelled_at is not None
    signature = ConsentSignature.objects.get(member=member)
    assert signature.document == document and signature.signed_name == ""
    theirs.refresh_from_db()
    assert theirs.status == PostStatus.OPEN  # the other person's post is theirs


def test_someone_still_leading_a_group_cannot_delete_their_account(client: Client) -> None:
    """A group's members must not be left with a clinician who is gone: a coordinator hands the
    group over first. Nothing changes on the refusal; a finished group does not stand in the way."""
    lead = LicenseFactory().clinician.user
    running = CohortFactory(lead=lead, name="Thursday group")
    co_led = CohortFactory(co_facilitator=lead, name="Monday group")
    CohortFactory(lead=lead, status=CohortStatus.FINISHED, name="Last spring")
    client.force_login(lead)
    page = client.get(reverse("delete_account")).content.decode()
    assert "Thursday group" in page and "Monday group" in page and "Last spring" not in page
    assert 'name="confirm"' not in page  # no form to fill in for nothing
    response = client.post(reverse("delete_account"), {"password": PASSWORD, "confirm": "DELETE"})
    assert response.status_code == 400
    assert "coordinators" in response.content.decode()
    lead.refresh_from_db()
    assert lead.is_active and lead.email.endswith("@example.org")
    with pytest.raises(StillLeading):
        delete_account(member=lead)

    running.status = CohortStatus.FINISHED
    running.save()
    co_led.status = CohortStatus.CANCELLED
    co_led.save()
    response = client.post(reverse("delete_account"), {"password": PASSWORD, "confirm": "DELETE"})
    assert response.status_code == 200
    lead.refresh_from_db()
    assert not lead.is_active


def test_a_name_too_long_is_told_the_one_limit_that_applies(client: Client) -> None:
    """The field takes as many characters as a name may have (40): it once took 80 and said
    "at most 80" to a name of 81, then refused any name of 41 to 80 as over 40."""
    member = UserFactory(display_name="Sam")
    client.force_login(member)
    page = client.get(reverse("profile")).content.decode()
    assert 'maxlength="40"' in page
    for name in ("x" * 60, "y" * 81):
        response = client.post(
            reverse("profile"), {**profile_form(member, "NY"), "display_name": name}
        )
        said = html.unescape(response.content.decode())
        assert response.status_code == 400
        assert "Please keep your name to 40 characters or fewer." in said
        assert "at most 80" not in said
    member.refresh_from_db()
    assert member.display_name == "Sam"


def test_display_name_can_be_changed(client: Client) -> None:
    member = UserFactory(display_name="Sam")
    client.force_login(member)
    response = client.post(
        reverse("profile"),
        {"display_name": "Sammy", "home_state": "NY", "time_zone": "America/New_York", "language": "en",
         "email_reminders": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.display_name == "Sammy" and member.care_nudges is False


def test_moving_away_from_a_therapy_groups_states_is_explained_and_keeps_the_place(
    client: Client,
) -> None:
    from circlecare.programs.models import ProgramKind
    from tests.factories import ProgramFactory

    lead = LicenseFactory(state="NY").clinician.user
    cohort = CohortFactory(
        lead=lead, name="Tuesday", program=ProgramFactory(kind=ProgramKind.THERAPY, title="Closer")
    )
    enrollment = EnrollmentFactory(cohort=cohort, member=UserFactory(home_state="NY"))
    member = enrollment.member
    client.force_login(member)
    stay = client.post(reverse("profile"), profile_form(member, "NY"), follow=True)
    assert "can include only people living in" not in stay.content.decode()
    moved = client.post(reverse("profile"), profile_form(member, "OH"), follow=True)
    page = moved.content.decode()
    assert "Closer — Tuesday can include only people living in New York" in page
    assert "you now live in Ohio" in page
    enrollment.refresh_from_db()
    assert enrollment.status == "confirmed"


@pytest.mark.parametrize(
    ("status", "said", "not_said"),
    [
        (
            "waitlisted",
            "a seat can't be offered to you while you live there",
            "before each meeting you confirm where you are",
        ),
        (
            "offered",
            "The seat offered to you in it can't be accepted while you live there.",
            "Your place is kept for now",
        ),
    ],
)
def test_moving_away_from_a_therapy_place_without_a_seat_says_what_it_means(
    client: Client, status: str, said: str, not_said: str
) -> None:
    """On the waiting list, no seat is offered meanwhile; a seat offered can't be accepted."""
    from circlecare.programs.models import ProgramKind

    lead = LicenseFactory(state="NY").clinician.user
    cohort = CohortFactory(lead=lead, program__kind=ProgramKind.THERAPY)
    enrollment = EnrollmentFactory(
        cohort=cohort,
        member=UserFactory(home_state="NY"),
        status=status,
        confirmed_at=None,
        offer_expires_at=timezone.now() + timedelta(days=1) if status == "offered" else None,
    )
    member = enrollment.member
    client.force_login(member)
    moved = client.post(reverse("profile"), profile_form(member, "OH"), follow=True)
    page = html.unescape(moved.content.decode())
    assert said in page and not_said not in page
    enrollment.refresh_from_db()
    assert enrollment.status == status


def test_my_data_page_says_statuses_in_words_and_the_download_keeps_codes(
    client: Client,
) -> None:
    """The page reads as the rest of the site does ("On the waiting list", "Called off"), not
    as database codes; the download keeps the codes that programs read."""
    from circlecare.enrollment.models import EnrollmentStatus, PartnerInvite
    from circlecare.meetings import services as meetings
    from circlecare.meetings.models import Attendance, Meeting

    member = member_with_history()
    enrollment = Enrollment.objects.get(member=member)
    enrollment.status = EnrollmentStatus.WAITLISTED
    enrollment.save(update_fields=["status"])
    meetings.create_meetings(cohort=enrollment.cohort, actor=None)
    meeting = Meeting.objects.filter(cohort=enrollment.cohort).first()
    Attendance.objects.create(meeting=meeting, member=member, status="excused", at=timezone.now())
    post = CarePost.objects.get(author=member)
    helper = UserFactory()
    CareMatch.objects.create(
        post=post, cohort=post.cohort, responder=helper, giver=helper, receiver=member,
        status=MatchStatus.CANCELLED, cancelled_at=timezone.now(),
    )  # fmt: skip
    PartnerInvite.objects.create(
        cohort=enrollment.cohort, inviter=member, email="partner@example.org",
        token_hash="y" * 64, status="pending", expires_at=timezone.now(),
    )  # fmt: skip
    client.force_login(member)
    page = client.get(reverse("my_data")).content.decode()
    assert "— On the waiting list</li>" in page
    assert "— Excused</li>" in page
    assert "Request: A walk? (Open)" in page
    assert "(Called off)" in page
    assert "— Waiting for your partner</li>" in page
    place = member.time_zone.split("/", 1)[1].replace("_", " ")
    assert f"<dd>{place} (" in page and f"<dd>{member.time_zone}</dd>" not in page
    for code in ("— waitlisted", "— excused", "(open)", "(cancelled)", "— pending"):
        assert code not in page
    data = client.get(reverse("my_data"), {"format": "json"}).json()
    assert data["groups"][0]["status"] == "waitlisted"
    assert data["attendance"][0]["status"] == "excused"
    assert data["care_matches"][0]["status"] == "cancelled"
    assert data["partner_invitations_sent"][0]["status"] == "pending"


def test_every_record_linked_to_an_account_is_in_the_download_or_explained() -> None:
    """A new model pointing at the user fails here until its place in the download is decided;
    so does one reaching the member through a record the download holds (a reply to a care
    post, a note on an answer), which names no user itself."""
    from django.apps import apps

    from circlecare.accounts.data_rights import IN_DOWNLOAD, NOT_IN_DOWNLOAD

    held = {apps.get_model(settings.AUTH_USER_MODEL)} | {
        apps.get_model(link.rsplit(".", 1)[0]) for link in IN_DOWNLOAD
    }
    links = {
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if field.is_relation and not field.auto_created and field.related_model in held
    }
    assert "care.CareMatch.post" in links and "account.EmailConfirmation.email_address" in links
    assert not set(IN_DOWNLOAD) & set(NOT_IN_DOWNLOAD)
    assert links - set(IN_DOWNLOAD) - set(NOT_IN_DOWNLOAD) == set(), "not placed in the download"
    assert set(IN_DOWNLOAD) | set(NOT_IN_DOWNLOAD) == links, "placed, but no longer a link"


def test_the_download_and_the_page_hold_every_kind_of_record_about_the_member(
    client: Client,
) -> None:
    from circlecare.accounts.data_rights import IN_DOWNLOAD
    from circlecare.accounts.tokens import create_token
    from circlecare.care.models import CareReport, MemberBlock, NudgeSent
    from circlecare.enrollment.models import PartnerInvite
    from circlecare.measures.models import RiskAlert
    from circlecare.meetings.live.models import RoomPresence, RoomRemoval
    from circlecare.meetings.models import (
        Attendance,
        CalendarFeed,
        LocationAttestation,
        ReminderSent,
    )
    from tests.meetings.factories import meeting_at
    from tests.mfa import enable_totp

    member = member_with_history()
    now = timezone.now()
    enrollment = Enrollment.objects.get(member=member)
    cohort, other = enrollment.cohort, UserFactory(display_name="Robin")
    meeting = meeting_at(cohort, now)
    ConsentSignature.objects.create(
        member=member, document=ConsentDocumentFactory(), signed_at=now, signed_name="Sam"
    )
    PartnerInvite.objects.create(
        cohort=cohort, inviter=member, email="partner@example.org", token_hash="x" * 64,
        status="pending", expires_at=now,
    )  # fmt: skip
    Attendance.objects.create(meeting=meeting, member=member, status="attended", at=now)
    LocationAttestation.objects.create(
        meeting=meeting, member=member, state="NY", at=now, allowed=True
    )
    ReminderSent.objects.create(member=member, meeting=meeting, kind="day", sent_at=now)
    NudgeSent.objects.create(member=member, week="2026-W47", suggested=other, cohort=cohort)
    CalendarFeed.objects.create(member=member, token_hash="y" * 64)
    RoomPresence.objects.create(meeting=meeting, user=member, joined_at=now, last_seen_at=now)
    RoomRemoval.objects.create(
        meeting=meeting, user=member, removed_by=cohort.lead, reason="Facilitator's reason"
    )
    RiskAlert.objects.create(
        assessment=Assessment.objects.get(member=member), member=member, cohort=cohort,
        assignee=cohort.lead, raised_at=now,
    )  # fmt: skip
    theirs = CarePost.objects.create(
        cohort=cohort, author=other, kind="offer", support="walk", title="Walks"
    )
    CareMatch.objects.create(
        post=theirs, cohort=cohort, responder=member, giver=other, receiver=member
    )
    CareReport.objects.create(post=theirs, reporter=member, reason="It felt like a sales pitch")
    MemberBlock.objects.create(blocker=member, blocked=other, kind="mute")
    create_token(
        user=member, name="My scripts", scopes=["read"], lifetime=timedelta(days=30),
        mfa_verified=False,
    )  # fmt: skip
    Client(REMOTE_ADDR="203.0.113.7").post(
        reverse("account_login"), {"login": member.email, "password": PASSWORD}
    )
    enable_totp(member)

    client.force_login(member)
    data = client.get(reverse("my_data"), {"format": "json"}).json()
    empty = sorted(section for section in set(IN_DOWNLOAD.values()) if not data.get(section))
    assert empty == []
    assert data["care_reports_made"][0]["reason"] == "It felt like a sales pitch"
    assert data["sign_ins"][0]["ip_address"] == "203.0.113.7"
    assert data["second_factor"][0]["kind"] == "TOTP Authenticator"
    assert "Facilitator's reason" not in json.dumps(data)  # given through the practice
    assert not any(secret in json.dumps(data) for secret in ("x" * 64, "y" * 64))

    page = client.get(reverse("my_data")).content.decode()
    # Care plans are listed with the care posts.
    headings = {IN_DOWNLOAD[link] for link in IN_DOWNLOAD} - {"profile", "care_matches"}
    missing = sorted(s for s in headings if f'id="{s}-h"' not in page)
    assert missing == []
    assert "It felt like a sales pitch" in page and "203.0.113.7" in page
    assert "Robin: muted since" in page


def test_delete_takes_back_goodbyes_left_for_a_group_and_the_words_of_reports(
    client: Client,
) -> None:
    from circlecare.care.models import CareReport
    from circlecare.enrollment.services import withdraw

    member = member_with_history()
    left = EnrollmentFactory(member=member, cohort=CohortFactory(name="Thursday mornings"))
    stayer = EnrollmentFactory(cohort=left.cohort).member
    withdraw(enrollment=left, actor=member, goodbye="Thank you all, I am moving away.")
    theirs = CarePost.objects.create(
        cohort=left.cohort, author=stayer, kind="offer", support="walk", title="Walks"
    )
    report = CareReport.objects.create(post=theirs, reporter=member, reason="It names my neighbour")
    seen_by_stayer = Client()
    seen_by_stayer.force_login(stayer)
    assert (
        "I am moving away" in seen_by_stayer.get(reverse("enrollment:my_groups")).content.decode()
    )

    client.force_login(member)
    response = client.post(reverse("delete_account"), {"password": PASSWORD, "confirm": "DELETE"})
    assert response.status_code == 200

    assert (
        "I am moving away"
        not in seen_by_stayer.get(reverse("enrollment:my_groups")).content.decode()
    )
    left.refresh_from_db()
    assert left.goodbye == "" and left.status == "withdrawn"
    report.refresh_from_db()
    assert report.reason == "(removed)" and report.post == theirs  # the report itself stays


def test_the_download_names_a_group_without_a_name_by_its_programme(client: Client) -> None:
    from circlecare.meetings.live.models import RoomPresence
    from circlecare.meetings.models import Attendance
    from tests.meetings.factories import meeting_at

    member = UserFactory()
    cohort = CohortFactory(name="")
    EnrollmentFactory(cohort=cohort, member=member)
    meeting = meeting_at(cohort, timezone.now())
    Attendance.objects.create(
        meeting=meeting, member=member, status="attended", at=meeting.starts_at
    )
    RoomPresence.objects.create(
        meeting=meeting, user=member, joined_at=meeting.starts_at, last_seen_at=meeting.starts_at
    )
    client.force_login(member)
    data = client.get(reverse("my_data"), {"format": "json"}).json()
    title = cohort.program.title
    assert [g["group"] for g in data["groups"]] == [title]
    assert data["attendance"][0]["group"] == title and data["live_room_stays"][0]["group"] == title


def test_delete_keeps_another_members_report_of_the_members_post_for_the_facilitators(
    client: Client,
) -> None:
    """The post's words go with the account; the report of it, and why, stay with the circle's
    facilitators: a worry about someone who has just left may matter most now."""
    from circlecare.care.models import CareReport, PostStatus

    member = member_with_history()
    cohort = CohortFactory(name="Thursday mornings")
    EnrollmentFactory(member=member, cohort=cohort)
    other = EnrollmentFactory(cohort=cohort).member
    reported = CarePost.objects.create(
        cohort=cohort, author=member, kind="request", support="other", title="I can't go on"
    )
    untouched = CarePost.objects.create(
        cohort=cohort, author=member, kind="offer", support="walk", title="Walks by the river"
    )
    report = CareReport.objects.create(
        post=reported, reporter=other, reason="They sound unsafe; please check on them"
    )

    client.force_login(member)
    response = client.post(reverse("delete_account"), {"password": PASSWORD, "confirm": "DELETE"})
    assert response.status_code == 200

    assert not CarePost.objects.filter(pk=untouched.pk).exists()
    report.refresh_from_db()
    assert report.reason == "They sound unsafe; please check on them"
    reported.refresh_from_db()
    assert (reported.title, reported.details, reported.status) == (
        "(removed)",
        "",
        PostStatus.CLOSED,
    )
    lead = Client()
    lead.force_login(cohort.lead)
    page = lead.get(reverse("care:facilitate", args=[cohort.pk])).content.decode()
    assert "They sound unsafe; please check on them" in page and "I can&#x27;t go on" not in page
