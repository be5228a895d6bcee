"""TURN credentials of their own for each person let into a room, valid until the meeting is over.

This is coturn's "TURN REST API" (``use-auth-secret`` with ``static-auth-secret``, the same as
``TURN_SECRET``): the username is "<expiry>:<name>", the expiry in seconds since 1970, and the
password is base64(HMAC-SHA1(secret, username)). coturn works the password out again from the
username and refuses it once the expiry has passed, so nothing is stored anywhere and there is
nothing to hand out in advance: a credential is minted as someone is let in, and someone who was
never let in has none.

The name is the room's random peer id for that socket, so the TURN server's logs hold nothing about
who the person is, and two people (or one person's two visits) never share a credential.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from circlecare.meetings.models import Meeting

#: Beyond the meeting's end: clocks on the web and TURN servers differ a little, and the last
#: goodbyes should not lose their video mid-sentence.
MARGIN = timedelta(minutes=5)


def password(*, secret: str, username: str) -> str:
    """The password coturn expects for ``username`` under ``static-auth-secret=secret``."""
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def expires_at(*, over_at: datetime, now: datetime) -> datetime:
    """A little after the meeting is over, but never more than ``TURN_CREDENTIAL_MAX_SECONDS``
    from now, and never so soon that the browser cannot use it to connect."""
    latest = now + timedelta(seconds=settings.TURN_CREDENTIAL_MAX_SECONDS)
    return max(min(over_at + MARGIN, latest), now + MARGIN)


def relay(*, peer: str, over_at: datetime, now: datetime | None = None) -> dict[str, Any] | None:
    """The TURN server entry (an ``RTCIceServer``) for the person whose socket is ``peer``, in a
    meeting over at ``over_at``; None when no ``TURN_SECRET`` is set."""
    secret = settings.TURN_SECRET
    if not secret or not settings.TURN_URLS:
        return None
    if not peer.isalnum():
        raise ValueError("a peer id is letters and digits")
    expiry = expires_at(over_at=over_at, now=now or timezone.now())
    username = f"{math.floor(expiry.timestamp())}:{peer}"
    return {
        "urls": list(settings.TURN_URLS),
        "username": username,
        "credential": password(secret=secret, username=username),
    }


def ice_servers(*, meeting_id: int, peer: str, now: datetime | None = None) -> list[dict[str, Any]]:
    """What the browser of someone just let into the room connects to the others with: the
    configured ``ICE_SERVERS``, and a TURN entry of their own that lasts until the meeting is
    over (planned, or ended early). Reads the meeting as it is now."""
    servers = list(settings.ICE_SERVERS)
    if not settings.TURN_SECRET:
        return servers
    meeting = Meeting.objects.filter(pk=meeting_id).only("ends_at", "ended_at").first()
    if meeting is None:
        return servers
    entry = relay(peer=peer, over_at=meeting.over_at, now=now)
    if entry is not None:
        servers.append(entry)
    return servers
