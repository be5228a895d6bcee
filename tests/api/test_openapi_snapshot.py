"""The OpenAPI document at /api/v1/openapi.json must match the committed snapshot.

A change to any operation, parameter or schema shows up here, so changes to the API are made on
purpose and reviewed. After an intended change, rewrite the snapshot and commit it with the change:

    UPDATE_OPENAPI_SNAPSHOT=1 .venv/bin/python -m pytest tests/api/test_openapi_snapshot.py

(The snapshot also changes when another app adds its router, e.g. measures or clinic.)
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

SNAPSHOT = Path(__file__).with_name("openapi_snapshot.json")


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@pytest.mark.django_db
def test_openapi_document_matches_the_snapshot(client: Client) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    current = _dump(response.json())
    if os.environ.get("UPDATE_OPENAPI_SNAPSHOT") == "1":
        SNAPSHOT.write_text(current, encoding="utf-8")
    assert SNAPSHOT.exists(), "No snapshot yet: run with UPDATE_OPENAPI_SNAPSHOT=1 to write it."
    committed = SNAPSHOT.read_text(encoding="utf-8")
    if committed != current:
        diff = "".join(
            difflib.unified_diff(
                committed.splitlines(keepends=True),
                current.splitlines(keepends=True),
                "openapi_snapshot.json",
                "/api/v1/openapi.json",
                n=2,
            )
        )
        pytest.fail(
            "The OpenAPI document differs from tests/api/openapi_snapshot.json. If the change is "
            "intended, rerun with UPDATE_OPENAPI_SNAPSHOT=1 and commit the snapshot.\n"
            + diff[:6000]
        )


def test_every_operation_documents_the_error_shape() -> None:
    """Each authenticated operation says what its errors look like (for clients and fuzzing)."""
    document = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if not operation.get("security"):
                continue  # the public catalog
            responses = operation["responses"]
            for status in ("401", "404", "422"):
                assert status in responses, f"{method.upper()} {path} lacks {status}"
                schema = responses[status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (method, path)
