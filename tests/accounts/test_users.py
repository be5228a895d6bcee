from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from circlecare.accounts.models import User
from circlecare.accounts.validators import clean_display_name
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_email_is_the_login_and_case_variants_are_one_account() -> None:
    UserFactory(email="Ana@Example.org")
    assert User.objects.get(email="ana@example.org")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user(email="ANA@example.ORG", password="x" * 12, display_name="Ana 2")


def test_home_state_must_be_a_state_or_outside_the_us() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(home_state="ZZ")


def test_argon2_is_the_password_hasher() -> None:
    from circlecare import settings as project_settings

    assert project_settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_passwords_are_stored_as_argon2id(settings: Any) -> None:
    """A1: the variant, not only the family (argon2i and argon2d are weaker choices)."""
    from django.contrib.auth.hashers import check_password, make_password

    from circlecare import settings as project_settings

    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS
    encoded = make_password("a long enough passphrase")
    assert encoded.startswith("argon2$argon2id$")
    assert check_password("a long enough passphrase", encoded)


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("short pass1", False),  # 11 characters
        ("twelve chars", True),
        ("a" * 3 + " long passphrase that goes on " * 2, True),
        ("correct horse battery staple " * 3, True),  # > 64 accepted
        ("x" * 300, False),  # absurd length refused
        ("password1234", False),  # common
        ("1qaz2wsx3edc", False),  # common
    ],
)
def test_password_rules(password: str, ok: bool) -> None:
    if ok:
        validate_password(password)
    else:
        with pytest.raises(ValidationError):
            validate_password(password)


def test_no_composition_rules() -> None:
    # Lower-case words only, no digits or symbols: fine if long and uncommon.
    validate_password("meadow lantern quietly")
    assert not any("uppercase" in v["NAME"].lower() for v in settings.AUTH_PASSWORD_VALIDATORS)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Sam  ", "Sam"),
        ("Ｓａｍ", "Sam"),
        ("Mary  Jo", "Mary Jo"),
        ("José", "José"),
        ("李明", "李明"),
        ("山田はなこ", "山田はなこ"),  # Japanese: kanji with kana
        ("ヤマダ花子", "ヤマダ花子"),
        ("김民秀", "김民秀"),  # Korean: hangul with hanja
        ("Kaʻiulani", "Kaʻiulani"),  # the Hawaiian ʻokina
    ],
)
def test_display_names_are_normalised(raw: str, expected: str) -> None:
    assert clean_display_name(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "a",
        "x" * 41,
        "Sam\u200b",
        "Ad\u202emin",
        "Pаul",  # a Cyrillic "а" among Latin letters
        "Pauлa",
        "Sam李",  # Latin with Han is not a way names are written together
        "はなこ김",  # nor kana with hangul
        "\x00Sam",
        "!!",
        "Sam\nAdmin",
    ],
)
def test_display_names_that_hide_or_impersonate_are_refused(raw: str) -> None:
    with pytest.raises(ValidationError):
        clean_display_name(raw)
