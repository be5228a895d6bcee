"""Reads about clinicians that pages and eligibility share. They work on prefetched rows."""

from __future__ import annotations

from datetime import date

from django.db.models import Prefetch, QuerySet

from circlecare.practice.models import Clinician, CompactPrivilege, License


def clinician_prefetch(prefix: str) -> list[Prefetch]:
    """Prefetches that let ``licensed_states`` run without further queries."""
    return [
        Prefetch(f"{prefix}licenses", queryset=License.objects.order_by("state")),
        Prefetch(
            f"{prefix}privileges",
            queryset=CompactPrivilege.objects.select_related("home_license").order_by("state"),
        ),
    ]


def licensed_states(clinician: Clinician | None, start: date, end: date) -> set[str]:
    """States where the clinician may practise on every day from ``start`` to ``end``.

    A licence counts when it is valid through the whole span; a compact privilege counts when it and
    the home-state licence behind it both are.
    """
    if clinician is None:
        return set()
    states = {lic.state for lic in clinician.licenses.all() if lic.covers(start, end)}
    states |= {priv.state for priv in clinician.privileges.all() if priv.covers(start, end)}
    return states


def clinicians_with_licenses() -> QuerySet[Clinician]:
    return Clinician.objects.select_related("user").prefetch_related(*clinician_prefetch(""))
