"""Production settings refuse to start without their secrets; development needs nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOAD = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"


def load_settings(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "FIELD_ENCRYPTION_KEY"}}
    clean.update({"DJANGO_SETTINGS_MODULE": "circlecare.settings", **env})
    return subprocess.run(
        [sys.executable, "-c", LOAD],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({}, "SECRET_KEY, FIELD_ENCRYPTION_KEY"),
        ({"SECRET_KEY": "x" * 60}, "FIELD_ENCRYPTION_KEY"),
        ({"FIELD_ENCRYPTION_KEY": "k" * 44}, "SECRET_KEY"),
    ],
)
def test_production_refuses_to_start_without_keys(env: dict[str, str], missing: str) -> None:
    result = load_settings(CIRCLECARE_ENV="production", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert missing in result.stderr


def test_production_with_keys_starts_without_debug() -> None:
    result = load_settings(
        CIRCLECARE_ENV="production", SECRET_KEY="s" * 60, FIELD_ENCRYPTION_KEY="k" * 44, DEBUG="1"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_development_starts_with_nothing_set() -> None:
    result = load_settings()
    assert result.returncode == 0, result.stderr


def test_unknown_environment_is_refused() -> None:
    result = load_settings(CIRCLECARE_ENV="staging")
    assert result.returncode != 0
    assert "CIRCLECARE_ENV" in result.stderr
