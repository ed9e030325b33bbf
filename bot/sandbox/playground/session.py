"""The playground's session: the sandbox, the real bot, and a terminal chat (or a script) acting as a user
(:mod:`bot.sandbox.playground.view` says what each line does; :mod:`bot.sandbox.playground.home` where the world,
the database and the log are kept between runs)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.sandbox.harness import Sandbox
from bot.sandbox.playground.home import RESTORED, Home, WorldKeeper, playground_settings, start_fresh
from bot.sandbox.playground.lines import Lines
from bot.sandbox.playground.view import Playground

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)
RECAP = 5  # messages of #general shown again when a saved world comes back


async def run(
    sandbox: Sandbox, client: Any, script: str | None, *, stdin: TextIO, out: TextIO, world: Path | None = None
) -> int:
    """Drive ``client`` (already constructed) in ``sandbox``: start it, run the lines, close it. With ``world``, the
    sandbox's world is read from that file before the client connects and written back as it changes."""
    keeper = WorldKeeper(sandbox, world) if world is not None else None
    restored = keeper.load() if keeper is not None else None
    lines = Lines(script, stdin)
    pg = Playground(sandbox, out, files_dir=world.parent / "files" if world is not None else None)
    if restored == RESTORED:
        _quietly_seen(pg)
    try:
        async with contextlib.AsyncExitStack() as stack:
            if keeper is not None:
                await stack.enter_async_context(keeper.kept())
            await stack.enter_async_context(sandbox.run_client(client, timeout=60))
            await pg.settle()
            pg.say(
                f"Connected to the sandbox server '{sandbox.guild.name}' as {pg.user.username} in #general"
                f"{f' ({restored})' if restored else ''}. :help for help."
            )
            if restored == RESTORED:
                _recap(pg, sandbox)
            await _loop(pg, lines, out)
    finally:
        lines.close()
    return 0


def _quietly_seen(pg: Playground) -> None:
    """Count the saved world's messages as already shown, so the session prints only what is new."""
    out, pg.out = pg.out, io.StringIO()
    try:
        pg.show_new()
    finally:
        pg.out = out


def _recap(pg: Playground, sandbox: Sandbox) -> None:
    """The last few messages of #general from the saved world."""
    earlier = sandbox.history(sandbox.general, as_user=pg.user)[-RECAP:]
    if earlier:
        pg.say("(earlier in #general)")
        for posted in earlier:
            pg.render(posted, edited=False)


async def _loop(pg: Playground, lines: Lines, out: TextIO) -> None:
    """One line after another until the input ends or ``:quit``; no line's failure ends the session."""
    while True:
        line = await lines.next("> ", out)
        if line is None:
            return
        try:
            if not await pg.handle(line, lines):
                return
        except Exception as error:  # the last resort: a bad path, a bad value, an error in the bot's answer
            log.warning("playground line %r failed", line, exc_info=True)
            pg.say(f"! {_one_line(error)}")
            await pg.settle()


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def _announce(home: Home, *, owns_database: bool, log_file: Path | None, removed: list[Path] | None) -> None:
    if removed is not None:
        gone = ", ".join(str(p) for p in removed) or "nothing was there"
        kept = "" if owns_database else " (kept the database DATABASE_URL names)"
        print(f"Fresh start: removed {gone}{kept}.", file=sys.stderr)
    database = "its database" if owns_database else "the world (the database is DATABASE_URL's)"
    print(
        f"The playground keeps {database} and the world in {home.folder}/; start fresh with "
        f"`make run FRESH=1` (python -m bot sandbox --fresh).",
        file=sys.stderr,
    )
    if log_file is not None:
        print(f"The bot's log: {log_file} (on screen: PLAYGROUND_LOG=screen or --log-to-screen).", file=sys.stderr)


async def main(
    settings: Settings,
    script: str | None,
    *,
    home: Path | None = None,
    fresh: bool = False,
    log_to_screen: bool = False,
) -> int:
    """``python -m bot sandbox [--script FILE] [--home DIR] [--fresh] [--log-to-screen]``: the sandbox and the real
    bot; the world, the database (unless ``DATABASE_URL`` is set) and the log kept in ``home``."""
    from bot.app import PersonaHubBot
    from bot.config import configure_logging

    place = Home(home) if home is not None else Home()
    settings, owns_database = playground_settings(settings, place)
    removed = start_fresh(place, owns_database=owns_database) if fresh else None
    log_file = None if log_to_screen or settings.playground_log == "screen" else place.log
    if log_file is not None:
        configure_logging(settings.log_level, file=log_file)
    _announce(place, owns_database=owns_database, log_file=log_file, removed=removed)

    sandbox = Sandbox()
    await sandbox.start(getattr(settings, "sandbox_port", 0) or 0)
    try:
        print(f"sandbox listening on {sandbox.server.base_url}", file=sys.stderr)
        bot = PersonaHubBot(settings)
        async with bot:
            return await run(sandbox, bot, script, stdin=sys.stdin, out=sys.stdout, world=place.world)
    except asyncio.CancelledError:
        # Ctrl-C: asyncio.run cancels us; the context managers above have closed the bot.
        return 130
    finally:
        await sandbox.stop()
