"""The meeting room's websocket: waiting room, signalling for the WebRTC mesh, chat, controls.

Media never passes through the server: browsers connect to each other (a full mesh), and this socket
only carries the small messages that set that up. Peers are known to each other by a random peer id
and their display name, nothing else. Messages are relayed, never stored.

Room state is kept in the consumers themselves and in channel-layer groups, so several server processes
share a room through the Redis layer:

- ``live.<meeting>``        everyone admitted: broadcasts (joined, left, chat, hands, media state);
- ``live.<meeting>.fac``    the facilitators: who is waiting, and word that the group's leaders
                            changed (each socket in it then asks whether it still leads);
- ``live.<meeting>.wait``   everyone waiting: asked to announce themselves when a facilitator arrives;
- ``live.p.<peer>``         one socket: signalling and facilitator actions aimed at it;
- ``live.<meeting>.u.<user>`` one person's sockets, of which only the newest stays.

A person is in a room once, however many tabs or reconnections they make: the cache (Redis when
there are several processes) names the socket that is theirs now, each new socket takes that name
and tells the person's group, and any older socket that hears it says why and closes. The others
in the room see the old peer leave and the new one join, so nobody is in the mesh twice.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import math
import secrets
import time
import unicodedata
from datetime import datetime
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from circlecare.accounts.security import second_factor_satisfied
from circlecare.meetings.live import access as room
from circlecare.meetings.live import turn

logger = logging.getLogger(__name__)

MAX_FRAME = 64 * 1024
CHAT_MAX = 1000
REASON_MAX = 500  # as RoomRemoval.reason holds
CHAT_BURST = 30  # messages
CHAT_WINDOW = 10.0  # seconds
FLOOD_PER_SECOND = 60
PEER_ID_LENGTH = 12
#: How deeply a message may nest. The browser's messages go three deep; the Redis layer's
#: serializer gives up a little past 500, and Python's parser near 1,000, each with an exception.
MAX_DEPTH = 16

CLOSE_REFUSED = 4403
CLOSE_FLOOD = 4429
CLOSE_ENDED = 4000
CLOSE_REPLACED = 4409


def clock() -> datetime:
    """The time now; its own name so that tests can move it on without waiting."""
    return timezone.now()


def clean_text(value: Any, limit: int | None = None) -> str:
    if not isinstance(value, str):
        return ""
    text = "".join(ch for ch in value if unicodedata.category(ch) not in {"Cc", "Cf"} or ch == "\n")
    return text.strip()[:limit]


def _no_constant(token: str) -> Any:
    raise ValueError(f"{token} is not JSON a browser can read")


def _whole_number(text: str) -> int:
    # Past 2**53 a browser cannot hold the number exactly, and past 2**63 the Redis layer's
    # serializer cannot hold it at all.
    number = int(text)
    if abs(number) > 2**53:
        raise ValueError("number out of range")
    return number


def _real_number(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("number out of range")
    return number


def parse(text: str) -> Any:
    """JSON as browsers write and read it: NaN, Infinity and numbers no browser can hold are
    refused, since relayed to the others they would reach them as text their browser cannot read."""
    return json.loads(
        text, parse_constant=_no_constant, parse_int=_whole_number, parse_float=_real_number
    )


def too_deep(value: Any, depth: int = 0) -> bool:
    if depth > MAX_DEPTH:
        return True
    if isinstance(value, dict):
        return any(too_deep(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return any(too_deep(v, depth + 1) for v in value)
    return False


def leaders_group(meeting_id: int) -> str:
    """The channel-layer group of a meeting's leaders' sockets."""
    return f"live.{meeting_id}.fac"


def valid_peer(value: Any) -> bool:
    return isinstance(value, str) and len(value) == PEER_ID_LENGTH and value.isalnum()


class RoomConsumer(AsyncJsonWebsocketConsumer):
    access: room.Access | None = None
    #: The server has closed this socket (or begun to): nothing more is re-checked or said.
    shut = False

    # --- lifecycle ---------------------------------------------------------------------------

    async def connect(self) -> None:
        self.access = None
        self.admitted = False
        self.gone = False
        self.presence_id: int | None = None
        self.seen_written: datetime | None = None
        self.watch: asyncio.Task[None] | None = None
        self.shut = False
        self.rechecking = asyncio.Lock()
        self.sent_at: list[float] = []
        self.chat_at: list[float] = []
        user = self.scope.get("user")
        meeting_id = int(self.scope["url_route"]["kwargs"]["meeting_id"])
        self.access = await database_sync_to_async(room.room_access)(user, meeting_id)
        if self.access is not None and not await database_sync_to_async(second_factor_satisfied)(
            user, self.scope.get("session")
        ):
            self.access = None
        if self.access is None:
            # Accept-then-close would tell a stranger the room exists; refuse the handshake.
            await self.close(code=CLOSE_REFUSED)
            return
        self.peer = secrets.token_hex(PEER_ID_LENGTH // 2)
        m = self.access.meeting_id
        self.room_group = f"live.{m}"
        self.fac_group = leaders_group(m)
        self.wait_group = f"live.{m}.wait"
        self.peer_group = f"live.p.{self.peer}"
        self.person_group = f"live.{m}.u.{self.access.user_id}"
        await self.channel_layer.group_add(self.peer_group, self.channel_name)
        await self._take_over()
        await self.accept()
        await self.send_json(
            {
                "type": "welcome",
                "peer": self.peer,
                "name": self.access.display_name,
                "facilitator": self.access.facilitator,
            }
        )
        if self.access.facilitator or await cache.aget(self._admitted_key()):
            await self._admit()
        else:
            await self.channel_layer.group_add(self.wait_group, self.channel_name)
            await self.send_json({"type": "waiting"})
            await self._announce_waiting()
        if self.access.facilitator:
            await self.channel_layer.group_add(self.fac_group, self.channel_name)
            await self.channel_layer.group_send(self.wait_group, {"type": "room.announce"})
        self.watch = asyncio.create_task(self._watch())

    async def disconnect(self, code: int) -> None:
        if self.watch is not None:
            self.watch.cancel()
        await self._leave()

    async def _leave(self) -> None:
        """Take this socket out of the meeting, once: out of every group, the others told, its
        place in the room given up. On closing; and at once for a socket the person's newer tab
        replaces, so that nobody waits on the old tab's closing handshake to see them once."""
        if self.access is None or self.gone:
            return
        self.gone = True
        for group in (
            self.room_group,
            self.fac_group,
            self.wait_group,
            self.peer_group,
            self.person_group,
        ):
            await self.channel_layer.group_discard(group, self.channel_name)
        if self.admitted:
            await self.channel_layer.group_send(
                self.room_group, {"type": "room.left", "peer": self.peer}
            )
        else:
            await self.channel_layer.group_send(
                self.fac_group, {"type": "room.unwait", "peer": self.peer}
            )
        if self.presence_id is not None:
            await database_sync_to_async(room.leave)(self.presence_id, clock())
            self.presence_id = None

    async def _watch(self) -> None:
        """Re-check the right to be here every few seconds: removal, the window closing,
        deactivation, and a leader whom the practice no longer has leading the group."""
        while True:
            await asyncio.sleep(settings.ROOM_RECHECK_SECONDS)
            try:
                if not await self._recheck():
                    return
            except Exception:
                # A database that did not answer this once (a restart, a dropped connection)
                # must not end the re-checking for good: this socket would then stay for ever.
                logger.warning("room re-check failed; trying again", exc_info=True)

    async def _recheck(self) -> bool:
        """Ask again whether this socket may stay in the room, and whether it still leads the
        group. Someone who no longer leads it loses the controls at once; someone who may no
        longer be here at all is told why and the socket closes. False once it is closed.

        The regular re-check and word that the group's leaders changed both come here, one at
        a time, so that nobody is told twice."""
        async with self.rechecking:
            if self.shut or self.access is None:
                return False
            access = self.access
            user = self.scope["user"]
            session_key = getattr(self.scope.get("session"), "session_key", None)
            allowed = await database_sync_to_async(room.still_allowed)(access, user, session_key)
            why = (
                ""
                if allowed
                else await database_sync_to_async(room.why_out)(access, user, session_key)
            )
            if access.facilitator and (
                why == "not_leading"
                or (allowed and not await database_sync_to_async(room.leads_now)(access))
            ):
                await self._step_down()
            if allowed:
                return True
            over = why in {"ended", "cancelled", "moved"}  # for everyone, not only them
            try:
                await self.send_json(
                    {"type": "ended"} if why == "ended" else {"type": "removed", "reason": why}
                )
                await self.close(code=CLOSE_ENDED if over else CLOSE_REFUSED)
            except Exception:  # the browser went away first: nothing left to tell it
                logger.debug("room socket closed before it could be told why", exc_info=True)
            return False

    async def _recheck_now(self) -> None:
        """Re-check at once rather than at the next regular re-check, which still follows if
        the database does not answer this time."""
        try:
            await self._recheck()
        except Exception:
            logger.warning("room re-check failed; the regular one will follow", exc_info=True)

    async def _step_down(self) -> None:
        """The person no longer leads the group: this socket stops acting for a leader, stops
        hearing what only leaders hear, and the page takes the leaders' controls away."""
        if self.access is None or not self.access.facilitator:
            return
        self.access = dataclasses.replace(self.access, facilitator=False)
        await self.channel_layer.group_discard(self.fac_group, self.channel_name)
        try:
            await self.send_json(
                {
                    "type": "role",
                    "facilitator": False,
                    "message": "The practice has changed who leads this group, so you no "
                    "longer have the controls for leading this meeting.",
                }
            )
        except Exception:  # the browser went away first: nothing left to tell it
            logger.debug("room socket closed before it could be told", exc_info=True)

    # --- from the browser ---------------------------------------------------------------------

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kw: Any
    ) -> None:
        if self.access is None or self.gone:
            return  # a replaced tab's last words (a late signal, say) would bring it back
        now = time.monotonic()
        self.sent_at = [t for t in self.sent_at if now - t < 1.0] + [now]
        if len(self.sent_at) > FLOOD_PER_SECOND:
            await self.close(code=CLOSE_FLOOD)
            return
        if text_data is None or len(text_data) > MAX_FRAME:
            await self._error("too_large", "That message is too large.")
            return
        try:
            content = parse(text_data)
        except (ValueError, RecursionError):
            await self._error("malformed", "That message wasn't understood.")
            return
        if (
            not isinstance(content, dict)
            or not isinstance(content.get("type"), str)
            or too_deep(content)
        ):
            await self._error("malformed", "That message wasn't understood.")
            return
        await self.receive_json(content)
        # After the message has gone on its way, so that writing this down never delays it.
        await self._seen()

    async def receive_json(self, content: dict[str, Any], **kwargs: Any) -> None:
        kind = content["type"]
        leader = self.access.leader_word if self.access else "facilitator"
        if kind in FACILITATOR_ONLY and not (self.access and self.access.facilitator):
            await self._error("forbidden", f"Only a {leader} can do that.")
            return
        if kind in FACILITATOR_ONLY and not await self._still_leads():
            return
        if kind not in HANDLERS:
            await self._error("unknown", "That message wasn't understood.")
            return
        if not self.admitted and kind not in WAITING_ALLOWED:
            await self._error("waiting", f"Please wait until a {leader} lets you in.")
            return
        await HANDLERS[kind](self, content)

    async def _still_leads(self) -> bool:
        """Asked of the group as it is now, at the moment of each leader's action: the practice
        may have changed the group's leaders since this socket last checked. When not, the
        action is refused and the socket stops acting for a leader at once."""
        assert self.access is not None
        try:
            leads = await database_sync_to_async(room.leads_now)(self.access)
        except Exception:
            # Nothing only a leader may do is done unchecked.
            logger.warning("could not check that a leader still leads", exc_info=True)
            await self._error("busy", "That couldn't be done just now. Please try again.")
            return False
        if not leads:
            await self._error("forbidden", "You no longer lead this group, so you can't do that.")
            await self._recheck_now()
        return leads

    async def on_signal(self, content: dict[str, Any]) -> None:
        target, data = content.get("to"), content.get("data")
        if not valid_peer(target) or not isinstance(data, dict):
            await self._error("malformed", "That message wasn't understood.")
            return
        await self.channel_layer.group_send(
            f"live.p.{target}",
            {"type": "room.signal", "from": self.peer, "name": self._name(), "data": data,
             "room": self.room_group},
        )  # fmt: skip

    async def on_chat(self, content: dict[str, Any]) -> None:
        now = time.monotonic()
        self.chat_at = [t for t in self.chat_at if now - t < CHAT_WINDOW]
        if len(self.chat_at) >= CHAT_BURST:
            await self._error("slow_down", "You're sending messages quickly. Please wait a moment.")
            return
        text = clean_text(content.get("text"))
        if len(text) > CHAT_MAX:
            # Cutting it short would send something the writer did not say.
            await self._error(
                "too_long",
                f"That message is too long. Please keep it to {CHAT_MAX:,} characters or fewer.",
            )
            return
        if not text:
            return
        self.chat_at.append(now)
        await self.channel_layer.group_send(
            self.room_group,
            {"type": "room.chat", "from": self.peer, "name": self._name(), "text": text,
             "at": timezone.now().isoformat()},
        )  # fmt: skip

    async def on_hand(self, content: dict[str, Any]) -> None:
        await self.channel_layer.group_send(
            self.room_group, {"type": "room.hand", "peer": self.peer, "up": bool(content.get("up"))}
        )

    async def on_media(self, content: dict[str, Any]) -> None:
        await self.channel_layer.group_send(
            self.room_group,
            {"type": "room.media", "peer": self.peer, "audio": bool(content.get("audio")),
             "video": bool(content.get("video"))},
        )  # fmt: skip

    async def on_admit(self, content: dict[str, Any]) -> None:
        target = content.get("peer")
        if not valid_peer(target):
            await self._error("malformed", "That message wasn't understood.")
            return
        await self.channel_layer.group_send(
            f"live.p.{target}", {"type": "room.admit", "room": self.room_group}
        )

    async def on_admit_all(self, content: dict[str, Any]) -> None:
        await self.channel_layer.group_send(
            self.wait_group, {"type": "room.admit", "room": self.room_group}
        )

    async def on_ask_mute(self, content: dict[str, Any]) -> None:
        target = content.get("peer")
        if valid_peer(target):
            await self.channel_layer.group_send(
                f"live.p.{target}", {"type": "room.ask_mute", "room": self.room_group}
            )

    async def on_remove(self, content: dict[str, Any]) -> None:
        target = content.get("peer")
        reason = clean_text(content.get("reason"))
        if not valid_peer(target) or not reason:
            await self._error("reason_required", "Please give a reason for removing someone.")
            return
        if len(reason) > REASON_MAX:
            # The record keeps the reason as written, or not at all.
            await self._error(
                "too_long",
                f"That reason is too long. Please keep it to {REASON_MAX} characters or fewer.",
            )
            return
        assert self.access is not None
        await self.channel_layer.group_send(
            f"live.p.{target}",
            {
                "type": "room.remove",
                "by": self.access.user_id,
                "reason": reason,
                "room": self.room_group,
            },
        )

    async def on_end(self, content: dict[str, Any]) -> None:
        # The meeting's window closes for good before anyone is told: a reload finds it ended.
        assert self.access is not None
        if not await database_sync_to_async(room.end_meeting)(self.access):
            return  # ended already (everyone was told then), or no longer theirs to end
        await self.channel_layer.group_send(self.room_group, {"type": "room.end"})
        await self.channel_layer.group_send(self.wait_group, {"type": "room.end"})

    async def on_leave(self, content: dict[str, Any]) -> None:
        await self.close(code=1000)

    async def on_alive(self, content: dict[str, Any]) -> None:
        """The browser's regular word that it is still here: hearing it is all (see ``_seen``)."""

    # --- from the channel layer (other sockets of this room) ------------------------------

    def _same_room(self, event: dict[str, Any]) -> bool:
        # Peer groups are global; make sure an action aimed at a peer comes from its own room.
        return event.get("room") == getattr(self, "room_group", None)

    async def room_signal(self, event: dict[str, Any]) -> None:
        if self.admitted and self._same_room(event):
            await self.send_json(
                {
                    "type": "signal",
                    "from": event["from"],
                    "name": event["name"],
                    "data": event["data"],
                }
            )

    async def room_joined(self, event: dict[str, Any]) -> None:
        if event["peer"] != self.peer:
            await self.send_json({"type": "joined", "peer": event["peer"], "name": event["name"],
                                  "facilitator": event["facilitator"]})  # fmt: skip

    async def room_left(self, event: dict[str, Any]) -> None:
        if event["peer"] != self.peer:
            await self.send_json({"type": "left", "peer": event["peer"]})

    async def room_chat(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "chat", "from": event["from"], "name": event["name"],
                              "text": event["text"], "at": event["at"]})  # fmt: skip

    async def room_hand(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "hand", "peer": event["peer"], "up": event["up"]})

    async def room_media(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "media", "peer": event["peer"], "audio": event["audio"],
                              "video": event["video"]})  # fmt: skip

    async def room_waiting(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "waiting_peer", "peer": event["peer"], "name": event["name"]})

    async def room_unwait(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "waiting_gone", "peer": event["peer"]})

    async def room_announce(self, event: dict[str, Any]) -> None:
        if not self.admitted:
            await self._announce_waiting()

    async def room_admit(self, event: dict[str, Any]) -> None:
        if not self.admitted and self._same_room(event):
            await cache.aset(self._admitted_key(), True, timeout=self._until_end())
            await self._admit()

    async def room_ask_mute(self, event: dict[str, Any]) -> None:
        if self._same_room(event):
            await self.send_json({"type": "mute_request"})

    async def room_remove(self, event: dict[str, Any]) -> None:
        if not self._same_room(event) or self.access is None or self.access.facilitator:
            return
        removed = await database_sync_to_async(room.remove_from_meeting)(
            access=self.access, remover_id=event["by"], reason=event["reason"]
        )
        if removed:
            await cache.adelete(self._admitted_key())
            await self.send_json({"type": "removed"})
            await self.close(code=CLOSE_REFUSED)

    async def room_leaders(self, event: dict[str, Any]) -> None:
        """The practice changed who leads the group: each leader's socket asks at once whether
        its person still leads it, rather than keep the controls until the next re-check."""
        if self.access is not None and self.access.facilitator and not self.gone:
            await self._recheck_now()

    async def room_replace(self, event: dict[str, Any]) -> None:
        if event["channel"] == self.channel_name:
            return
        # Whichever socket wrote its name last is the person's; reading it here, rather than
        # trusting the order messages arrive in, leaves exactly one when two tabs open at once.
        # A name the cache no longer holds closes nobody.
        current = await cache.aget(self._socket_key())
        if current is None or current == self.channel_name:
            return
        await self._leave()
        await self.send_json({"type": "replaced"})
        await self.close(code=CLOSE_REPLACED)

    async def room_end(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "ended"})
        await self.close(code=CLOSE_ENDED)

    # --- helpers -----------------------------------------------------------------------------

    def _name(self) -> str:
        assert self.access is not None
        return self.access.display_name

    def _admitted_key(self) -> str:
        assert self.access is not None
        return f"live:admitted:{self.access.meeting_id}:{self.access.user_id}"

    def _socket_key(self) -> str:
        assert self.access is not None
        return f"live:socket:{self.access.meeting_id}:{self.access.user_id}"

    async def _take_over(self) -> None:
        """Make this socket the person's one place in the room; an older one closes on hearing it.

        Joining the group before writing the name matters: of two sockets opening together, the
        one that writes last sends its word after the other has joined, so the other hears it.
        """
        await self.channel_layer.group_add(self.person_group, self.channel_name)
        await cache.aset(self._socket_key(), self.channel_name, timeout=self._until_end())
        await self.channel_layer.group_send(
            self.person_group, {"type": "room.replace", "channel": self.channel_name}
        )

    def _until_end(self) -> int:
        assert self.access is not None
        return max(int((self.access.ends_at - timezone.now()).total_seconds()) + 3600, 60)

    async def _seen(self) -> None:
        """Write down that this person's browser was heard from, at most once every
        ``ROOM_PRESENCE_SEEN_SECONDS``: that is what keeps their place in the room's count."""
        if self.presence_id is None:
            return
        now = clock()
        if (
            self.seen_written is not None
            and (now - self.seen_written).total_seconds() < settings.ROOM_PRESENCE_SEEN_SECONDS
        ):
            return
        self.seen_written = now
        if await database_sync_to_async(room.seen)(self.presence_id, now):
            return
        # This socket was silent so long (a computer asleep, say) that its stay was taken for a
        # dead connection's and ended. It is plainly alive: back into the count, if there is room.
        self.presence_id = None
        await self._enter()

    async def _enter(self) -> bool:
        """Take a place in the room's count; if the room is full, say so and close."""
        assert self.access is not None
        # An older socket of the person's that is still alive ends its own stay on hearing that
        # this one took over; one whose server process died cannot, so the newest ends it.
        current = await cache.aget(self._socket_key()) == self.channel_name
        now = clock()
        self.presence_id = await database_sync_to_async(room.enter)(
            self.access, replacing_earlier=current, now=now
        )
        if self.presence_id is None:
            await self._error(
                "room_full", "The room is full right now. Please try again in a moment."
            )
            await self.close(code=CLOSE_REFUSED)
            await self._leave()
            return False
        self.seen_written = now
        return True

    async def _announce_waiting(self) -> None:
        await self.channel_layer.group_send(self.fac_group, {"type": "room.waiting", "peer": self.peer,
                                                             "name": self._name()})  # fmt: skip

    async def _admit(self) -> None:
        assert self.access is not None
        if self.gone:
            return  # replaced while waiting: a "let in" already on its way finds nobody
        if not await self._enter():
            return
        self.admitted = True
        await self.channel_layer.group_discard(self.wait_group, self.channel_name)
        await self.channel_layer.group_send(
            self.fac_group, {"type": "room.unwait", "peer": self.peer}
        )
        await self.channel_layer.group_add(self.room_group, self.channel_name)
        # The servers to connect with come only now: TURN credentials are for those let in, not
        # for someone still waiting (who may never be), and last until the meeting is over.
        servers = await database_sync_to_async(turn.ice_servers)(
            meeting_id=self.access.meeting_id, peer=self.peer, now=clock()
        )
        await self.send_json({"type": "admitted", "ice_servers": servers})
        await self.channel_layer.group_send(
            self.room_group,
            {"type": "room.joined", "peer": self.peer, "name": self._name(),
             "facilitator": self.access.facilitator},
        )  # fmt: skip

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        # Stop re-checking as soon as the server closes the socket, whoever notices first.
        self.shut = True
        watch = getattr(self, "watch", None)
        if watch is not None and watch is not asyncio.current_task():
            watch.cancel()
        await super().close(code=code, reason=reason)

    async def _error(self, code: str, message: str) -> None:
        await self.send_json({"type": "error", "code": code, "message": message})


HANDLERS = {
    "signal": RoomConsumer.on_signal,
    "chat": RoomConsumer.on_chat,
    "hand": RoomConsumer.on_hand,
    "media": RoomConsumer.on_media,
    "admit": RoomConsumer.on_admit,
    "admit_all": RoomConsumer.on_admit_all,
    "ask_mute": RoomConsumer.on_ask_mute,
    "remove": RoomConsumer.on_remove,
    "end": RoomConsumer.on_end,
    "leave": RoomConsumer.on_leave,
    "alive": RoomConsumer.on_alive,
}
FACILITATOR_ONLY = {"admit", "admit_all", "ask_mute", "remove", "end"}
WAITING_ALLOWED = {"leave", "alive"}
