"""Querysets whose fixed part is built once per process.

Building a queryset — resolving its filters, joins and annotations, correlated subqueries above
all — costs a page more than running it: on the cohort page the seat counts' subqueries took more
time to build than the database took to answer. A function decorated with ``prebuilt`` builds
its queryset the first time it is called; each call then returns a fresh copy (``.all()``) for
the caller to narrow with its own filters, so the shared one is never evaluated or changed.

What a prebuilt function builds must not depend on the moment, the request or the settings:
filters on today's date and prefetches (whose objects Django annotates while prefetching) are
added by the caller, per call.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models import QuerySet

Q = TypeVar("Q", bound=QuerySet[Any])


def prebuilt(build: Callable[[], Q]) -> Callable[[], Q]:
    once = functools.cache(build)

    @functools.wraps(build)
    def fresh() -> Q:
        return once().all()

    return fresh
