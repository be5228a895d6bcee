"""What every e-mail to a member shares: absolute links, and one ending.

E-mails to members end the same way wherever they are written (Python or a template): a
sign-off, how to turn such e-mails off when a setting can (with the link), and the crisis line.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse


def site_link(name: str, *args: Any, **kwargs: Any) -> str:
    """The absolute address of a page, on the site's public address (``SITE_URL``)."""
    return settings.SITE_URL + reverse(name, args=args or None, kwargs=kwargs or None)


def on_site(url: str) -> str:
    """The same page on the site's public address, whichever host name a request came in on."""
    parts = urlsplit(url)
    query = f"?{parts.query}" if parts.query else ""
    return f"{settings.SITE_URL}{parts.path}{query}"


def group_named_for(person: Any, cohort: Any) -> str:
    """How an e-mail's text names a group to ``person``. A member reads "your circlecare group":
    a group's title can say what its members are treated for, and e-mails are read on shared
    screens. The people who lead it read which group it is, as they may lead several."""
    if cohort.is_led_by(person):
        return f"{cohort.title} (a group you lead)"
    return "your circlecare group"


SUBJECT_PREFIX = "circlecare: "


def subject(text: str) -> str:
    """Every e-mail's subject: the site's name, then what happened in plain words, as in
    "circlecare: your group meets tomorrow". Subjects show in notification previews and on
    lock screens, so they never carry clinical content or a group's title."""
    text = text.strip()
    if text.startswith(SUBJECT_PREFIX):
        return text
    return SUBJECT_PREFIX + text[:1].lower() + text[1:]


def footer_context(stop: str | None = None) -> dict[str, str]:
    return {"stop": stop or "", "settings_link": site_link("profile")}


def member_footer(stop: str | None = None) -> str:
    """The ending of an e-mail to a member; ``stop`` names what the settings can turn off."""
    return render_to_string("email/member_footer.txt", footer_context(stop)).strip() + "\n"
