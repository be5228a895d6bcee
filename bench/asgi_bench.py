"""The ASGI application as deployed, behind a bound on concurrent HTTP requests per worker process.

Django opens one database connection per request thread. A deployment bounds that with a
connection pool or a proxy; this small wrapper does the same here (``BENCH_DB_CONCURRENCY``
requests at a time per worker, the rest wait in line), so a burst of 200 requests cannot exhaust
the PostgreSQL server's ``max_connections``. It applies alike to the join endpoint and the floor.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from circlecare.asgi import application as circlecare_app

LIMIT = int(os.environ.get("BENCH_DB_CONCURRENCY", "16"))
_gate: asyncio.Semaphore | None = None


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global _gate
    if scope["type"] != "http":
        await circlecare_app(scope, receive, send)
        return
    if _gate is None:
        _gate = asyncio.Semaphore(LIMIT)
    async with _gate:
        await circlecare_app(scope, receive, send)
