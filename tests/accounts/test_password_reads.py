"""Pages show people by name; no page reads anyone's password hash but the signed-in person's own.

Every page of the site is walked as every role, with the access matrices' worlds (notes, alerts,
care posts, matches, reflections, meetings), and each statement the page sends is checked: a
password column may be selected only by the read of the signed-in user's own row, which Django's
authentication makes on every request.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests import test_access_matrix as site
from tests.care import test_access_matrix as care
from tests.meetings import test_access_matrix as meetings

pytestmark = pytest.mark.django_db

_OWN_ROW = re.compile(r'FROM "accounts_user" WHERE "accounts_user"\."id" = (\d+)')


def _foreign_password_reads(client: Client, url: str, me: Any) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code < 500, url
    found = []
    for query in ctx.captured_queries:
        sql = query["sql"]
        if '"password"' not in sql:
            continue
        own = _OWN_ROW.search(sql)
        if own and int(own.group(1)) == me.pk and sql.count('"password"') == 1:
            continue
        found.append(f"{url}: {sql[:300]}")
    return found


def _walk(world: dict[str, Any], urls: list[str]) -> list[str]:
    found: list[str] = []
    for user in world["users"].values():
        if user is None:
            continue
        client = Client()
        client.force_login(user)
        for url in urls:
            found += _foreign_password_reads(client, url, user)
    return found


def test_no_page_reads_another_persons_password_hash() -> None:
    w = site.world()
    urls = [build(w) for method, build in site.ROUTES.values() if method == "get"]
    assert len(urls) > 30
    assert _walk(w, urls) == []


def test_no_care_page_reads_another_persons_password_hash() -> None:
    w = care.world()
    urls = [
        reverse(f"care:{name}", args=args(w))
        for name, (method, args, _expected) in care.MATRIX.items()
        if method == "get"
    ]
    assert _walk(w, urls) == []


def test_no_meetings_page_reads_another_persons_password_hash() -> None:
    w = meetings.world()
    urls = [
        reverse(f"meetings:{name}", kwargs=kwargs(w))
        for name, (method, kwargs, _expected) in meetings.MATRIX.items()
        if method == "get"
    ]
    assert _walk(w, urls) == []
