"""Waiting in tests: poll a condition until it holds, or fail saying what never happened."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any


async def eventually(check: Callable[[], Any], what: str, *, timeout: float = 10.0, interval: float = 0.02) -> None:
    """Wait until ``check()`` is true; ``check`` may be a plain function or return an awaitable (an ``async def``
    or a lambda calling one). Polls every ``interval`` seconds; after ``timeout`` seconds fails with ``what``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)
