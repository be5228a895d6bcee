"""scripts/security_checks.py: what a pip-audit report makes of the run, and bandit's verdict on
the code as it is and on a line it must refuse."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "security_checks.py"
_spec = importlib.util.spec_from_file_location("security_checks", SCRIPT)
assert _spec is not None and _spec.loader is not None
checks = importlib.util.module_from_spec(_spec)
sys.modules["security_checks"] = checks  # dataclasses look their module up by name
_spec.loader.exec_module(checks)

CLEAN = {"name": "whitenoise", "version": "6.12.0", "vulns": []}
VULNERABLE = {
    "name": "django",
    "version": "5.2.0",
    "vulns": [{"id": "PYSEC-2026-1", "fix_versions": ["5.2.9"], "aliases": [], "description": ""}],
}
UNKNOWN = {
    "name": "circlecare-private",
    "skip_reason": "Dependency not found on PyPI and could not be audited: circlecare-private (1)",
}


def test_a_known_vulnerability_fails_the_audit_and_is_named_with_its_fix() -> None:
    summary = checks.summarise({"dependencies": [CLEAN, VULNERABLE]})
    ok, lines = checks.verdict(summary, require_audit=False)
    assert not ok
    assert summary.audited == 2
    assert "django 5.2.0: PYSEC-2026-1 (fixed in 5.2.9)" in "\n".join(lines)


def test_clean_packages_pass() -> None:
    ok, lines = checks.verdict(checks.summarise({"dependencies": [CLEAN]}), require_audit=True)
    assert ok
    assert lines[0] == "pip-audit: 1 of 1 locked packages audited."


def test_packages_the_service_cannot_audit_are_named_and_fail_only_when_required() -> None:
    summary = checks.summarise({"dependencies": [CLEAN, UNKNOWN]})
    ok, lines = checks.verdict(summary, require_audit=False)
    assert ok
    assert "Not known to the service, so not audited: circlecare-private." in lines
    assert not checks.verdict(summary, require_audit=True)[0]


def test_an_audit_that_reached_nothing_does_not_call_itself_clean() -> None:
    ok, lines = checks.verdict(
        checks.summarise({"dependencies": [UNKNOWN, UNKNOWN]}), require_audit=False
    )
    text = "\n".join(lines)
    assert "0 of 2 locked packages audited" in text
    assert "nothing was audited" in text
    assert "No known vulnerabilities" not in text
    assert ok  # reported, not failed: only --require-audit makes it fail


def test_a_service_that_does_not_answer_is_asked_once_and_reported(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """From a network that drops the traffic, the audit does not wait out a timeout for every
    package: one probe, then the report that nothing was audited (a failure when required)."""
    monkeypatch.setitem(checks.PROBES, "pypi", "http://127.0.0.1:9/")  # nothing listens there
    ran: list[Any] = []
    monkeypatch.setattr(checks.subprocess, "run", lambda *a, **k: ran.append(a))
    assert checks.run_pip_audit(service="pypi", require_audit=False)
    assert not checks.run_pip_audit(service="pypi", require_audit=True)
    assert ran == []
    out = capsys.readouterr().out
    assert "did not answer" in out and "nothing was audited" in out


bandit = pytest.mark.skipif(
    shutil.which("bandit", path=str(ROOT / ".venv" / "bin")) is None,
    reason="bandit is not installed (pip install -e '.[dev]')",
)


@bandit
def test_bandit_finds_nothing_in_the_code_as_it_is() -> None:
    assert checks.run_bandit()


@bandit
def test_bandit_refuses_an_unreviewed_risky_call(tmp_path: Path) -> None:
    risky = tmp_path / "risky.py"
    risky.write_text(
        "import pickle\n\n\ndef load(data: bytes) -> object:\n    return pickle.loads(data)\n"
    )
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "bandit"), "-c", "pyproject.toml", "-q", str(risky)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "B301" in done.stdout
