"""Changes to a clinician's licences and compact privileges, each written to the audit trail.

A clinician's licences decide who may join their therapy groups, so every addition, change and
removal is recorded with who made it, whose licence it is, and what changed. The trail keeps what
decides eligibility (state, kind, compact, valid dates); licence numbers and privilege identifiers
are named as changed, never copied.

The admin saves and deletes inside a transaction of its own, so these open a savepoint rather
than a durable transaction.
"""

from __future__ import annotations

from typing import Any

from django.db import models, transaction

from circlecare.accounts.models import User
from circlecare.audit.models import AuditAction
from circlecare.audit.services import record
from circlecare.practice.models import Clinician, CompactPrivilege, License

#: Fields whose values the trail keeps: what eligibility is decided on.
LICENSE_SHOWN = ("clinician", "state", "kind", "valid_from", "valid_to")
PRIVILEGE_SHOWN = ("clinician", "compact", "state", "home_license", "valid_from", "valid_to")
#: Fields the trail names as changed without keeping their values.
LICENSE_NAMED = ("number",)
PRIVILEGE_NAMED = ("identifier",)


def _value(row: models.Model, name: str) -> Any:
    field = row._meta.get_field(name)
    assert isinstance(field, models.Field)
    value = getattr(row, field.attname)
    return value.isoformat() if hasattr(value, "isoformat") else value


def _described(row: models.Model, shown: tuple[str, ...]) -> dict[str, Any]:
    return {name: _value(row, name) for name in shown}


def _changes(
    before: models.Model, after: models.Model, shown: tuple[str, ...], named: tuple[str, ...]
) -> tuple[dict[str, list[Any]], list[str]]:
    changed = {
        name: [_value(before, name), _value(after, name)]
        for name in shown
        if _value(before, name) != _value(after, name)
    }
    also = [name for name in named if _value(before, name) != _value(after, name)]
    return changed, also


def _save(
    *,
    row: License | CompactPrivilege,
    actor: User | None,
    shown: tuple[str, ...],
    named: tuple[str, ...],
    created: AuditAction,
    changed: AuditAction,
) -> None:
    model = type(row)
    with transaction.atomic():
        before = model.objects.select_for_update().filter(pk=row.pk).first() if row.pk else None
        row.save()
        subject = Clinician.objects.select_related("user").get(pk=row.clinician_id).user
        if before is None:
            record(
                actor=actor,
                action=created,
                target=row,
                subject=subject,
                data=_described(row, shown),
            )
            return
        values, also = _changes(before, row, shown, named)
        if not values and not also:
            return  # saved as it was: nothing for the trail
        record(
            actor=actor,
            action=changed,
            target=row,
            subject=subject,
            data={**_described(row, shown), "changed": values, "also_changed": also},
        )


def save_license(*, license: License, actor: User | None) -> License:
    """Add ``license`` (no primary key yet) or save changes to it."""
    _save(
        row=license,
        actor=actor,
        shown=LICENSE_SHOWN,
        named=LICENSE_NAMED,
        created=AuditAction.LICENSE_CREATED,
        changed=AuditAction.LICENSE_CHANGED,
    )
    return license


def save_privilege(*, privilege: CompactPrivilege, actor: User | None) -> CompactPrivilege:
    """Add ``privilege`` (no primary key yet) or save changes to it."""
    _save(
        row=privilege,
        actor=actor,
        shown=PRIVILEGE_SHOWN,
        named=PRIVILEGE_NAMED,
        created=AuditAction.PRIVILEGE_CREATED,
        changed=AuditAction.PRIVILEGE_CHANGED,
    )
    return privilege


def _record_privilege_removed(privilege: CompactPrivilege, actor: User | None, **why: Any) -> None:
    record(
        actor=actor,
        action=AuditAction.PRIVILEGE_DELETED,
        target=privilege,
        subject=privilege.clinician.user,
        data={**_described(privilege, PRIVILEGE_SHOWN), **why},
    )


def _remove_license(license: License, actor: User | None, **why: Any) -> None:
    """Record the licence and the privileges it backs (they go with it), then delete it."""
    for privilege in (
        CompactPrivilege.objects.select_for_update()
        .select_related("clinician__user")
        .filter(home_license=license)
        .order_by("pk")
    ):
        _record_privilege_removed(privilege, actor, with_license=license.pk)
    record(
        actor=actor,
        action=AuditAction.LICENSE_DELETED,
        target=license,
        subject=license.clinician.user,
        data={**_described(license, LICENSE_SHOWN), **why},
    )
    license.delete()


def delete_license(*, license: License, actor: User | None) -> None:
    """Delete ``license`` and the compact privileges backed by it. One already gone is left be."""
    with transaction.atomic():
        locked = (
            License.objects.select_for_update()
            .select_related("clinician__user")
            .filter(pk=license.pk)
            .first()
        )
        if locked is not None:
            _remove_license(locked, actor)


def delete_privilege(*, privilege: CompactPrivilege, actor: User | None) -> None:
    """Delete ``privilege``. One already gone (with its home licence, say) is left be."""
    with transaction.atomic():
        locked = (
            CompactPrivilege.objects.select_for_update()
            .select_related("clinician__user")
            .filter(pk=privilege.pk)
            .first()
        )
        if locked is not None:
            _record_privilege_removed(locked, actor)
            locked.delete()


def delete_clinician(*, clinician: Clinician, actor: User | None) -> None:
    """Delete a clinician's record, and with it each of their licences and privileges."""
    with transaction.atomic():
        locked = Clinician.objects.select_for_update().filter(pk=clinician.pk).first()
        if locked is None:
            return
        for privilege in (
            CompactPrivilege.objects.select_for_update()
            .select_related("clinician__user")
            .filter(clinician=locked)
            .exclude(home_license__clinician=locked)
            .order_by("pk")
        ):
            _record_privilege_removed(privilege, actor, with_clinician=locked.pk)
            privilege.delete()
        for license in (
            License.objects.select_for_update()
            .select_related("clinician__user")
            .filter(clinician=locked)
            .order_by("pk")
        ):
            _remove_license(license, actor, with_clinician=locked.pk)
        locked.delete()
