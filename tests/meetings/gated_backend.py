"""A file e-mail backend that stops for good before its Nth message (for the worker-kill test).

The worker process that uses it writes the first messages to files as usual, then, before the
next one, leaves a marker file and waits forever, so the test can kill it at a known point:
in the middle of a send, after earlier sends committed.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from django.core.mail.backends.filebased import EmailBackend as FileBackend

_sent = 0


class EmailBackend(FileBackend):
    def send_messages(self, email_messages: Any) -> int:
        global _sent
        count = 0
        for message in email_messages:
            if _sent >= int(os.environ["MAIL_GATE_AFTER"]):
                Path(os.environ["MAIL_GATE_MARKER"]).write_text("waiting")
                while True:
                    time.sleep(1)
            count += super().send_messages([message]) or 0
            _sent += 1
        return count
