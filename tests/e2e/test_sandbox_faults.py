"""Faults the sandbox can inject, and discord.py surviving them as it would on Discord."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import discord
import pytest

from bot.sandbox import Sandbox

pytestmark = pytest.mark.e2e

SEND = "POST /channels/{channel_id}/messages"


async def collect_messages(bot: discord.Client, n: int, timeout: float = 5.0) -> list[str]:
    got: list[str] = []
    done = asyncio.Event()

    async def on_message(message: discord.Message) -> None:
        got.append(message.content)
        if len(got) >= n:
            done.set()

    bot.add_listener(on_message, "on_message")
    try:
        await asyncio.wait_for(done.wait(), timeout)
    finally:
        bot.remove_listener(on_message, "on_message")
    return got


async def test_dropped_gateway_resumes_and_replays_missed_events(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    gw = sandbox.server.gateway
    resumed = asyncio.ensure_future(bot.wait_for("resumed", timeout=5))
    collecting = asyncio.ensure_future(collect_messages(bot, 3))
    assert await sandbox.drop_gateway() == 1
    # Sent while the client has no socket: they wait in the session and are replayed on RESUME.
    for i in range(3):
        await sandbox.send(sandbox.general, f"missed {i}")
    assert await collecting == ["missed 0", "missed 1", "missed 2"]
    await resumed
    assert (gw.identify_count, gw.resume_count) == (1, 1)
    resume = [p for p in gw.received if p["op"] == 6][-1]["d"]
    assert resume["session_id"] in gw.sessions and resume["token"] == sandbox.token


@pytest.mark.parametrize(("code", "ends"), [(1000, True), (1001, True), (4000, False)])
async def test_a_clean_close_from_the_client_ends_its_session(sandbox: Sandbox, code: int, ends: bool) -> None:
    """As on Discord: closing with 1000/1001 ends the session (nothing more is queued, no RESUME); other codes keep
    it resumable. (discord.py itself closes with 4000 in practice, so its sessions stay resumable.)"""
    gw = sandbox.server.gateway
    async with aiohttp.ClientSession() as http, http.ws_connect(sandbox.server.gateway_url) as ws:
        assert (await ws.receive_json())["op"] == 10
        await ws.send_json({"op": 2, "d": {"token": sandbox.token, "intents": 1 << 9, "properties": {}}})
        assert (await ws.receive_json())["t"] == "READY"
        (session,) = gw.live_sessions()
        await ws.close(code=code)
    await sandbox.wait_until(lambda: session.conn is None, 5, "the sandbox to see the socket closed")
    queued = session.seq
    await sandbox.send(sandbox.general, "sent after the close")
    assert session.invalidated is ends
    assert session.seq == (queued if ends else queued + 1)
    assert session.can_resume_from(queued) is not ends
    # A session left without a socket ends later (Discord's expiry, on demand here): then nothing more is queued.
    assert gw.expire_detached() == (0 if ends else 1)
    assert session.invalidated and not session.can_resume_from(session.seq)


async def test_reconnect_opcode_makes_the_client_resume(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    resumed = asyncio.ensure_future(bot.wait_for("resumed", timeout=5))
    assert await sandbox.send_reconnect() == 1
    await resumed
    collecting = asyncio.ensure_future(collect_messages(bot, 1))
    await sandbox.send(sandbox.general, "after reconnect")
    assert await collecting == ["after reconnect"]
    assert sandbox.server.gateway.identify_count == 1


async def no_identify_delay(shard_id: int | None, *, initial: bool = False) -> None:
    """discord.py waits 5 s before every re-IDENTIFY (Discord's identify limit); the sandbox has none."""


async def test_invalid_session_makes_the_client_identify_again(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    bot.before_identify_hook = no_identify_delay
    gw = sandbox.server.gateway
    ready_again = asyncio.ensure_future(bot.wait_for("ready", timeout=5))
    await sandbox.invalidate_session(resumable=False)
    await ready_again
    assert gw.identify_count == 2 and gw.resume_count == 0
    collecting = asyncio.ensure_future(collect_messages(bot, 1))
    await sandbox.send(sandbox.general, "fresh session")
    assert await collecting == ["fresh session"]


async def test_resume_of_a_lost_session_falls_back_to_identify(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    bot.before_identify_hook = no_identify_delay
    gw = sandbox.server.gateway
    ready_again = asyncio.ensure_future(bot.wait_for("ready", timeout=8))
    gw.sessions.clear()  # as if the gateway restarted
    await sandbox.drop_gateway()
    await ready_again
    assert gw.identify_count == 2


async def test_forced_429_is_retried_by_discord_py(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    sandbox.force_429(SEND, times=2, retry_after=0.05)
    sent = await bot.get_channel(sandbox.general.id).send("eventually")
    assert sandbox.state.messages[sent.id].content == "eventually"
    assert [r.status for r in sandbox.requests("POST", "/channels/{channel_id}/messages")] == [429, 429, 200]


async def test_global_429_is_retried_too(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    sandbox.force_429("*", times=1, retry_after=0.05, is_global=True)
    user = await bot.fetch_user(sandbox.bob.id)
    assert user.name == "bob"
    assert [r.status for r in sandbox.requests("GET", "/users/{user_id}")] == [429, 200]


async def test_bucket_headers_make_discord_py_wait_instead_of_hitting_429(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    sandbox.set_rate_limit(SEND, limit=2, window=0.4)
    channel = bot.get_channel(sandbox.general.id)
    start = time.monotonic()
    for i in range(5):
        await channel.send(f"m{i}")
    elapsed = time.monotonic() - start
    statuses = [r.status for r in sandbox.requests("POST", "/channels/{channel_id}/messages")]
    assert statuses == [200] * 5  # the client read X-RateLimit-* and waited, never provoking a 429
    assert elapsed >= 0.7  # two full windows waited (5 requests, 2 per window)
    assert [p.content for p in sandbox.history()] == [f"m{i}" for i in range(5)]


async def test_exceeding_a_bucket_answers_429_with_discords_shape(sandbox: Sandbox) -> None:
    import aiohttp

    sandbox.set_rate_limit("GET /users/@me", limit=1, window=5)
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bot {sandbox.token}"}
        url = sandbox.server.api_url + "/users/@me"
        async with http.get(url, headers=headers) as ok:
            assert ok.status == 200 and ok.headers["X-RateLimit-Remaining"] == "0"
            assert ok.headers["Content-Type"] == "application/json"
        async with http.get(url, headers=headers) as limited:
            body = await limited.json()
            assert limited.status == 429 and limited.headers["Via"]
            assert body["retry_after"] > 0 and body["global"] is False


async def test_dispatches_queued_together_arrive_as_separate_frames_of_every_size(sandbox: Sandbox) -> None:
    """The gateway frames queued dispatches itself and writes them in one go: a websocket client still reads one
    intact message per dispatch, in order, whatever the length field's form (7-bit, 16-bit, 64-bit)."""
    gw = sandbox.server.gateway
    sizes = [10, 125, 126, 4_000, 65_535, 65_536, 200_000]
    async with aiohttp.ClientSession() as http, http.ws_connect(sandbox.server.gateway_url, max_msg_size=0) as ws:
        assert (await ws.receive_json())["op"] == 10
        await ws.send_json({"op": 2, "d": {"token": sandbox.token, "intents": 1 << 9, "properties": {}}})
        assert (await ws.receive_json())["t"] == "READY"
        for size in sizes:  # queued without a yield in between: one write carries them all
            gw.dispatch("TEST_EVENT", {"fill": "x" * size})
        received = []
        while len(received) < len(sizes):
            event = await asyncio.wait_for(ws.receive_json(), 5)
            if event.get("t") == "TEST_EVENT":
                received.append(len(event["d"]["fill"]))
    assert received == sizes
