"""The room's Redis layer ends a receive whose cancellation the Redis client swallowed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels_redis.core import RedisChannelLayer

from circlecare.meetings.live.layers import RoomChannelLayer

pytestmark = pytest.mark.asyncio


def swallowing_pop(entered: asyncio.Event) -> Any:
    """A blocking pop that, like redis-py in redis/redis-py#2028, eats the first cancellation
    and returns "nothing popped" instead (and lets later ones through)."""
    swallowed = 0

    async def pop(self: Any, index: int, channel: str, timeout: float) -> Any:
        nonlocal swallowed
        entered.set()
        try:
            await asyncio.Event().wait()  # blocks until cancelled
        except asyncio.CancelledError:
            if swallowed:
                raise
            swallowed += 1
            return None
        raise AssertionError("unreachable")

    return pop


@pytest.mark.parametrize("layer_class", [RoomChannelLayer, RedisChannelLayer])
async def test_a_swallowed_cancellation_still_ends_the_receive(
    layer_class: type[RedisChannelLayer], monkeypatch: pytest.MonkeyPatch
) -> None:
    entered = asyncio.Event()
    monkeypatch.setattr(RedisChannelLayer, "_brpop_with_clean", swallowing_pop(entered))
    layer = layer_class(hosts=["redis://127.0.0.1:6379/13"])
    channel = await layer.new_channel()
    receiving = asyncio.ensure_future(layer.receive(channel))
    await entered.wait()
    entered.clear()
    receiving.cancel()
    if layer_class is RoomChannelLayer:
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(receiving, timeout=5)
        assert not entered.is_set()  # it stopped before popping again
    else:
        # The plain layer pops again, and would wait there for ever if every cancellation were
        # swallowed: the failure this layer prevents.
        await asyncio.wait_for(entered.wait(), timeout=5)
        assert not receiving.done()
        receiving.cancel()
        with pytest.raises(asyncio.CancelledError):
            await receiving
