"""Input rules for accounts: password length ceiling, display names and time zones."""

from __future__ import annotations

import unicodedata
import zoneinfo
from functools import lru_cache

from django.core.exceptions import ValidationError

DISPLAY_NAME_MAX = 40


class MaximumLengthValidator:
    """Accept long passphrases (SECURITY.md A2 asks for ≥ 64) but refuse absurd ones that only cost CPU."""

    def __init__(self, max_length: int = 256) -> None:
        self.max_length = max_length

    def validate(self, password: str, user: object = None) -> None:
        if len(password) > self.max_length:
            raise ValidationError(
                f"Please use a password of at most {self.max_length} characters.",
                code="password_too_long",
            )

    def get_help_text(self) -> str:
        return f"Use at least 12 characters (up to {self.max_length}); a few words you'll remember work well."


def _script(ch: str) -> str:
    try:
        return unicodedata.name(ch).split(" ")[0]
    except ValueError:
        return "UNKNOWN"


def clean_display_name(value: str) -> str:
    """Normalise a display name and refuse ones that could impersonate or hide characters.

    NFKC folds full-width and compatibility forms; invisible and control characters are refused;
    mixing alphabets inside one name (Latin "a" with Cyrillic "а") is the usual look-alike trick.
    """
    name = unicodedata.normalize("NFKC", value or "").strip()
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise ValidationError(
            "Please use only visible letters, numbers, spaces and simple punctuation.",
            code="invisible",
        )
    name = " ".join(name.split())
    if len(name) < 2:
        raise ValidationError("Please enter a name of at least 2 characters.", code="too_short")
    if len(name) > DISPLAY_NAME_MAX:
        raise ValidationError(
            f"Please keep your name to {DISPLAY_NAME_MAX} characters or fewer.", code="too_long"
        )
    for ch in name:
        if unicodedata.category(ch) in {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}:
            raise ValidationError(
                "Please use only visible letters, numbers, spaces and simple punctuation.",
                code="invisible",
            )
    scripts = {_script(ch) for ch in name if ch.isalpha()}
    scripts.discard("UNKNOWN")
    if len(scripts) > 1:
        raise ValidationError(
            "Please write your name in one alphabet (some letters look alike across alphabets).",
            code="mixed_script",
        )
    if not any(ch.isalnum() for ch in name):
        raise ValidationError("Please include at least one letter or number.", code="no_letters")
    return name


@lru_cache(maxsize=1)
def available_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    if value not in available_zones():
        raise ValidationError("Please choose a time zone from the list.", code="invalid_zone")
