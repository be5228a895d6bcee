"""Shared fixtures for the API tests: throttles start empty; only enrollment's own join steps run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache

from tests.enrollment.factories import only_enrollment_steps


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    cache.clear()


@pytest.fixture(autouse=True)
def _enrollment_steps_only() -> Iterator[None]:
    with only_enrollment_steps():
        yield
