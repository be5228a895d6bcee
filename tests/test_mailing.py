"""The SMTP backend tells a mail server's refusals by their codes, without the addresses the
server's replies name (circlecare.mailing), over a real SMTP conversation."""

from __future__ import annotations

import socketserver
import threading
import traceback
from collections.abc import Iterator
from typing import ClassVar

import pytest
from django.core.mail import EmailMessage

from circlecare.mailing import MailRefused, SMTPBackend

MEMBER = "sam.member@example.org"


class _Refusing(socketserver.StreamRequestHandler):
    """A mail server that refuses, quoting the address as real ones do: every recipient, or
    (``refuse_sender``) the sender."""

    refuse_sender: ClassVar[bool] = False
    received: ClassVar[list[str]] = []

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 mail.example.org ESMTP")
        while line := self.rfile.readline().decode().strip():
            verb = line.split(" ", 1)[0].split(":", 1)[0].upper()
            self.received.append(verb)
            address = line[line.find("<") + 1 : line.find(">")] if "<" in line else ""
            if verb in {"EHLO", "HELO"}:
                self.reply("250 mail.example.org")
            elif verb == "MAIL":
                if self.refuse_sender:
                    self.reply(f"553 5.7.1 <{address}>: Sender address rejected")
                else:
                    self.reply("250 2.1.0 Ok")
            elif verb == "RCPT":
                self.reply(f"550 5.1.1 <{address}>: Recipient address rejected: no such user")
            elif verb == "RSET":
                self.reply("250 2.0.0 Ok")
            elif verb == "QUIT":
                self.reply("221 2.0.0 Bye")
                return
            else:
                self.reply("502 5.5.2 Error: command not recognized")


@pytest.fixture
def smtp_server() -> Iterator[int]:
    _Refusing.refuse_sender = False
    _Refusing.received = []
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Refusing)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _send(port: int, sender: str = "hello@circlecare.example") -> MailRefused:
    backend = SMTPBackend(host="127.0.0.1", port=port, use_tls=False, timeout=5)
    message = EmailMessage("A seat is free", "Please sign in.", sender, [MEMBER])
    with pytest.raises(MailRefused) as refused:
        backend.send_messages([message])
    return refused.value


def _everything_said(error: BaseException) -> str:
    return "".join(traceback.format_exception(error))


def test_a_refused_recipient_is_told_by_its_code_not_its_address(smtp_server: int) -> None:
    error = _send(smtp_server)
    assert "RCPT" in _Refusing.received  # the server was asked, and refused
    assert "550" in str(error)
    assert MEMBER not in _everything_said(error)


def test_a_refused_sender_is_told_by_its_code_not_its_address(smtp_server: int) -> None:
    _Refusing.refuse_sender = True
    error = _send(smtp_server, sender="clinic.desk@circlecare.example")
    assert "553" in str(error) and "SMTPSenderRefused" in str(error)
    said = _everything_said(error)
    assert "clinic.desk@circlecare.example" not in said and MEMBER not in said
