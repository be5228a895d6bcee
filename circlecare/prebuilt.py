"""Querysets whose fixed part is built once per process.

Building a queryset — resolving its filters, joins and annotations, correlated subqueries above
all — costs a page more than running it: on the cohort page the seat counts' subqueries took more
time to build than the database took to answer. A function decorated with ``prebuilt`` builds
its queryset the first time it is called; each call then returns a fresh copy (``.all()``) for
the caller to narrow with its own filters, so the shared one is never evaluated or changed.

What a prebuilt function builds must not depend on the moment, the request or the settings:
filters on today's date and prefetches (whose objects Django annotates while prefetching) are
added by the caller, per call.

``PreparedRead`` goes one step further for the hottest reads by primary or foreign key: it keeps
the compiled SQL too, and each call only supplies the values.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet

Q = TypeVar("Q", bound=QuerySet[Any])
M = TypeVar("M", bound=Model)


def prebuilt(build: Callable[[], Q]) -> Callable[[], Q]:
    once = functools.cache(build)

    @functools.wraps(build)
    def fresh() -> Q:
        return once().all()

    return fresh


#: Values standing in for a prepared read's parameters while its SQL is compiled: unlike any
#: constant a query holds, so each is found again among the compiled parameters, and within the
#: range of a 32-bit integer column, which would refuse a larger value.
_PLACEHOLDER_BASE = 2_147_480_000


class PreparedRead(Generic[M]):
    """A read whose SQL is compiled once per process and database, then run with new values.

    ``prebuilt`` saves building a queryset; compiling it into SQL is still paid on every call, and
    on the hottest reads (a cohort with its programme, lead and seat counts) that costs more than
    the database takes to answer. A prepared read compiles once and keeps Django's compiler, so
    each call only swaps the values in and runs the same statement; rows still become model
    instances (related objects and annotations included) through Django's own iterator.

    ``build`` takes one keyword per name in ``names`` and returns the queryset. Each value must
    reach the SQL as exactly one integer parameter (a filter such as ``pk=`` or ``cohort_id=``);
    that is checked when the read is compiled. Prefetches on the queryset run as usual, per call.
    """

    def __init__(self, build: Callable[..., QuerySet[M]], *names: str) -> None:
        self._build = build
        self._names = names
        self._compiled: dict[str, tuple[QuerySet[M], Any, str, tuple[Any, ...], list[int]]] = {}
        self._lock = threading.Lock()

    def _compile(self, using: str) -> tuple[QuerySet[M], Any, str, tuple[Any, ...], list[int]]:
        stand_ins = {name: _PLACEHOLDER_BASE + i for i, name in enumerate(self._names)}
        queryset = self._build(**stand_ins).using(using)
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        slots = []
        for name, value in stand_ins.items():
            found = [i for i, param in enumerate(params) if param == value]
            if len(found) != 1:
                raise ImproperlyConfigured(
                    f"{self._build!r}: {name!r} must reach the SQL as one parameter, "
                    f"not {len(found)}"
                )
            slots.append(found[0])
        return queryset, compiler, sql, tuple(params), slots

    def __call__(self, *, using: str = DEFAULT_DB_ALIAS, **values: int) -> list[M]:
        if set(values) != set(self._names):
            raise TypeError(f"expected {sorted(self._names)}, got {sorted(values)}")
        entry = self._compiled.get(using)
        if entry is None:
            with self._lock:
                entry = self._compiled.get(using) or self._compile(using)
                self._compiled[using] = entry
        queryset, compiled, sql, params, slots = entry
        bound = list(params)
        for name, slot in zip(self._names, slots, strict=True):
            bound[slot] = int(values[name])
        run = copy.copy(compiled)
        run.connection = connections[using]  # this thread's connection
        run.as_sql = lambda *args, **kwargs: (sql, bound)
        clone = queryset.all()
        clone.query.get_compiler = lambda *args, **kwargs: run  # type: ignore[method-assign]
        return list(clone)

    def forget(self) -> None:
        """Drop the compiled statements (after a schema change within one process, as in tests)."""
        with self._lock:
            self._compiled.clear()
