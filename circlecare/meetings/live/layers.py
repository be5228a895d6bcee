"""The Redis channel layer the room runs on in production.

redis-py can swallow a cancellation that lands while a blocking pop is in flight (redis/redis-py
issue 2028). channels_redis receives with such a pop (``BZPOPMIN``, 5 s) in a loop, so when
channels cancels a closed socket's receive task and the cancellation is swallowed, the task goes
on popping forever: a leaked task and Redis connection per unlucky disconnect, and an event loop
that never finishes shutting down. The task still *knows* it was asked to stop
(``Task.cancelling()``), so before each pop this layer checks and stops then: a swallowed
cancellation ends the receive within one pop's timeout instead of never.
"""

from __future__ import annotations

import asyncio
from typing import Any

from channels_redis.core import RedisChannelLayer


class RoomChannelLayer(RedisChannelLayer):
    async def _brpop_with_clean(self, index: int, channel: str, timeout: float) -> Any:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError
        return await super()._brpop_with_clean(index, channel, timeout)
