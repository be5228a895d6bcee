"""The demo practice's care board, matches and journal entry: seeded once, safe to seed again."""

from __future__ import annotations

import pytest

from circlecare.care.demo import seed_demo
from circlecare.care.models import CareMatch, CarePost, MatchStatus, Reflection
from circlecare.programs.demo import seed

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent() -> None:
    seed()
    line = seed_demo()
    assert "4 new care posts" in line
    counts = (CarePost.objects.count(), CareMatch.objects.count(), Reflection.objects.count())
    assert counts == (4, 2, 1)
    done = CareMatch.objects.get(status=MatchStatus.DONE)
    assert done.thanks and done.thanked_at is not None
    assert done.giver.email.startswith("morgan@")
    assert Reflection.objects.get().member.email.startswith("morgan@")

    assert "0 new care posts" in seed_demo()
    assert (
        CarePost.objects.count(),
        CareMatch.objects.count(),
        Reflection.objects.count(),
    ) == counts


def test_seed_demo_without_the_practice_does_nothing() -> None:
    assert seed_demo() == ""
    assert not CarePost.objects.exists()
