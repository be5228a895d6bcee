#!/usr/bin/env python3
"""The two everyday commands, needing nothing but Python on the machine.

    python3 scripts/dev.py demo   # virtualenv, install, migrate, seed the demo practice, serve on :8000
    python3 scripts/dev.py test   # virtualenv, install, the whole test suite (unit, then browser)

``make demo`` and ``make test`` call these.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
PY = VENV / "bin" / "python"
LOCK = ROOT / "requirements.lock"
STAMP = VENV / ".installed"
CHROMIUM = Path("/usr/bin/chromium")


def run(*args: str | Path, env: dict[str, str] | None = None) -> None:
    print("$", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], cwd=ROOT, check=True, env=env)  # nosec B603


def setup() -> None:
    """Create the virtualenv and install the locked dependencies, only when they changed."""
    if not PY.exists():
        print("Creating the virtualenv in .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256(LOCK.read_bytes() + (ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(PY, "-m", "pip", "install", "--quiet", "-c", LOCK, "-e", ".[dev]")
    STAMP.write_text(digest)


def manage(*args: str, env: dict[str, str] | None = None) -> None:
    run(PY, "manage.py", *args, env=env)


def ensure_chromium() -> None:
    if CHROMIUM.exists():
        return
    if shutil.which("apt-get") and os.geteuid() == 0:
        run("apt-get", "update", "-qq")
        run("apt-get", "install", "-y", "-qq", "chromium")
        return
    sys.exit(
        "The browser tests need Debian's Chromium at /usr/bin/chromium: "
        "run `sudo apt-get install -y chromium` and try again."
    )


def demo() -> None:
    setup()
    env = {**os.environ, "DEMO_MODE": "1"}
    manage("migrate", "--no-input", env=env)
    manage("demo", env=env)
    # The worker below runs these chains, as after a deploy: members' Monday-morning care
    # nudges, and finished tasks pruned so they don't pile up in a long-running demo either.
    manage("care_nudges", "--schedule", env=env)
    manage("prune_task_history", "--schedule", env=env)
    worker = subprocess.Popen([str(PY), "manage.py", "db_worker"], cwd=ROOT, env=env)  # nosec B603
    print("\ncirclecare demo: http://127.0.0.1:8000/  (Ctrl-C stops the server and the worker)\n")
    try:
        manage("runserver", "127.0.0.1:8000", env=env)
    except KeyboardInterrupt:
        pass
    finally:
        worker.send_signal(signal.SIGINT)
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()


def test(extra: list[str]) -> None:
    setup()
    env = {**os.environ}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    workers = ["-n", "2"] if "-n" not in extra else []
    code = subprocess.run(  # nosec B603
        [str(PY), "-m", "pytest", "-m", "not browser", *workers, *extra], cwd=ROOT, env=env
    ).returncode
    if code != 0:
        sys.exit(code)
    ensure_chromium()
    # Playwright's sync API can't share a process with asyncio tests: the browser suite runs alone.
    code = subprocess.run(  # nosec B603
        [str(PY), "-m", "pytest", "-m", "browser", "tests/browser", *extra], cwd=ROOT, env=env
    ).returncode
    sys.exit(code)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in {"demo", "test", "setup"}:
        sys.exit(__doc__)
    command, extra = sys.argv[1], sys.argv[2:]
    if command == "demo":
        demo()
    elif command == "test":
        test(extra)
    else:
        setup()


if __name__ == "__main__":
    main()
