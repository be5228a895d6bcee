"""schemathesis against the running API, with a token for each role: no 5xx, no schema violations,
no status the document does not list; ids in addresses are the seeded practice's real ones.

Runs scripts/fuzz_api.py (its own throwaway database and server) with a small number of examples so
it stays quick in CI; run the script by hand for a longer search.

It runs in the PostgreSQL run only: that is the deployed database, and the stricter one (a NUL
byte in text, a number past a column's range, fail there and not on SQLite), and the search takes
minutes, which the SQLite run would only repeat. ``python scripts/fuzz_api.py`` runs it on SQLite.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "fuzz_api.py"


@pytest.mark.skipif(
    importlib.util.find_spec("schemathesis") is None,
    reason="schemathesis is not installed (pip install -e '.[dev]')",
)
@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="runs against PostgreSQL (set DATABASE_URL); scripts/fuzz_api.py runs it on SQLite",
)
def test_fuzzing_every_role_finds_no_server_errors_or_schema_violations() -> None:
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the script sets its own
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--max-examples", "3", "--seed", "20261122"],
        env=env,
        capture_output=True,
        text=True,
        timeout=420,
        check=False,
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report[-20000:]
    for role in ("anonymous", "member", "facilitator", "clinician", "coordinator"):
        assert f"  {role}" in report and "FAILED" not in report
