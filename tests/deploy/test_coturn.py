"""A real coturn, configured as deploy/coturn/turnserver.conf is, takes the room's TURN credentials
while they last, and only those.

Allocating a relay is the TURN request a browser makes with the credential it was given
(RFC 5766, with RFC 5389's long-term credentials): the first try is refused with 401 and the
server's realm and nonce, and the second carries the username and an HMAC of the message keyed by
MD5(username:realm:password). Skipped where coturn is not installed (CI installs it).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from circlecare.meetings.live import turn

TURNSERVER = shutil.which("turnserver") or next(
    (p for p in ("/usr/bin/turnserver", "/usr/sbin/turnserver") if os.access(p, os.X_OK)), None
)
pytestmark = pytest.mark.skipif(
    TURNSERVER is None, reason="coturn's turnserver is not installed (apt-get install coturn)"
)

CONF = Path(__file__).resolve().parents[2] / "deploy" / "coturn" / "turnserver.conf"
SECRET = "the-shared-secret"
REALM = "turn.circlecare.test"
COOKIE = 0x2112A442

BINDING, ALLOCATE, REFRESH = 0x0001, 0x0003, 0x0004
SUCCESS, ERROR = 0x0100, 0x0110
USERNAME, INTEGRITY, ERROR_CODE, LIFETIME = 0x0006, 0x0008, 0x0009, 0x000D
REALM_ATTR, NONCE, RELAYED, TRANSPORT = 0x0014, 0x0015, 0x0016, 0x0019


def attribute(kind: int, value: bytes) -> bytes:
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * (-len(value) % 4)


def message(method: int, attrs: list[tuple[int, bytes]], key: bytes | None = None) -> bytes:
    body = b"".join(attribute(kind, value) for kind, value in attrs)
    txid = secrets.token_bytes(12)
    if key is None:
        return struct.pack("!HHI", method, len(body), COOKIE) + txid + body
    # The HMAC covers the message as it will be, its length counting the integrity attribute.
    header = struct.pack("!HHI", method, len(body) + 24, COOKIE) + txid
    mac = hmac.new(key, header + body, hashlib.sha1).digest()
    return header + body + attribute(INTEGRITY, mac)


def parse(data: bytes) -> tuple[int, dict[int, bytes]]:
    kind, length, _cookie = struct.unpack("!HHI", data[:8])
    attrs, at = {}, 20
    while at < 20 + length:
        name, size = struct.unpack("!HH", data[at : at + 4])
        attrs.setdefault(name, data[at + 4 : at + 4 + size])
        at += 4 + size + (-size % 4)
    return kind, attrs


def error_code(attrs: dict[int, bytes]) -> int:
    value = attrs[ERROR_CODE]
    return (value[2] & 0x07) * 100 + value[3]


class Client:
    def __init__(self, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(2)
        self.sock.connect(("127.0.0.1", port))
        self.realm = self.nonce = b""
        self.key = b""

    def ask(self, data: bytes) -> tuple[int, dict[int, bytes]]:
        self.sock.send(data)
        return parse(self.sock.recv(2048))

    def allocate(self, username: str, password: str) -> tuple[int, dict[int, bytes]]:
        transport = [(TRANSPORT, bytes([17, 0, 0, 0]))]  # UDP
        kind, attrs = self.ask(message(ALLOCATE, transport))
        assert kind == ALLOCATE | ERROR and error_code(attrs) == 401
        self.realm, self.nonce = attrs[REALM_ATTR], attrs[NONCE]
        self.username = username.encode()
        self.key = hashlib.md5(  # noqa: S324 - RFC 5389's long-term key is MD5 by definition
            self.username + b":" + self.realm + b":" + password.encode()
        ).digest()
        return self.ask(message(ALLOCATE, self.signed(transport), self.key))

    def refresh(self) -> tuple[int, dict[int, bytes]]:
        return self.ask(
            message(REFRESH, self.signed([(LIFETIME, struct.pack("!I", 600))]), self.key)
        )

    def signed(self, attrs: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
        return [(USERNAME, self.username), (REALM_ATTR, self.realm), (NONCE, self.nonce), *attrs]

    def close(self) -> None:
        self.sock.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[int]:
    """coturn on a free port of 127.0.0.1, authenticating as the deployed configuration does."""
    port = free_port()
    assert TURNSERVER is not None
    server = subprocess.Popen(
        [
            TURNSERVER, "-n", "--use-auth-secret", f"--static-auth-secret={SECRET}",
            f"--realm={REALM}", "--listening-ip=127.0.0.1", f"--listening-port={port}",
            "--relay-ip=127.0.0.1", "--min-port=49160", "--max-port=49999", "--no-tls",
            "--no-dtls", "--no-tcp", "--no-cli", "--allow-loopback-peers", "--fingerprint",
            f"--userdb={tmp_path / 'turndb'}", f"--pidfile={tmp_path / 'turnserver.pid'}",
            "--log-file=stdout", "--simple-log",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        probe = Client(port)
        probe.sock.settimeout(0.1)
        deadline = time.monotonic() + 5
        while True:
            try:
                kind, _ = probe.ask(message(BINDING, []))
                assert kind == BINDING | SUCCESS
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    server.kill()
                    output = server.communicate()[0].decode(errors="replace")
                    pytest.fail(f"coturn did not start:\n{output[-2000:]}")
        probe.close()
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stdout:
            server.stdout.close()


@pytest.fixture
def turn_settings(settings: Any) -> None:
    settings.TURN_SECRET = SECRET
    settings.TURN_URLS = ["turn:127.0.0.1:3478?transport=udp"]
    settings.TURN_CREDENTIAL_MAX_SECONDS = 4 * 3600


def test_the_deployed_configuration_authenticates_with_the_shared_secret() -> None:
    lines = {line.strip() for line in CONF.read_text().splitlines()}
    assert "use-auth-secret" in lines
    assert any(re.fullmatch(r"static-auth-secret=\S+", line) for line in lines)
    # The one credential everyone held, and the mechanism that served it, are gone.
    assert not any(line.startswith(("user=", "lt-cred-mech")) for line in lines)


def test_a_minted_credential_allocates_a_relay(coturn: int, turn_settings: None) -> None:
    entry = turn.relay(peer="a1b2c3d4e5f6", over_at=datetime.now(UTC) + timedelta(minutes=60))
    assert entry is not None
    client = Client(coturn)
    kind, attrs = client.allocate(entry["username"], entry["credential"])
    assert kind == ALLOCATE | SUCCESS, attrs.get(ERROR_CODE)
    assert RELAYED in attrs  # the relayed address it was given
    client.close()


def test_an_expired_credential_is_refused(coturn: int) -> None:
    username = f"{int(time.time()) - 60}:a1b2c3d4e5f6"
    client = Client(coturn)
    kind, attrs = client.allocate(username, turn.password(secret=SECRET, username=username))
    assert kind == ALLOCATE | ERROR and error_code(attrs) == 401
    client.close()


def test_a_credential_signed_with_another_secret_is_refused(coturn: int) -> None:
    username = f"{int(time.time()) + 3600}:a1b2c3d4e5f6"
    client = Client(coturn)
    kind, attrs = client.allocate(username, turn.password(secret="another", username=username))
    assert kind == ALLOCATE | ERROR and error_code(attrs) == 401
    client.close()


def test_the_expiry_bounds_when_a_relay_can_be_opened_not_one_already_open(coturn: int) -> None:
    """coturn checks the credential's time when a relay is opened, and keeps the key it worked
    out for the life of that relay: a relay opened in time may be refreshed past the expiry, so a
    meeting that runs late keeps its video, and a relay ends when the browser lets it go (as the
    page does for a peer that left, or on its own removal). deploy/README.md says so."""
    username = f"{int(time.time()) + 2}:a1b2c3d4e5f6"
    client = Client(coturn)
    kind, _ = client.allocate(username, turn.password(secret=SECRET, username=username))
    assert kind == ALLOCATE | SUCCESS
    time.sleep(3.5)
    assert client.refresh()[0] == REFRESH | SUCCESS
    client.close()
    # A new relay with the same credential is refused.
    again = Client(coturn)
    kind, attrs = again.allocate(username, turn.password(secret=SECRET, username=username))
    assert kind == ALLOCATE | ERROR and error_code(attrs) == 401
    again.close()
