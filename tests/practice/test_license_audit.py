"""A clinician's licences and compact privileges decide who may join their therapy groups: every
way the admin adds, changes or deletes one writes an audit event naming who did it, whose licence
it is and what changed, without copying licence numbers or privilege identifiers."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from circlecare.accounts.models import User
from circlecare.audit.models import AuditAction, AuditEvent
from circlecare.practice.models import Clinician, CompactPrivilege, License
from tests.factories import (
    ClinicianFactory,
    CompactPrivilegeFactory,
    LicenseFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def admin_client(*, superuser: bool = False) -> tuple[Client, User]:
    """A coordinator (adds and changes licences) or a superuser (may also delete them)."""
    staff = UserFactory(is_staff=True, is_superuser=superuser)
    client = Client()
    client.force_login(staff)
    return client, staff


def events(action: AuditAction) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def assert_no_secrets(event: AuditEvent, *secrets: str) -> None:
    stored = json.dumps(event.data)
    for secret in secrets:
        assert secret not in stored


def license_form(clinician: Clinician, **overrides: str) -> dict[str, Any]:
    return {
        "clinician": clinician.pk,
        "state": "NY",
        "kind": "LCSW",
        "number": "NY-SECRET-1",
        "valid_from": "2025-01-01",
        "valid_to": "2027-06-30",
        **overrides,
    }


def privilege_form(lic: License, **overrides: str) -> dict[str, Any]:
    return {
        "clinician": lic.clinician_id,
        "compact": "COUNSELING",
        "state": "PA",
        "home_license": lic.pk,
        "identifier": "APIT-SECRET-9",
        "valid_from": "2025-01-01",
        "valid_to": "2027-06-30",
        **overrides,
    }


# The licence's own pages


def test_adding_a_licence_records_who_whose_and_what() -> None:
    clinician = ClinicianFactory()
    client, coordinator = admin_client()
    response = client.post(reverse("admin:practice_license_add"), license_form(clinician))
    assert response.status_code == 302, response.content.decode()[:2000]
    lic = License.objects.get(clinician=clinician)
    [event] = events(AuditAction.LICENSE_CREATED)
    assert (event.actor, event.subject) == (coordinator, clinician.user)
    assert (event.target_type, event.target_id) == ("practice.license", str(lic.pk))
    assert event.data == {
        "clinician": clinician.pk,
        "state": "NY",
        "kind": "LCSW",
        "valid_from": "2025-01-01",
        "valid_to": "2027-06-30",
    }
    assert_no_secrets(event, "NY-SECRET-1")


def test_a_refused_licence_records_nothing() -> None:
    clinician = ClinicianFactory()
    client, _ = admin_client()
    response = client.post(
        reverse("admin:practice_license_add"),
        license_form(clinician, valid_from="2027-01-01", valid_to="2025-01-01"),
    )
    assert response.status_code == 200
    assert not License.objects.exists()
    assert not AuditEvent.objects.exists()


def test_changing_a_licence_records_before_and_after() -> None:
    lic = LicenseFactory(state="NY", number="OLD-SECRET", valid_to=date(2026, 12, 31))
    client, coordinator = admin_client()
    response = client.post(
        reverse("admin:practice_license_change", args=[lic.pk]),
        license_form(
            lic.clinician,
            number="NEW-SECRET",
            valid_from=lic.valid_from.isoformat(),
            valid_to="2028-12-31",
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    [event] = events(AuditAction.LICENSE_CHANGED)
    assert (event.actor, event.subject) == (coordinator, lic.clinician.user)
    assert event.data["changed"] == {"valid_to": ["2026-12-31", "2028-12-31"]}
    assert event.data["also_changed"] == ["number"]
    assert event.data["state"] == "NY" and event.data["valid_to"] == "2028-12-31"
    assert_no_secrets(event, "OLD-SECRET", "NEW-SECRET")


def test_saving_a_licence_unchanged_records_nothing() -> None:
    lic = LicenseFactory()
    client, _ = admin_client()
    response = client.post(
        reverse("admin:practice_license_change", args=[lic.pk]),
        license_form(
            lic.clinician,
            state=lic.state,
            kind=lic.kind,
            number=lic.number,
            valid_from=lic.valid_from.isoformat(),
            valid_to=lic.valid_to.isoformat(),
        ),
    )
    assert response.status_code == 302
    assert not AuditEvent.objects.exists()


def test_deleting_a_licence_records_it_and_the_privileges_it_backs() -> None:
    privilege = CompactPrivilegeFactory(identifier="APIT-SECRET-9")
    lic = privilege.home_license
    client, admin = admin_client(superuser=True)
    response = client.post(reverse("admin:practice_license_delete", args=[lic.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not License.objects.exists() and not CompactPrivilege.objects.exists()
    [gone] = events(AuditAction.LICENSE_DELETED)
    assert (gone.actor, gone.subject, gone.target_id) == (admin, lic.clinician.user, str(lic.pk))
    assert gone.data["state"] == lic.state and gone.data["valid_to"] == lic.valid_to.isoformat()
    [went_with_it] = events(AuditAction.PRIVILEGE_DELETED)
    assert went_with_it.target_id == str(privilege.pk)
    assert went_with_it.data["with_license"] == lic.pk
    assert_no_secrets(gone, lic.number)
    assert_no_secrets(went_with_it, "APIT-SECRET-9", lic.number)


def test_deleting_licences_from_the_list_records_each() -> None:
    first, second = LicenseFactory(), LicenseFactory()
    client, admin = admin_client(superuser=True)
    response = client.post(
        reverse("admin:practice_license_changelist"),
        {"action": "delete_selected", "_selected_action": [first.pk, second.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not License.objects.exists()
    assert [(e.target_id, e.actor) for e in events(AuditAction.LICENSE_DELETED)] == [
        (str(first.pk), admin),
        (str(second.pk), admin),
    ]


# The privilege's own pages


def test_adding_changing_and_deleting_a_privilege_is_recorded() -> None:
    lic = LicenseFactory()
    client, admin = admin_client(superuser=True)
    added = client.post(reverse("admin:practice_compactprivilege_add"), privilege_form(lic))
    assert added.status_code == 302, added.content.decode()[:2000]
    privilege = CompactPrivilege.objects.get()
    [created] = events(AuditAction.PRIVILEGE_CREATED)
    assert (created.actor, created.subject) == (admin, lic.clinician.user)
    assert created.data == {
        "clinician": lic.clinician_id,
        "compact": "COUNSELING",
        "state": "PA",
        "home_license": lic.pk,
        "valid_from": "2025-01-01",
        "valid_to": "2027-06-30",
    }

    changed = client.post(
        reverse("admin:practice_compactprivilege_change", args=[privilege.pk]),
        privilege_form(lic, state="DE", identifier="APIT-SECRET-10"),
    )
    assert changed.status_code == 302, changed.content.decode()[:2000]
    [change] = events(AuditAction.PRIVILEGE_CHANGED)
    assert change.data["changed"] == {"state": ["PA", "DE"]}
    assert change.data["also_changed"] == ["identifier"]

    deleted = client.post(
        reverse("admin:practice_compactprivilege_delete", args=[privilege.pk]), {"post": "yes"}
    )
    assert deleted.status_code == 302
    assert not CompactPrivilege.objects.exists() and License.objects.filter(pk=lic.pk).exists()
    [gone] = events(AuditAction.PRIVILEGE_DELETED)
    assert (gone.actor, gone.target_id, gone.data["state"]) == (admin, str(privilege.pk), "DE")
    for event in (created, change, gone):
        assert_no_secrets(event, "APIT-SECRET-9", "APIT-SECRET-10")


def test_deleting_privileges_from_the_list_records_each() -> None:
    first, second = CompactPrivilegeFactory(), CompactPrivilegeFactory()
    client, _ = admin_client(superuser=True)
    response = client.post(
        reverse("admin:practice_compactprivilege_changelist"),
        {"action": "delete_selected", "_selected_action": [first.pk, second.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert [e.target_id for e in events(AuditAction.PRIVILEGE_DELETED)] == [
        str(first.pk),
        str(second.pk),
    ]


# The rows on a clinician's page


def clinician_form(
    clinician: Clinician,
    licenses: list[dict[str, Any]],
    privileges: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The clinician's change form with its two sets of rows; a row with ``id`` is an existing one."""
    data: dict[str, Any] = {
        "user": clinician.user_id,
        "credentials": clinician.credentials,
        "bio": clinician.bio,
    }
    for prefix, rows in (("licenses", licenses), ("privileges", privileges or [])):
        data[f"{prefix}-TOTAL_FORMS"] = str(len(rows))
        data[f"{prefix}-INITIAL_FORMS"] = str(sum(1 for row in rows if row.get("id")))
        data[f"{prefix}-MIN_NUM_FORMS"] = "0"
        data[f"{prefix}-MAX_NUM_FORMS"] = "1000"
        for index, row in enumerate(rows):
            for key, value in {"clinician": clinician.pk, **row}.items():
                data[f"{prefix}-{index}-{key}"] = value
    return data


