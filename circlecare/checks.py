"""Checks of the project's own settings (``manage.py check``, some only with ``--deploy``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.http.request import validate_host


@register(Tags.security, deploy=True)
def site_url(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E-mails, calendar files and invitation links are built on ``SITE_URL``, away from any
    request: it must be this deployment's public HTTPS address, or every link people get points
    somewhere else."""
    parts = urlsplit(settings.SITE_URL)
    problems = []
    if parts.scheme != "https":
        problems.append("is not an https:// address")
    host = parts.hostname or ""
    if not host or not validate_host(host, settings.ALLOWED_HOSTS):
        problems.append("names a host that ALLOWED_HOSTS does not serve")
    if not problems:
        return []
    return [
        Warning(
            f"SITE_URL ({settings.SITE_URL!r}) {' and '.join(problems)}.",
            hint="Set SITE_URL to the public address people use, e.g. https://care.example.org; "
            "e-mails, calendar files and partner invitations link to it.",
            id="circlecare.W001",
        )
    ]


@register()
def room_timing(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The live room's waits only work in one order. A stale limit shorter than a few beats
    would drop people who are still in the room from its count; an answer wait as long as the
    grace period would decide before the question is answered."""
    seen, stale = settings.ROOM_PRESENCE_SEEN_SECONDS, settings.ROOM_PRESENCE_STALE_SECONDS
    grace, answer = settings.ROOM_GRACE_SECONDS, settings.ROOM_ANSWER_SECONDS
    problems = []
    if not seen > 0:
        problems.append("ROOM_PRESENCE_SEEN_SECONDS must be more than 0")
    elif not stale >= 3 * seen:
        problems.append(
            f"ROOM_PRESENCE_STALE_SECONDS ({stale:g}) must be at least three times "
            f"ROOM_PRESENCE_SEEN_SECONDS ({seen:g})"
        )
    if not answer > 0:
        problems.append("ROOM_ANSWER_SECONDS must be more than 0")
    elif not grace > answer:
        problems.append(
            f"ROOM_GRACE_SECONDS ({grace:g}) must be more than ROOM_ANSWER_SECONDS ({answer:g})"
        )
    return [
        Error(
            f"{problem}.",
            hint="The defaults are ROOM_PRESENCE_SEEN_SECONDS=15, ROOM_PRESENCE_STALE_SECONDS=90, "
            "ROOM_GRACE_SECONDS=15 and ROOM_ANSWER_SECONDS=5.",
            id="circlecare.E001",
        )
        for problem in problems
    ]
