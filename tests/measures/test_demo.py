from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from circlecare.measures.models import Assessment, RiskAlert

pytestmark = pytest.mark.django_db


def test_demo_history_is_synthetic_and_idempotent() -> None:
    call_command("demo", stdout=io.StringIO())
    count = Assessment.objects.count()
    assert count > 0
    assert not Assessment.objects.filter(synthetic=False).exists()
    assert RiskAlert.objects.count() == 1
    call_command("demo", stdout=io.StringIO())
    assert Assessment.objects.count() == count