def license_row(lic: License, **overrides: Any) -> dict[str, Any]:
    return {
        "id": lic.pk,
        "state": lic.state,
        "kind": lic.kind,
        "number": lic.number,
        "valid_from": lic.valid_from.isoformat(),
        "valid_to": lic.valid_to.isoformat(),
        **overrides,
    }


def test_licence_rows_on_the_clinicians_page_are_recorded() -> None:
    kept = LicenseFactory(state="NY", valid_to=date(2026, 12, 31))
    clinician = kept.clinician
    dropped = LicenseFactory(clinician=clinician, state="FL")
    client, admin = admin_client(superuser=True)
    new_row = {
        "state": "NJ",
        "kind": "LCSW",
        "number": "NJ-SECRET-2",
        "valid_from": "2025-01-01",
        "valid_to": "2027-06-30",
    }
    response = client.post(
        reverse("admin:practice_clinician_change", args=[clinician.pk]),
        clinician_form(
            clinician,
            [
                license_row(kept, valid_to="2029-12-31"),
                license_row(dropped, DELETE="on"),
                new_row,
            ],
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert set(clinician.licenses.values_list("state", flat=True)) == {"NY", "NJ"}

    [created] = events(AuditAction.LICENSE_CREATED)
    [changed] = events(AuditAction.LICENSE_CHANGED)
    [deleted] = events(AuditAction.LICENSE_DELETED)
    for event in (created, changed, deleted):
        assert (event.actor, event.subject) == (admin, clinician.user)
        assert_no_secrets(event, "NJ-SECRET-2", kept.number, dropped.number)
    assert created.data["state"] == "NJ"
    assert changed.target_id == str(kept.pk)
    assert changed.data["changed"] == {"valid_to": ["2026-12-31", "2029-12-31"]}
    assert deleted.target_id == str(dropped.pk) and deleted.data["state"] == "FL"


def test_privilege_rows_on_the_clinicians_page_are_recorded() -> None:
    lic = LicenseFactory()
    clinician = lic.clinician
    old = CompactPrivilegeFactory(clinician=clinician, home_license=lic, state="DE")
    client, admin = admin_client(superuser=True)
    response = client.post(
        reverse("admin:practice_clinician_change", args=[clinician.pk]),
        clinician_form(
            clinician,
            [license_row(lic)],
            [
                {
                    "id": old.pk,
                    "compact": old.compact,
                    "state": old.state,
                    "home_license": lic.pk,
                    "identifier": "",
                    "valid_from": old.valid_from.isoformat(),
                    "valid_to": old.valid_to.isoformat(),
                    "DELETE": "on",
                },
                {
                    "compact": "PSYPACT",
                    "state": "PA",
                    "home_license": lic.pk,
                    "identifier": "APIT-SECRET-9",
                    "valid_from": "2025-01-01",
                    "valid_to": "2027-06-30",
                },
            ],
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(clinician.privileges.values_list("state", flat=True)) == ["PA"]
    [created] = events(AuditAction.PRIVILEGE_CREATED)
    [deleted] = events(AuditAction.PRIVILEGE_DELETED)
    assert (created.actor, created.subject, created.data["state"]) == (admin, clinician.user, "PA")
    assert (deleted.actor, deleted.target_id, deleted.data["state"]) == (admin, str(old.pk), "DE")
    assert_no_secrets(created, "APIT-SECRET-9")
    assert not events(AuditAction.LICENSE_CHANGED)  # the licence row was saved unchanged


def test_deleting_a_clinician_records_each_licence_and_privilege() -> None:
    privilege = CompactPrivilegeFactory()
    clinician = privilege.clinician
    other = LicenseFactory(clinician=clinician, state="FL")
    client, admin = admin_client(superuser=True)
    response = client.post(
        reverse("admin:practice_clinician_delete", args=[clinician.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Clinician.objects.exists() and not License.objects.exists()
    assert sorted(e.target_id for e in events(AuditAction.LICENSE_DELETED)) == sorted(
        [str(privilege.home_license_id), str(other.pk)]
    )
    [went] = events(AuditAction.PRIVILEGE_DELETED)
    assert went.target_id == str(privilege.pk)
    for event in AuditEvent.objects.all():
        assert (event.actor, event.subject) == (admin, clinician.user)


def test_deleting_clinicians_from_the_list_records_their_licences() -> None:
    first, second = LicenseFactory(), LicenseFactory()
    client, _ = admin_client(superuser=True)
    response = client.post(
        reverse("admin:practice_clinician_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [first.clinician_id, second.clinician_id],
            "post": "yes",
        },
    )
    assert response.status_code == 302
    assert not Clinician.objects.exists()
    assert sorted(e.target_id for e in events(AuditAction.LICENSE_DELETED)) == sorted(
        [str(first.pk), str(second.pk)]
    )
