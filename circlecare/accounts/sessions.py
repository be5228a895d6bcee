"""Sessions in the database, as Django keeps them, read with one prepared statement.

Every signed-in request reads its session first; compiling that lookup anew each time cost about
as much as the database took to answer it. The rows, the cookie and expiry are Django's own
(``django.contrib.sessions.backends.db``): only the read is prepared.
"""

from __future__ import annotations

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from circlecare.prebuilt import PreparedRead

_live_session = PreparedRead(
    lambda key, now: Session.objects.filter(session_key=key, expire_date__gt=now), "key", "now"
)


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self) -> Session | None:
        found = _live_session(key=self.session_key, now=timezone.now()) if self.session_key else []
        if not found:
            self._session_key = None
            return None
        return found[0]
