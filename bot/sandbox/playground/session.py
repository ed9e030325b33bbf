"""The playground's session: the sandbox, the real bot, and a terminal chat (or a script) acting as a user
(:mod:`bot.sandbox.playground.view` says what each line does)."""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, Any, TextIO

from bot.sandbox.harness import Sandbox
from bot.sandbox.playground.lines import Lines
from bot.sandbox.playground.view import Playground

if TYPE_CHECKING:
    from bot.config import Settings


async def run(sandbox: Sandbox, client: Any, script: str | None, *, stdin: TextIO, out: TextIO) -> int:
    """Drive ``client`` (already constructed) in ``sandbox``: start it, run the lines, close it."""
    pg = Playground(sandbox, out)
    lines = Lines(script, stdin)
    try:
        async with sandbox.run_client(client, timeout=60):
            await pg.settle()
            pg.say(
                f"Connected to the sandbox server '{sandbox.guild.name}' as {pg.user.username} in #general. "
                ":help for help."
            )
            while True:
                line = await lines.next("> ", out)
                if line is None or not await pg.handle(line, lines):
                    break
    finally:
        lines.close()
    return 0


async def main(settings: Settings, script: str | None) -> int:
    """``python -m bot sandbox [--script FILE]``: the sandbox and the real bot with ``settings``' database."""
    from bot.app import PersonaHubBot

    sandbox = Sandbox()
    await sandbox.start(getattr(settings, "sandbox_port", 0) or 0)
    try:
        print(f"sandbox listening on {sandbox.server.base_url}", file=sys.stderr)
        bot = PersonaHubBot(settings)
        async with bot:
            return await run(sandbox, bot, script, stdin=sys.stdin, out=sys.stdout)
    except asyncio.CancelledError:
        # Ctrl-C: asyncio.run cancels us; the context managers above have closed the bot.
        return 130
    finally:
        await sandbox.stop()
