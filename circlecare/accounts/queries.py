"""Reads about accounts that other apps share."""

from __future__ import annotations

from django.conf import settings

from circlecare.accounts.models import User


def _coordinators() -> dict[str, str]:
    """Every address a coordinator's notice goes to, with its reader's time zone ("" for an
    address in ``COORDINATOR_EMAILS`` that has no account): staff accounts that are active, and
    the extra addresses the practice configured."""
    zones = dict(
        User.objects.filter(is_staff=True, is_active=True).values_list("email", "time_zone")
    )
    for email in settings.COORDINATOR_EMAILS:
        zones.setdefault(email, "")
    return zones


def coordinator_addresses() -> list[str]:
    return sorted(_coordinators())


def coordinators_by_zone(default_zone: str) -> dict[str, list[str]]:
    """Coordinators' addresses grouped by their own time zone; an address from
    ``COORDINATOR_EMAILS`` with no account reads ``default_zone``."""
    grouped: dict[str, list[str]] = {}
    for email, zone in sorted(_coordinators().items()):
        grouped.setdefault(zone or default_zone, []).append(email)
    return grouped
