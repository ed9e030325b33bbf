"""A reply template at the limits of the budget, for benchmarks of the event loop (issue 15, item 7).

Another benchmark fires it with two calls: :func:`add_limit_behavior` (through the real service, as
``/behavior add`` does) and then a chat message :func:`firing_message` in the persona's channel; the persona answers
with the template instead of asking the model. :func:`longest_stall` measures the event loop meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.behaviors import REPLY_TEMPLATE_MAX
from bot.services import behaviors
from bot.services.behaviors import BehaviorView
from bot.services.personas import Actor
from bot.templating.behavior_templates import check_reply_template
from bot.templating.reply_language import MAX_DEPTH

KEYWORD = "lighthouse"


def limit_template() -> str:
    """A legal reply template as heavy as the budget allows: the issue's shape (``{{ persona|upper|...}}``) at the
    deepest nesting allowed, repeated and padded to exactly the size limit (1,000 characters)."""
    chain = "{{ persona" + "|upper" * (MAX_DEPTH - 3) + " }}"
    count = REPLY_TEMPLATE_MAX // (len(chain) + 1)
    body = " ".join([chain] * count) + " "
    source = body + "!" * (REPLY_TEMPLATE_MAX - len(body))
    check_reply_template(source)  # within the budget, or this benchmark measures nothing
    return source


def firing_message(persona_name: str) -> str:
    """A chat message that addresses the persona and fires the behaviour :func:`add_limit_behavior` added."""
    return f"{persona_name}, is the {KEYWORD} lit tonight?"


async def add_limit_behavior(
    session: AsyncSession, owner_id: int, guild_id: int, persona_id: int, *, now: datetime
) -> BehaviorView:
    """Add to the persona (owned by ``owner_id``) a behaviour that answers :func:`firing_message` with
    :func:`limit_template`, through :func:`bot.services.behaviors.add` (where the template is checked and compiled,
    once, in a worker thread)."""
    return await behaviors.add(
        session, Actor(owner_id, guild_id), persona_id, name="At the limit", trigger_kind="keywords",
        trigger_config={"words": [KEYWORD]}, action_kind="reply", action_config={"template": limit_template()},
        now=now,
    )  # fmt: skip


@dataclass
class Stall:
    """The longest gap between ticks of a 1 ms timer (what any other task on the loop waited at worst)."""

    longest_ms: float = 0.0


@asynccontextmanager
async def longest_stall(tick: float = 0.001) -> AsyncIterator[Stall]:
    """Measure the event loop's longest stall while the block runs."""
    stall = Stall()

    async def ticker() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(tick)
            now = time.perf_counter()
            stall.longest_ms = max(stall.longest_ms, (now - last - tick) * 1000)
            last = now

    task = asyncio.create_task(ticker())
    try:
        yield stall
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
