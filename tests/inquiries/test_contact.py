"""The 'tell me about upcoming groups' form: valid, invalid, honeypot, rate limit, injection."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from circlecare.crypto import is_encrypted, lookup_digest
from circlecare.inquiries.models import Inquiry
from tests.clinic.test_encryption_migrations import raw
from tests.factories import InquiryFactory, UserFactory

pytestmark = pytest.mark.django_db

VALID = {
    "name": "Sam Taylor",
    "email": "Sam@Example.org",
    "state": "NJ",
    "interest": "care_circle",
    "message": "Is there an evening circle starting soon?",
}


def post(client: Client, **changes: Any) -> Any:
    return client.post(reverse("inquiries:contact"), {**VALID, **changes})


def test_valid_inquiry_is_stored_and_confirmed(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(client)
    assert response.status_code == 302
    inquiry = Inquiry.objects.get()
    assert (inquiry.email, inquiry.status, inquiry.state) == ("sam@example.org", "new", "NJ")
    assert "127.0.0.1" not in inquiry.source  # a keyed hash, not the address
    assert len(callbacks) == 1
    page = client.get(response["Location"]).content.decode()
    assert "we've got your message" in page


def test_who_wrote_is_stored_encrypted_and_found_by_a_keyed_digest_of_the_address(
    client: Client,
) -> None:
    """SECURITY.md D1: the name and address a visitor gives are not in the clear in the table.
    What is kept to find their messages by address is a keyed digest, not a hash anyone could
    recompute from a guessed address, and it follows a change of address."""
    post(client, name="Sam Taylor", email="Sam@Example.org")
    inquiry = Inquiry.objects.get()
    for field, text in (("name", "Sam Taylor"), ("email", "sam@example.org")):
        stored = raw(inquiry, field)
        assert text not in stored.lower() and is_encrypted(stored)
    assert (inquiry.name, inquiry.email) == ("Sam Taylor", "sam@example.org")

    digest = raw(inquiry, "email_digest")
    assert digest == lookup_digest("sam@example.org") == lookup_digest(" SAM@example.ORG ")
    assert digest != hashlib.sha256(b"sam@example.org").hexdigest()
    assert digest != lookup_digest("someone@example.org")

    inquiry.email = "sam.t@example.org"
    inquiry.save(update_fields=["email"])
    assert raw(inquiry, "email_digest") == lookup_digest("sam.t@example.org")


def test_the_inbox_shows_who_wrote_and_finds_messages_by_their_exact_address(
    admin_client: Client,
) -> None:
    InquiryFactory(name="Sam Taylor", email="sam@example.org")
    InquiryFactory(name="Alex Kim", email="alex@example.org")
    url = reverse("admin:inquiries_inquiry_changelist")
    inbox = admin_client.get(url).content.decode()
    assert "Sam Taylor" in inbox and "alex@example.org" in inbox

    found = admin_client.get(url, {"q": " Sam@Example.org "}).content.decode()
    assert "Sam Taylor" in found and "Alex Kim" not in found
    assert "type it in full" in found  # says how the search works
    # Part of a name or an address finds nothing: the database cannot read them.
    for partial in ("Sam", "example.org", "sam@example"):
        page = admin_client.get(url, {"q": partial})
        assert page.status_code == 200
        assert "Sam Taylor" not in page.content.decode()


def test_the_form_says_whom_to_call_in_a_crisis_in_the_us_and_abroad(client: Client) -> None:
    body = client.get(reverse("inquiries:contact")).content.decode()
    # The form's own notice, not the page's footer, which says the same.
    notice = body.split("This form isn't watched around the clock.")[1].split("</p>")[0]
    assert 'href="tel:988"' in notice and 'href="tel:911"' in notice
    assert "or your local emergency number outside the US." in notice


@pytest.mark.django_db(transaction=True)
def test_coordinators_get_an_email_without_the_message(
    client: Client, run_worker: Callable[[], None]
) -> None:
    UserFactory(email="coord@example.org", is_staff=True)
    post(client, message="I have been feeling very low and secretive detail")
    assert mail.outbox == []  # sent by the worker, after commit, not in the request
    run_worker()
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["coord@example.org"]
    assert "secretive detail" not in sent.body and "Sam" not in sent.body
    assert "/admin/inquiries/inquiry/" in sent.body


@pytest.mark.parametrize(
    ("changes", "field", "field_message"),
    [
        ({"name": ""}, "name", "Please tell us your name."),
        ({"name": "x" * 101}, "name", "at most 100 characters"),
        ({"email": "s" * 243 + "@example.org"}, "email", "at most 254 characters"),
        ({"email": "not an email"}, "email", "Please check the e-mail address"),
        ({"state": "ZZ"}, "state", "Select a valid choice"),
        ({"interest": "surgery"}, "interest", "Select a valid choice"),
        ({"message": "x" * 5001}, "message", "5000"),
        ({"name": "Sam\r\nBcc: victim@example.org"}, "name", "line-break"),
        # Header injection through the address: refused as no address at all, by the field.
        (
            {"email": "sam@example.org\r\nBcc: victim@example.org"},
            "email",
            "Please check the e-mail address: it should look like name@example.org.",
        ),
        (
            {"email": "sam@example.org\nBcc: victim@example.org"},
            "email",
            "Please check the e-mail address: it should look like name@example.org.",
        ),
    ],
)
def test_bad_input_gets_a_message_and_stores_nothing(
    client: Client,
    django_capture_on_commit_callbacks: Any,
    changes: dict[str, str],
    field: str,
    field_message: str,
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(client, **changes)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert field_message in " ".join(errors[field])
    assert escape(errors[field][0]) in response.content.decode()
    assert Inquiry.objects.count() == 0
    assert callbacks == [] and mail.outbox == []


def test_exactly_5000_characters_is_accepted(client: Client) -> None:
    assert post(client, message="y" * 5000).status_code == 302


def test_honeypot_looks_like_success_but_stores_nothing(client: Client) -> None:
    response = post(client, website="http://spam.example")
    assert response.status_code == 302
    assert Inquiry.objects.count() == 0


def test_rate_limit_five_per_hour_per_address(client: Client) -> None:
    for _ in range(5):
        assert post(client).status_code == 302
    response = post(client)
    assert response.status_code == 429
    assert "Please wait a little" in response.content.decode()
    assert Inquiry.objects.count() == 5
    # Another address is not affected.
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert post(other).status_code == 302


def test_stored_xss_is_escaped_in_the_coordinator_inbox(
    client: Client, admin_client: Client
) -> None:
    post(client, name="<script>alert(1)</script>", message="<img src=x onerror=alert(2)>")
    inquiry = Inquiry.objects.get()
    list_page = admin_client.get(reverse("admin:inquiries_inquiry_changelist")).content.decode()
    detail = admin_client.get(
        reverse("admin:inquiries_inquiry_change", args=[inquiry.pk])
    ).content.decode()
    for body in (list_page, detail):
        assert "<script>alert(1)</script>" not in body
        assert "<img src=x" not in body
    assert "&lt;script&gt;" in detail


def test_the_inbox_sorts_by_what_the_database_can_compare(admin_client: Client) -> None:
    """Names and addresses are stored encrypted: sorting by them would sort ciphertext, in an
    order that means nothing. Their column headings are not links to sort by."""
    InquiryFactory(name="Avery", email="avery@example.org")
    InquiryFactory(name="Blake", email="blake@example.org")
    url = reverse("admin:inquiries_inquiry_changelist")
    page = admin_client.get(url).content.decode()
    assert "Avery" in page and "Blake" in page
    sortable = set(re.findall(r'<th scope="col" class="sortable[^"]*column-(\w+)', page))
    assert {"created_at", "status"} <= sortable
    assert not {"name", "email"} & sortable
    # Asked to sort by them anyway (an address typed in by hand): the list is shown as usual.
    assert admin_client.get(url, {"o": "2"}).status_code == 200


def test_coordinator_marks_an_inquiry_contacted(admin_client: Client) -> None:
    inquiry = InquiryFactory()
    response = admin_client.post(
        reverse("admin:inquiries_inquiry_changelist"),
        {"action": "mark_contacted", "_selected_action": [inquiry.pk]},
    )
    assert response.status_code == 302
    inquiry.refresh_from_db()
    assert inquiry.status == "contacted"


def test_answering_in_the_inbox_records_who_handled_it_and_an_audit_event(
    admin_client: Client, admin_user: Any
) -> None:
    from circlecare.audit.models import AuditEvent
    from tests.factories import InquiryFactory

    inquiry = InquiryFactory()
    response = admin_client.post(
        reverse("admin:inquiries_inquiry_change", args=[inquiry.pk]),
        {"status": "closed", "coordinator_notes": "Called back; joining in spring"},
    )
    assert response.status_code == 302
    inquiry.refresh_from_db()
    assert (inquiry.status, inquiry.handled_by) == ("closed", admin_user)
    event = AuditEvent.objects.get(action="inquiry.changed")
    assert (event.actor, event.target_id) == (admin_user, str(inquiry.pk))
    assert event.data == {"status": "closed", "changed": ["status", "coordinator_notes"]}
    assert "spring" not in str(event.data)


def test_saving_the_inbox_form_unchanged_records_nothing(admin_client: Client) -> None:
    from circlecare.audit.models import AuditEvent
    from tests.factories import InquiryFactory

    inquiry = InquiryFactory()
    admin_client.post(
        reverse("admin:inquiries_inquiry_change", args=[inquiry.pk]),
        {"status": "new", "coordinator_notes": ""},
    )
    inquiry.refresh_from_db()
    assert inquiry.handled_by is None
    assert not AuditEvent.objects.filter(action="inquiry.changed").exists()


def test_the_thanks_page_says_a_message_arrived_only_to_someone_who_sent_one(
    client: Client,
) -> None:
    thanks = reverse("inquiries:thanks")
    unsent = client.get(thanks).content.decode()
    assert "got your message" not in unsent
    assert reverse("inquiries:contact") in unsent
    response = post(client)
    assert response.status_code == 302
    for _ in range(2):  # and again on a reload
        assert "got your message" in client.get(thanks).content.decode()
