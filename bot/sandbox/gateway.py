"""The Gateway: HELLO, heartbeats, IDENTIFY/READY, RESUME with replay, and dispatch fan-out.

Each IDENTIFY makes a :class:`Session` holding every dispatch it was sent (numbered by ``s``), so a
RESUME after a dropped socket replays what the client missed, as Discord does. A connection's writer
task sends the session's buffer from a cursor, which serves live events and replays alike.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from bot.sandbox.state import SandboxState, bot_user_json, guild_json, member_json
from bot.sandbox.transport import Compressor, compressor_for

log = logging.getLogger(__name__)

OP_DISPATCH, OP_HEARTBEAT, OP_IDENTIFY, OP_PRESENCE, OP_VOICE = 0, 1, 2, 3, 4
OP_RESUME, OP_RECONNECT, OP_REQUEST_MEMBERS, OP_INVALID_SESSION, OP_HELLO, OP_ACK = 6, 7, 8, 9, 10, 11

# Gateway intents that gate the events the sandbox sends (Discord's values).
I_GUILDS = 1 << 0
I_GUILD_MEMBERS = 1 << 1
I_GUILD_PRESENCES = 1 << 8
I_GUILD_MESSAGES = 1 << 9
I_GUILD_REACTIONS = 1 << 10
I_DM = 1 << 12
I_DM_REACTIONS = 1 << 13
I_MESSAGE_CONTENT = 1 << 15

_GUILD_INTENT = {
    "MESSAGE_CREATE": I_GUILD_MESSAGES,
    "MESSAGE_UPDATE": I_GUILD_MESSAGES,
    "MESSAGE_DELETE": I_GUILD_MESSAGES,
    "MESSAGE_DELETE_BULK": I_GUILD_MESSAGES,
    "MESSAGE_REACTION_ADD": I_GUILD_REACTIONS,
    "MESSAGE_REACTION_REMOVE": I_GUILD_REACTIONS,
    "MESSAGE_REACTION_REMOVE_ALL": I_GUILD_REACTIONS,
    "GUILD_MEMBER_ADD": I_GUILD_MEMBERS,
    "GUILD_MEMBER_UPDATE": I_GUILD_MEMBERS,
    "GUILD_MEMBER_REMOVE": I_GUILD_MEMBERS,
    "CHANNEL_CREATE": I_GUILDS,
    "CHANNEL_UPDATE": I_GUILDS,
    "CHANNEL_DELETE": I_GUILDS,
    "THREAD_CREATE": I_GUILDS,
    "THREAD_UPDATE": I_GUILDS,
    "GUILD_ROLE_CREATE": I_GUILDS,
    "GUILD_ROLE_UPDATE": I_GUILDS,
}
_CONTENT_EVENTS = ("MESSAGE_CREATE", "MESSAGE_UPDATE")  # blanked without MESSAGE_CONTENT unless the bot is mentioned
_DM_INTENT = {
    "MESSAGE_CREATE": I_DM,
    "MESSAGE_UPDATE": I_DM,
    "MESSAGE_DELETE": I_DM,
    "MESSAGE_REACTION_ADD": I_DM_REACTIONS,
    "MESSAGE_REACTION_REMOVE": I_DM_REACTIONS,
}

# Close codes from the client that end its session, as Discord's do (the bot goes offline; no RESUME).
CLEAN_CLOSE = (1000, 1001)

# How many dispatches a session keeps for RESUME before it must re-identify.
BUFFER_LIMIT = 50_000
# Bytes a connection may have waiting in its socket's buffer before its writer waits for the client to read.
WRITE_BUFFER_LIMIT = 1 << 20


def encode(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


def frame(op: int, d: Any) -> dict[str, Any]:
    """A non-dispatch payload: every frame has ``op``, ``d``, ``s`` and ``t``, the last two null unless ``op`` is 0
    (developers/events/gateway-events.mdx, "Payload Structure")."""
    return {"op": op, "d": d, "s": None, "t": None}


@dataclass
class Session:
    id: str
    shard_id: int
    shard_count: int
    intents: int
    seq: int = 0
    base_seq: int = 1  # seq of buffer[0]
    buffer: list[str] = field(default_factory=list)
    conn: Connection | None = None
    invalidated: bool = False
    presence: dict[str, Any] | None = None

    def append(self, event: str, data: Any) -> None:
        self.append_encoded(event, encode(data))

    def append_encoded(self, event: str, data_json: str) -> None:
        """Queue a dispatch whose ``d`` is already JSON (one encoding shared by every session it goes to)."""
        self.seq += 1
        self.buffer.append(f'{{"op":{OP_DISPATCH},"d":{data_json},"s":{self.seq},"t":"{event}"}}')
        if len(self.buffer) > BUFFER_LIMIT * 2:
            drop = len(self.buffer) - BUFFER_LIMIT
            del self.buffer[:drop]
            self.base_seq += drop
        if self.conn is not None:
            self.conn.wake.set()

    def can_resume_from(self, seq: int | None) -> bool:
        return not self.invalidated and (seq or 0) >= self.base_seq - 1 and (seq or 0) <= self.seq


def ws_frames(payloads: list[bytes], opcode: int = 0x1) -> bytes:
    """Unmasked websocket frames (RFC 6455 section 5.2), one per payload, as one buffer: text (``0x1``) or binary
    (``0x2``)."""
    out = bytearray()
    first = 0x80 | opcode
    for payload in payloads:
        size = len(payload)
        if size < 126:
            out += struct.pack("!BB", first, size)
        elif size < 65536:
            out += struct.pack("!BBH", first, 126, size)
        else:
            out += struct.pack("!BBQ", first, 127, size)
        out += payload
    return bytes(out)


def text_frames(texts: list[str]) -> bytes:
    """Unmasked, uncompressed websocket text frames, one per text, as one buffer."""
    return ws_frames([t.encode() for t in texts])


class Connection:
    """One websocket. Its writer sends the session's buffer from ``cursor``, then waits for more.

    Dispatches queued together leave in one write (``transport``: one system call for the lot, as a busy
    server's would), framed here; everything else (hello, acks, close) goes through aiohttp's writer. Both write
    to the transport synchronously, so frames never interleave."""

    def __init__(self, ws: web.WebSocketResponse, transport: asyncio.Transport | None = None) -> None:
        self.ws = ws
        self.transport = transport
        self.session: Session | None = None
        self.cursor = 0  # last seq sent
        self.wake = asyncio.Event()
        self.writer: asyncio.Task[None] | None = None
        self.encoding = "json"
        self.closed_by_server = False  # else the client closed: 1000/1001 from it end the session
        # Transport compression (zlib-stream, zstd-stream): one context for the connection's whole life.
        self.compressor: Compressor | None = None

    def frames(self, texts: list[str]) -> bytes:
        """The wire bytes of ``texts``: text frames, or binary compressed frames when the client asked for them."""
        if self.compressor is None:
            return text_frames(texts)
        return ws_frames([self.compressor.compress(t.encode()) for t in texts], 0x2)

    async def send_text(self, text: str) -> None:
        if self.compressor is None:
            await self.ws.send_str(text)
        else:
            # Compressed and written in one step (aiohttp writes uncompressed frames synchronously), so frames
            # leave in the order the shared context compressed them.
            await self.ws.send_bytes(self.compressor.compress(text.encode()))

    async def send(self, payload: dict[str, Any]) -> None:
        await self.send_text(json.dumps(payload, separators=(",", ":")))

    async def write_loop(self) -> None:
        try:
            while not self.ws.closed:
                await self.wake.wait()
                self.wake.clear()
                s = self.session
                if s is None:
                    continue
                while self.cursor < s.seq and not self.ws.closed:
                    start = self.cursor + 1 - s.base_seq
                    chunk = s.buffer[start : start + 256]
                    if self.transport is not None and not self.transport.is_closing():
                        self.transport.write(self.frames(chunk))
                        # A client that reads slowly holds the rest back here, not in an unbounded buffer.
                        while self.transport.get_write_buffer_size() > WRITE_BUFFER_LIMIT:
                            if self.transport.is_closing():
                                break
                            await asyncio.sleep(0.001)
                    else:
                        for text in chunk:
                            await self.send_text(text)
                    self.cursor += len(chunk)
        except (ConnectionResetError, RuntimeError):
            pass  # the socket went away; the session keeps buffering for a RESUME


class Gateway:
    """The gateway over ``state``: it authenticates IDENTIFY/RESUME with ``token``, tells clients to resume at
    ``url()`` (known once the server has a port) and reports ``application_flags`` in READY."""

    def __init__(self, state: SandboxState, *, token: str, url: Callable[[], str], application_flags: int) -> None:
        self.state = state
        self.token = token
        self.url = url
        self.application_flags = application_flags
        self.sessions: dict[str, Session] = {}
        self.connections: set[Connection] = set()
        self.heartbeat_interval_ms = 41_250
        # How long a heartbeat's ACK takes, as a network's round trip would. Not zero: discord.py's keep-alive thread
        # notes when it sent a heartbeat only after the event loop has sent it, so an ACK from this in-process
        # server could arrive first and be measured against the heartbeat before ("websocket is 41.3s behind").
        self.ack_delay = 0.05
        self._acks: set[asyncio.Task[None]] = set()
        self.identify_count = 0
        self.resume_count = 0
        self.received: list[dict[str, Any]] = []  # every non-heartbeat op from clients, for tests
        self.on_identify: list[Callable[[Session], None]] = []

    # ----- fan-out -----

    def live_sessions(self) -> list[Session]:
        return [s for s in self.sessions.values() if not s.invalidated]

    def dispatch(self, event: str, data: Any, *, guild_id: int | None = None) -> int:
        """Queue ``event`` for every session that should see it; returns how many did."""
        count = 0
        encoded: dict[bool, str] = {}  # stripped of content or not -> the JSON of ``d``, made once
        for s in self.sessions.values():
            if s.invalidated:
                continue
            shard = (guild_id >> 22) % s.shard_count if guild_id else 0
            if shard != s.shard_id:
                continue
            need = (_GUILD_INTENT if guild_id else _DM_INTENT).get(event)
            if need is not None and not s.intents & need:
                continue
            strip = bool(guild_id) and event in _CONTENT_EVENTS and not s.intents & I_MESSAGE_CONTENT
            if strip not in encoded:
                encoded[strip] = encode(self._strip_content(data) if strip else data)
            s.append_encoded(event, encoded[strip])
            count += 1
        return count

    def _strip_content(self, data: dict[str, Any]) -> dict[str, Any]:
        # Without MESSAGE_CONTENT Discord blanks content unless the bot is mentioned.
        bot = self.state.bot_user
        if bot and any(u.get("id") == str(bot.id) for u in data.get("mentions", [])):
            return data
        return {**data, "content": "", "embeds": [], "attachments": [], "components": []}

    def expire_detached(self) -> int:
        """End every session that has no socket now, as Discord does some time after a socket went away without
        resuming; they are sent nothing more. Returns how many ended."""
        ended = 0
        for s in self.sessions.values():
            if s.conn is None and not s.invalidated:
                s.invalidated = True
                ended += 1
        return ended

    # ----- faults -----

    async def drop(self, code: int = 4000) -> int:
        """Close every socket with ``code`` (not 1000/4004/4010-4014, so the client resumes)."""
        conns = list(self.connections)
        for c in conns:
            c.closed_by_server = True
            await c.ws.close(code=code, message=b"sandbox dropped the connection")
        return len(conns)

    async def send_reconnect(self) -> int:
        conns = list(self.connections)
        for c in conns:
            await c.send(frame(OP_RECONNECT, None))
        return len(conns)

    async def invalidate(self, *, resumable: bool = False) -> int:
        conns = list(self.connections)
        for c in conns:
            if c.session is not None and not resumable:
                c.session.invalidated = True
            await c.send(frame(OP_INVALID_SESSION, resumable))
        return len(conns)

    # ----- the websocket -----

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True, compress=False)
        await ws.prepare(request)
        conn = Connection(ws, request.transport)
        conn.encoding = request.query.get("encoding", "json")
        conn.compressor = compressor_for(request.query.get("compress"))
        self.connections.add(conn)
        conn.writer = asyncio.create_task(conn.write_loop())
        try:
            await conn.send(frame(OP_HELLO, {"heartbeat_interval": self.heartbeat_interval_ms}))
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    if msg.type == WSMsgType.ERROR:
                        break
                    continue
                try:
                    payload = json.loads(msg.data)
                except ValueError:
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                    break
                await self._on_op(conn, payload)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.connections.discard(conn)
            if conn.session is not None and conn.session.conn is conn:
                conn.session.conn = None
                if not conn.closed_by_server and ws.close_code in CLEAN_CLOSE:  # as Discord: no RESUME after it
                    conn.session.invalidated = True
            if conn.writer is not None:
                conn.writer.cancel()
            if not ws.closed:
                await ws.close()
        return ws

    async def _on_op(self, conn: Connection, payload: dict[str, Any]) -> None:
        op = payload.get("op")
        d = payload.get("d")
        if op == OP_HEARTBEAT:
            ack = asyncio.create_task(self._ack(conn))
            self._acks.add(ack)
            ack.add_done_callback(self._acks.discard)
            return
        self.received.append(payload)
        if op == OP_IDENTIFY:
            await self._identify(conn, d or {})
        elif op == OP_RESUME:
            await self._resume(conn, d or {})
        elif op == OP_REQUEST_MEMBERS:
            self._request_members(conn, d or {})
        elif op == OP_PRESENCE:
            if conn.session is not None:
                conn.session.presence = d
        elif op == OP_VOICE:
            pass  # no voice in the sandbox
        else:
            await conn.ws.close(code=4001, message=b"Unknown opcode.")

    async def _ack(self, conn: Connection) -> None:
        await asyncio.sleep(self.ack_delay)
        if not conn.ws.closed:
            try:
                await conn.send(frame(OP_ACK, None))
            except (ConnectionResetError, RuntimeError):
                pass  # the socket went away meanwhile

    async def _identify(self, conn: Connection, d: dict[str, Any]) -> None:
        if d.get("token") != self.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        shard_id, shard_count = d.get("shard") or [0, 1]
        if not 0 <= shard_id < shard_count:
            await conn.ws.close(code=4010, message=b"Invalid shard.")
            return
        self.identify_count += 1
        session = Session(
            id=secrets.token_hex(16),
            shard_id=shard_id,
            shard_count=shard_count,
            intents=int(d.get("intents", 0)),
        )
        self.sessions[session.id] = session
        session.conn = conn
        conn.session = session
        conn.cursor = 0
        state = self.state
        assert state.bot_user is not None
        guilds = [g for g in state.guilds.values() if (g.id >> 22) % shard_count == shard_id]
        # READY's fields (developers/events/gateway-events.mdx, "Ready Event Fields"); ``application`` has
        # "``id`` and ``flags``".
        ready: dict[str, Any] = {
            "v": 10,
            "user": bot_user_json(state.bot_user),
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "resume_gateway_url": self.url(),
            "application": {"id": str(state.bot_user.id), "flags": self.application_flags},
        }
        if d.get("shard") is not None:
            ready["shard"] = [shard_id, shard_count]
        session.append("READY", ready)
        # Without GUILD_PRESENCES a GUILD_CREATE's members "will only contain your bot and users in voice channels"
        # (the same page, "Guild Create"); the others come by REQUEST_GUILD_MEMBERS.
        only = None if session.intents & I_GUILD_PRESENCES else state.bot_user.id
        for g in guilds:
            session.append("GUILD_CREATE", guild_json(state, g, only_member_id=only))
        for hook in self.on_identify:
            hook(session)
        conn.wake.set()

    async def _resume(self, conn: Connection, d: dict[str, Any]) -> None:
        if d.get("token") != self.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        session = self.sessions.get(str(d.get("session_id")))
        seq = d.get("seq")
        if session is None or not session.can_resume_from(seq):
            await conn.send(frame(OP_INVALID_SESSION, False))
            return
        self.resume_count += 1
        old = session.conn
        if old is not None and old is not conn:
            old.session = None
        session.conn = conn
        conn.session = session
        conn.cursor = seq or 0
        # Discord replays what was missed, then says RESUMED.
        session.append("RESUMED", {})  # an object (discord.py adds its shard id to it); no fields documented
        conn.wake.set()

    def _request_members(self, conn: Connection, d: dict[str, Any]) -> None:
        s = conn.session
        if s is None:
            return
        state = self.state
        gid = int(d.get("guild_id", 0))
        guild = state.guilds.get(gid)
        if guild is None:
            return
        query = (d.get("query") or "").lower()
        wanted = {int(u) for u in (d.get("user_ids") or [])}
        members = [
            m
            for m in guild.members.values()
            if (not wanted or m.user_id in wanted) and state.users[m.user_id].username.lower().startswith(query)
        ]
        limit = int(d.get("limit") or 0)
        if limit:
            members = members[:limit]
        chunk: dict[str, Any] = {
            "guild_id": str(gid),
            "members": [member_json(state, m) for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
        }
        if d.get("nonce") is not None:
            chunk["nonce"] = d["nonce"]
        if wanted:
            chunk["not_found"] = [str(u) for u in wanted if u not in guild.members]
        s.append("GUILD_MEMBERS_CHUNK", chunk)
