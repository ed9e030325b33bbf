"""The sandbox must never limit a benchmark: gateway dispatches to a discord.py client, REST requests per second.

Server and clients share one event loop and one core here, so the figures are lower bounds.
"""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import discord

from bench.common import note, report
from bot.sandbox import Sandbox

DISPATCHES = 10_000
REST_REQUESTS = 5_000
CONCURRENCY = 32


async def gateway_dispatches(sb: Sandbox) -> float:
    """MESSAGE_CREATE events made by the sandbox and delivered to discord.py's ``on_message``."""
    intents = discord.Intents.default()
    intents.message_content = True
    client = discord.Client(intents=intents, max_messages=None)
    received = 0
    done = asyncio.Event()

    async def on_message(message: discord.Message) -> None:
        nonlocal received
        received += 1
        if received >= DISPATCHES:
            done.set()

    client.event(on_message)
    async with sb.run_client(client):
        start = time.perf_counter()
        for i in range(DISPATCHES):
            await sb.send(sb.general, f"message {i}")
            if i % 500 == 0:
                await asyncio.sleep(0)  # let the writer and the client run, as real traffic would
        await asyncio.wait_for(done.wait(), 60)
        elapsed = time.perf_counter() - start
    return DISPATCHES / elapsed


async def rest_requests(sb: Sandbox, method: str, path: str, body: dict[str, object] | None) -> float:
    url = sb.server.api_url + path
    headers = {"Authorization": f"Bot {sb.token}", "Content-Type": "application/json"}
    data = json.dumps(body) if body is not None else None
    queue = iter(range(REST_REQUESTS))
    statuses: dict[int, int] = {}

    async def worker(http: aiohttp.ClientSession) -> None:
        for _ in queue:
            async with http.request(method, url, headers=headers, data=data) as response:
                await response.read()
                statuses[response.status] = statuses.get(response.status, 0) + 1

    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as http:
        start = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - start
    if set(statuses) != {200}:
        raise RuntimeError(f"unexpected statuses {statuses}")
    return REST_REQUESTS / elapsed


async def rest_through_discord_py(sb: Sandbox) -> float:
    """Messages sent with discord.py's own HTTP client (its rate limiter reads the sandbox's headers)."""
    client = discord.Client(intents=discord.Intents(guilds=True))
    await client.login(sb.token)
    try:
        channel = client.get_partial_messageable(sb.general.id)
        count = 1_000
        start = time.perf_counter()
        await asyncio.gather(*(channel.send(f"m{i}") for i in range(count)))
        return count / (time.perf_counter() - start)
    finally:
        await client.close()


async def main() -> None:
    async with Sandbox() as sb:
        sb.server.rate_limit = 1_000_000  # the bench measures the server, not the bucket sizes
        rate = await gateway_dispatches(sb)
        report("sandbox_gateway_dispatches_per_s", rate, "events/s")
        note(f"target >= 2000 events/s: {'ok' if rate >= 2000 else 'MISSED'}")
        get_rate = await rest_requests(sb, "GET", "/users/@me", None)
        report("sandbox_rest_get_per_s", get_rate, "requests/s")
        post_rate = await rest_requests(sb, "POST", f"/channels/{sb.general.id}/messages", {"content": "hi"})
        report("sandbox_rest_post_message_per_s", post_rate, "requests/s")
        note(f"target >= 1000 requests/s: {'ok' if min(get_rate, post_rate) >= 1000 else 'MISSED'}")
        dpy_rate = await rest_through_discord_py(sb)
        report("sandbox_rest_discord_py_send_per_s", dpy_rate, "requests/s")


if __name__ == "__main__":
    asyncio.run(main())
