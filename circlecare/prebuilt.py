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
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Generic, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet
from django.utils import timezone

Q = TypeVar("Q", bound=QuerySet[Any])
M = TypeVar("M", bound=Model)


def prebuilt(build: Callable[[], Q]) -> Callable[[], Q]:
    once = functools.cache(build)

    @functools.wraps(build)
    def fresh() -> Q:
        return once().all()

    return fresh


#: Values standing in for a prepared read's parameters while its SQL is compiled: unlike any
#: constant a query holds, so each is found again among the compiled parameters. Integers stay
#: within the range of a 32-bit column, which would refuse a larger value.
_INT_BASE = 2_147_480_000
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
#: At most this many statements per prepared read (one per database and length of its lists).
_MAX_SHAPES = 32
_MOMENT_BASE = datetime(1901, 2, 3, 4, 5, 6, tzinfo=UTC)
_DAY_BASE = date(1902, 3, 4)

#: What a value may be: an integer (a key), a list of them (``__in``), a text (compared with a
#: text column), a moment (an aware datetime compared with a DateTimeField) or a day (a date
#: compared with a DateField).
Value = int | str | datetime | date | list[int] | tuple[int, ...]


def _shape(value: Value) -> tuple[str, int]:
    if isinstance(value, str):
        return ("text", 1)
    if isinstance(value, datetime):
        return ("moment", 1)
    if isinstance(value, date):
        return ("day", 1)
    if isinstance(value, list | tuple):
        return ("ints", len(value))
    return ("int", 1)


def _scalars(value: Value) -> list[int | str | date]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [int(v) for v in value]
    if isinstance(value, datetime):
        if timezone.is_naive(value):
            raise ValueError("a prepared read's moments must be aware datetimes")
        return [value]
    if isinstance(value, date):
        return [value]
    return [int(value)]


def _adapt(scalar: int | str | date, connection: Any) -> Any:
    """A value as Django hands it to the driver for an integer, text, DateTimeField or DateField
    column."""
    if isinstance(scalar, datetime):
        return connection.ops.adapt_datetimefield_value(scalar)
    if isinstance(scalar, date):
        return connection.ops.adapt_datefield_value(scalar)
    return scalar


@dataclass(frozen=True)
class _Compiled(Generic[M]):
    queryset: QuerySet[M]
    compiler: Any
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[tuple[int, ...], ...], ...]  # per name and value, where it goes in params


class PreparedRead(Generic[M]):
    """A read whose SQL is compiled once per process and database, then run with new values.

    ``prebuilt`` saves building a queryset; compiling it into SQL is still paid on every call, and
    on the hottest reads (a cohort with its programme, lead and seat counts) that costs more than
    the database takes to answer. A prepared read compiles once and keeps Django's compiler, so
    each call only swaps the values in and runs the same statement; rows still become model
    instances (related objects and annotations included) through Django's own iterator.

    ``build`` takes one keyword per name in ``names`` and returns the queryset. Each value is an
    integer (``pk=``, ``cohort_id=``), a list of integers (``cohort_id__in=``; one statement per
    length, and an empty list is left to Django), a text compared with a text column
    (``session_key=``), an aware datetime compared with a DateTimeField (``ends_at__gt=``) or a
    date compared with a DateField (``first_meeting_date__gte=``). Each must reach the SQL as
    parameters of its own (as often as the query uses it); that is checked when the read is
    compiled. Prefetches on the queryset run as usual, per call.
    """

    def __init__(self, build: Callable[..., QuerySet[M]], *names: str) -> None:
        self._build = build
        self._names = names
        self._compiled: dict[tuple[Any, ...], _Compiled[M]] = {}
        self._lock = threading.Lock()

    def _compile(self, using: str, shape: tuple[tuple[str, int], ...]) -> _Compiled[M]:
        connection = connections[using]
        ints = itertools.count(_INT_BASE)
        moments = (_MOMENT_BASE + timedelta(microseconds=n) for n in itertools.count(1))
        days = (_DAY_BASE + timedelta(days=n) for n in itertools.count(1))
        stand_ins: dict[str, Value] = {}
        for name, (kind, size) in zip(self._names, shape, strict=True):
            if kind == "moment":
                stand_ins[name] = next(moments)
            elif kind == "day":
                stand_ins[name] = next(days)
            elif kind == "ints":
                stand_ins[name] = [next(ints) for _ in range(size)]
            elif kind == "text":
                stand_ins[name] = f"\x1fprepared-read-{next(ints)}"
            else:
                stand_ins[name] = next(ints)
        queryset = self._build(**stand_ins).using(using)
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        slots = []
        for name, value in stand_ins.items():
            found = []
            for scalar in _scalars(value):
                adapted = _adapt(scalar, connection)
                where = tuple(i for i, param in enumerate(params) if param == adapted)
                if not where:
                    raise ImproperlyConfigured(
                        f"{self._build!r}: {name!r} does not reach the SQL as a parameter"
                    )
                found.append(where)
            slots.append(tuple(found))
        return _Compiled(queryset, compiler, sql, tuple(params), tuple(slots))

    def __call__(self, *, using: str = DEFAULT_DB_ALIAS, **values: Value) -> list[M]:
        if set(values) != set(self._names):
            raise TypeError(f"expected {sorted(self._names)}, got {sorted(values)}")
        shape = tuple(_shape(values[name]) for name in self._names)
        scalars = {name: _scalars(values[name]) for name in self._names}
        if ("ints", 0) in shape or any(
            isinstance(v, int) and not _INT64_MIN <= v <= _INT64_MAX
            for found in scalars.values()
            for v in found
        ):
            # What an empty list means (nothing, or everything under exclude()), and what a key
            # no column can hold means (an id from a URL, say), are Django's call.
            return list(self._build(**values).using(using))
        key = (using, shape)
        entry = self._compiled.get(key)
        if entry is None:
            if len(self._compiled) >= _MAX_SHAPES:
                # Lists of ever new lengths: keep what is compiled, and build the rest each time.
                return list(self._build(**values).using(using))
            with self._lock:
                entry = self._compiled.get(key) or self._compile(using, shape)
                self._compiled[key] = entry
        connection = connections[using]  # this thread's connection
        bound = list(entry.params)
        for name, slots in zip(self._names, entry.slots, strict=True):
            for places, scalar in zip(slots, scalars[name], strict=True):
                adapted = _adapt(scalar, connection)
                for place in places:
                    bound[place] = adapted
        sql = entry.sql
        run = copy.copy(entry.compiler)
        run.connection = connection
        run.as_sql = lambda *args, **kwargs: (sql, bound)
        clone = entry.queryset.all()
        clone.query.get_compiler = lambda *args, **kwargs: run  # type: ignore[method-assign]
        return list(clone)
