"""Input rules for accounts: password length ceiling, display names and time zones."""

from __future__ import annotations

import unicodedata
import zoneinfo
from functools import lru_cache
from importlib import resources
from pathlib import Path

from django.core.exceptions import ValidationError

DISPLAY_NAME_MAX = 40
NAME_TOO_LONG = f"Please keep your name to {DISPLAY_NAME_MAX} characters or fewer."


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


#: Alphabets that are written together in one name: Japanese (kanji with kana) and Korean
#: (hangul with hanja).
SCRIPTS_WRITTEN_TOGETHER = (
    frozenset({"CJK", "HIRAGANA", "KATAKANA", "KATAKANA-HIRAGANA"}),
    frozenset({"CJK", "HANGUL"}),
)


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
        raise ValidationError(NAME_TOO_LONG, code="too_long")
    for ch in name:
        if unicodedata.category(ch) in {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}:
            raise ValidationError(
                "Please use only visible letters, numbers, spaces and simple punctuation.",
                code="invisible",
            )
    scripts = {_script(ch) for ch in name if ch.isalpha()}
    # Modifier letters, such as the Hawaiian ʻokina (Kaʻiulani), belong to no one alphabet.
    scripts -= {"UNKNOWN", "MODIFIER"}
    if len(scripts) > 1 and not any(scripts <= together for together in SCRIPTS_WRITTEN_TOGETHER):
        raise ValidationError(
            "Please write your name in one alphabet (some letters look alike across alphabets).",
            code="mixed_script",
        )
    if not any(ch.isalnum() for ch in name):
        raise ValidationError("Please include at least one letter or number.", code="no_letters")
    return name


# Only for a system without zone.tab: the areas of the IANA "Area/City" names people live under.
ZONE_AREAS = frozenset(
    [
        "Africa",
        "America",
        "Antarctica",
        "Arctic",
        "Asia",
        "Atlantic",
        "Australia",
        "Europe",
        "Indian",
        "Pacific",
    ]
)


def _zone_table() -> str | None:
    """zone.tab, read from where zoneinfo itself reads zones: the system first, then tzdata."""
    for directory in zoneinfo.TZPATH:
        path = Path(directory) / "zone.tab"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    try:
        return resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return None


@lru_cache(maxsize=1)
def selectable_zones() -> frozenset[str]:
    """The time zones a person may choose: current IANA "Area/City" zones, plus UTC.

    zone.tab lists the zones in use in each country under their current names, so it leaves out
    "Factory", "localtime", "posixrules", the fixed offsets ("Etc/GMT+5", "GMT+0") and old aliases
    ("US/Eastern", "Asia/Calcutta", "Europe/Kiev"). Intersecting with what zoneinfo can load keeps
    every choice usable.
    """
    installed = zoneinfo.available_timezones()
    table = _zone_table()
    if table is None:
        listed = {name for name in installed if name.split("/", 1)[0] in ZONE_AREAS and "/" in name}
    else:
        listed = {
            columns[2]
            for line in table.splitlines()
            if line and not line.startswith("#") and len(columns := line.split("\t")) >= 3
        }
    return frozenset((listed & installed) | {"UTC"})


def validate_time_zone(value: str) -> None:
    if value not in selectable_zones():
        raise ValidationError(
            "Please choose your time zone from the list, for example America/New_York.",
            code="invalid_zone",
        )
