from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.enrollment.factories import only_enrollment_steps


@pytest.fixture(autouse=True)
def _enrollment_steps_only() -> Iterator[None]:
    with only_enrollment_steps():
        yield
