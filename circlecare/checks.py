"""Deployment checks of the project's own settings (``manage.py check --deploy``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register
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
