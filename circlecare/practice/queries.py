"""Reads about clinicians that pages and eligibility share. They work on prefetched rows."""

from __future__ import annotations

from datetime import date

from django.db.models import Prefetch, QuerySet

from circlecare.practice.models import Clinician, CompactPrivilege, License
from circlecare.prebuilt import PreparedRead


def _licenses() -> QuerySet[License]:
    return License.objects.order_by("state")


def _privileges() -> QuerySet[CompactPrivilege]:
    return CompactPrivilege.objects.select_related("home_license").order_by("state")


def clinician_prefetch(prefix: str) -> list[Prefetch]:
    """Prefetches that let ``licensed_states`` run without further queries."""
    return [
        Prefetch(f"{prefix}licenses", queryset=_licenses()),
        Prefetch(f"{prefix}privileges", queryset=_privileges()),
    ]


_licenses_of = PreparedRead(
    lambda clinician: _licenses().filter(clinician_id=clinician), "clinician"
)
_privileges_of = PreparedRead(
    lambda clinician: _privileges().filter(clinician_id=clinician), "clinician"
)


def load_licences(clinician: Clinician) -> None:
    """Load one clinician's licences and privileges as ``clinician_prefetch`` would (two queries),
    for a page about one group, where Django's prefetching costs more than the reads."""
    cache = clinician.__dict__.setdefault("_prefetched_objects_cache", {})
    for name, read in (("licenses", _licenses_of), ("privileges", _privileges_of)):
        rows = read(clinician=clinician.pk)
        # As Django stores a prefetch: the related manager's queryset with its rows in place.
        related = getattr(clinician, name).get_queryset()
        related._result_cache = rows
        related._prefetch_done = True
        cache[name] = related


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
    return (
        Clinician.objects.select_related("user")
        .defer("user__password")
        .prefetch_related(*clinician_prefetch(""))
    )
