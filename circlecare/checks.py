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


@register()
def turn_relay(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """With ``TURN_SECRET`` set, each person let into a room gets TURN credentials of their own
    for the addresses in ``TURN_URLS``: without such addresses there is nothing to give them, and
    a credential that lasts less than a few minutes would run out while the browser connects."""
    if not settings.TURN_SECRET:
        return []
    problems = []
    urls = settings.TURN_URLS
    if (
        not isinstance(urls, list)
        or not urls
        or not all(isinstance(u, str) and u.startswith(("turn:", "turns:")) for u in urls)
    ):
        problems.append("TURN_URLS must be a JSON list of turn: and turns: addresses")
    if not settings.TURN_CREDENTIAL_MAX_SECONDS >= 600:
        problems.append(
            f"TURN_CREDENTIAL_MAX_SECONDS ({settings.TURN_CREDENTIAL_MAX_SECONDS}) must be at "
            "least 600"
        )
    return [
        Error(
            f"{problem} when TURN_SECRET is set.",
            hint='E.g. TURN_URLS=\'["turn:turn.example.org:3478?transport=udp", '
            '"turns:turn.example.org:5349?transport=tcp"]\'; TURN_CREDENTIAL_MAX_SECONDS should '
            "outlast the longest meeting (default 14400, four hours).",
            id="circlecare.E002",
        )
        for problem in problems
    ]
