"""``python -m bench.timed_bot run ...``: the bot exactly as ``python -m bot run ...``, also noting for each message
the time from discord.py dispatching its ``message`` event to the model provider being asked to answer it: the
figure ``bench_chat`` measures in process (issue 5's "chat overhead"), here for bot processes of their own.

One line per request, ``<milliseconds>\\t<message text>``, appended to the file named by
``PERSONA_HUB_BENCH_TIMINGS``. Only the benchmarks use this; the bot itself has no such hook.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

from bot.app import PersonaHubBot
from bot.llm.base import ChatReply, ChatRequest
from bot.llm.openai_provider import OpenAICompatibleProvider

_dispatched: dict[str, float] = {}
_out = open(os.environ["PERSONA_HUB_BENCH_TIMINGS"], "a", buffering=1)  # open for the life of the process


def _asked(request: ChatRequest) -> None:
    text = request.voice.message if request.voice is not None else None
    started = _dispatched.pop(text, None) if text else None
    if started is not None:
        _out.write(f"{(time.perf_counter() - started) * 1000:.3f}\t{text}\n")


_dispatch = PersonaHubBot.dispatch
_reply = OpenAICompatibleProvider.reply
_stream = OpenAICompatibleProvider.stream


def dispatch(self: PersonaHubBot, event_name: str, /, *args: Any, **kwargs: Any) -> None:
    if event_name == "message" and args:
        _dispatched[args[0].content] = time.perf_counter()
        while len(_dispatched) > 10_000:  # messages nobody answered
            _dispatched.pop(next(iter(_dispatched)))
    _dispatch(self, event_name, *args, **kwargs)


async def reply(self: OpenAICompatibleProvider, request: ChatRequest) -> ChatReply:
    _asked(request)
    return await _reply(self, request)


async def stream(self: OpenAICompatibleProvider, request: ChatRequest) -> AsyncIterator[str]:
    _asked(request)
    async for text in _stream(self, request):
        yield text


PersonaHubBot.dispatch = dispatch  # type: ignore[method-assign]
OpenAICompatibleProvider.reply = reply  # type: ignore[method-assign]
OpenAICompatibleProvider.stream = stream  # type: ignore[method-assign]

if __name__ == "__main__":
    from bot.__main__ import main

    sys.exit(main())
