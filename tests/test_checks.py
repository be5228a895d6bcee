"""The project's deployment checks."""

from __future__ import annotations

from typing import Any

import pytest

from circlecare.checks import site_url


@pytest.mark.parametrize(
    ("url", "hosts", "problem"),
    [
        ("https://care.example.org", ["care.example.org"], None),
        ("https://care.example.org", [".example.org"], None),
        ("http://care.example.org", ["care.example.org"], "is not an https:// address"),
        ("https://127.0.0.1:8000", ["care.example.org"], "ALLOWED_HOSTS does not serve"),
        ("https://", ["care.example.org"], "ALLOWED_HOSTS does not serve"),
    ],
)
def test_site_url_must_be_this_deployments_https_address(
    settings: Any, url: str, hosts: list[str], problem: str | None
) -> None:
    settings.SITE_URL = url
    settings.ALLOWED_HOSTS = hosts
    found = site_url()
    if problem is None:
        assert found == []
    else:
        assert [m.id for m in found] == ["circlecare.W001"]
        assert problem in found[0].msg
