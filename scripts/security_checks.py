#!/usr/bin/env python
"""The code and dependency scans: bandit over the project's code, pip-audit over the locked
dependencies. Exits non-zero when either finds something.

- **bandit** reads its settings from ``pyproject.toml`` (``[tool.bandit]``) and scans ``circlecare``
  and ``scripts``. Every finding that was reviewed and is safe carries a ``# nosec <id>`` beside
  ruff's ``# noqa`` with the reason; anything new fails the run.
- **pip-audit** checks every pin in ``requirements.lock`` against the vulnerability service it is
  given (PyPI's by default). A known vulnerability in any of them fails the run. Packages the
  service knows nothing about are counted and named, not passed over in silence: from a network
  that cannot reach the service, that is every package, and the summary says so. ``--require-audit``
  (for a release pipeline) fails the run then too.

    .venv/bin/python scripts/security_checks.py [--require-audit] [--service pypi|osv]
"""

from __future__ import annotations

import argparse
import json
import subprocess  # nosec B404  # each call below runs a fixed program with an argument list
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
LOCK = ROOT / "requirements.lock"


@dataclass
class AuditSummary:
    """What a pip-audit JSON report says about the locked packages."""

    packages: int = 0
    audited: int = 0
    not_audited: list[str] = field(default_factory=list)
    #: "name version: advisory id (fixed in …)" for every known vulnerability.
    vulnerable: list[str] = field(default_factory=list)


def summarise(report: dict[str, Any]) -> AuditSummary:
    summary = AuditSummary()
    for dependency in report.get("dependencies", []):
        summary.packages += 1
        if "skip_reason" in dependency:
            summary.not_audited.append(dependency["name"])
            continue
        summary.audited += 1
        for vulnerability in dependency.get("vulns", []):
            fixed = ", ".join(vulnerability.get("fix_versions") or []) or "no fixed release yet"
            summary.vulnerable.append(
                f"{dependency['name']} {dependency.get('version', '?')}: "
                f"{vulnerability.get('id', '?')} (fixed in {fixed})"
            )
    return summary


def verdict(summary: AuditSummary, *, require_audit: bool) -> tuple[bool, list[str]]:
    """Whether the audit passes, and the lines that say why."""
    lines = [f"pip-audit: {summary.audited} of {summary.packages} locked packages audited."]
    ok = True
    if summary.vulnerable:
        ok = False
        lines.append(f"{len(summary.vulnerable)} known vulnerabilities:")
        lines.extend(f"  {entry}" for entry in summary.vulnerable)
    elif summary.audited:
        lines.append("No known vulnerabilities in the audited packages.")
    if summary.not_audited:
        if summary.audited == 0:
            lines.append(
                "The vulnerability service answered for none of them (it may not be reachable "
                "from this network): nothing was audited."
            )
        else:
            lines.append(
                f"Not known to the service, so not audited: {', '.join(summary.not_audited)}."
            )
        if require_audit:
            ok = False
            lines.append("--require-audit: every locked package must be audited.")
    return ok, lines


def run_bandit() -> bool:
    done = subprocess.run(  # nosec B603
        [str(BIN / "bandit"), "-c", "pyproject.toml", "-r", "circlecare", "scripts", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    print(done.stdout, end="")
    # bandit logs a warning for every part of a line whose finding was reviewed and marked as
    # such; only what else it says to stderr is worth showing.
    for line in done.stderr.splitlines():
        if "nosec encountered" not in line:
            print(line, file=sys.stderr)
    print("bandit: " + ("no issues." if done.returncode == 0 else "issues found (above)."))
    return done.returncode == 0


#: One address per vulnerability service, asked once before the audit: from a network that
#: drops the traffic, each of the ~120 packages would otherwise wait out its own timeout.
PROBES = {
    "pypi": "https://pypi.org/pypi/pip/json",
    "osv": "https://api.osv.dev/v1/vulns/PYSEC-2021-1",
}


def reachable(url: str, timeout: float = 10) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout):  # nosec B310  # noqa: S310 - PROBES only
            return True
    except urllib.error.HTTPError:
        return True  # it answered
    except (OSError, ValueError):
        return False


def run_pip_audit(*, service: str, require_audit: bool) -> bool:
    if not reachable(PROBES[service]):
        packages = sum(1 for line in LOCK.read_text().splitlines() if line.strip() and "==" in line)
        summary = AuditSummary(packages=packages, not_audited=["(every package)"])
        ok, lines = verdict(summary, require_audit=require_audit)
        print(f"pip-audit: {PROBES[service]} did not answer.")
        print("\n".join(lines))
        return ok
    done = subprocess.run(  # nosec B603
        [
            str(BIN / "pip-audit"),
            "--requirement",
            str(LOCK),
            "--no-deps",  # the lock pins every package, its dependencies included
            "--disable-pip",
            "--vulnerability-service",
            service,
            "--format",
            "json",
            "--progress-spinner",
            "off",
            "--timeout",
            "20",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        print(done.stdout + done.stderr, file=sys.stderr)
        print("pip-audit: did not run to the end (above).")
        return False
    ok, lines = verdict(summarise(report), require_audit=require_audit)
    print("\n".join(lines))
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--require-audit",
        action="store_true",
        help="fail when the vulnerability service cannot audit a locked package",
    )
    parser.add_argument("--service", default="pypi", choices=["pypi", "osv"])
    options = parser.parse_args()
    bandit_ok = run_bandit()
    audit_ok = run_pip_audit(service=options.service, require_audit=options.require_audit)
    return 0 if bandit_ok and audit_ok else 1


if __name__ == "__main__":
    sys.exit(main())
