"""Where the playground keeps things between runs: its folder (``var/playground`` unless ``--home``) holds the world
(``world.json``: the server, channels, users, roles, webhooks and recent messages, with their ids), the bot's
database (``persona_hub.db``, unless ``DATABASE_URL`` names another) and the bot's log (``bot.log``).

:class:`WorldKeeper` reads the world at start and writes it atomically after changes (debounced), and once more at
the end. :func:`start_fresh` removes the world and the playground's own database, never a database that
``DATABASE_URL`` names.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.sandbox.state import SandboxState, WorldFormatError, load_world, world_json

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.sandbox.harness import Sandbox

DEFAULT_HOME = Path("var/playground")
# After a change, wait this long for more before writing the world (one write for a burst of bot activity).
SAVE_AFTER_SECONDS = 0.5
RESTORED = "the saved world"


@dataclass(frozen=True)
class Home:
    """The playground's folder and the files in it."""

    folder: Path = DEFAULT_HOME

    @property
    def world(self) -> Path:
        return self.folder / "world.json"

    @property
    def database(self) -> Path:
        return self.folder / "persona_hub.db"

    @property
    def log(self) -> Path:
        return self.folder / "bot.log"

    @property
    def database_url(self) -> str:
        return f"sqlite+aiosqlite:///{self.database}"


def playground_settings(settings: Settings, home: Home) -> tuple[Settings, bool]:
    """``settings`` with the playground's own database when ``DATABASE_URL`` is not set (environment or ``.env``),
    and whether the database is the playground's own (only that one is removed by a fresh start)."""
    if "database_url" in settings.model_fields_set:
        return settings, False
    return settings.model_copy(update={"database_url": home.database_url}), True


def start_fresh(home: Home, *, owns_database: bool) -> list[Path]:
    """Remove the saved world and, when it is the playground's own, the database (with SQLite's side files).
    Returns what was removed."""
    paths = [home.world]
    if owns_database:
        paths += [home.database.with_name(home.database.name + suffix) for suffix in ("", "-wal", "-shm", "-journal")]
    removed = []
    for path in paths:
        if path.is_file():
            path.unlink()
            removed.append(path)
    return removed


def _named(state: SandboxState) -> dict[str, Any]:
    """The harness's names (alice, bob, the guild, its channels and the bot's role) in a loaded world."""
    assert state.bot_user is not None
    users = {u.username: u for u in state.users.values() if not u.bot}
    guild = next(g for g in state.guilds.values() if g.name == "Sandbox")
    channels = {c.name: c for c in state.channels.values() if c.guild_id == guild.id}
    bot_roles = [state.roles[r] for r in guild.members[state.bot_user.id].roles]
    return {
        "alice": users["alice"],
        "bob": users["bob"],
        "guild": guild,
        "general": channels["general"],
        "personas": channels["personas"],
        "bot_role": next(r for r in bot_roles if r.managed),
    }


class WorldKeeper:
    """The sandbox's world kept in ``path``: :meth:`load` at start, :meth:`keep` while running, :meth:`save`."""

    def __init__(self, sandbox: Sandbox, path: Path) -> None:
        self.sandbox = sandbox
        self.path = path
        self._written = ""

    def load(self) -> str:
        """Bring back the saved world, if any (before the bot connects); says what happened, in a few words."""
        if not self.path.is_file():
            return "a new world"
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            scratch = SandboxState()
            load_world(scratch, data)
            _named(scratch)
        except (OSError, ValueError, KeyError, StopIteration, WorldFormatError) as error:
            bad = self.path.with_name(self.path.name + ".bad")
            os.replace(self.path, bad)
            return f"a new world (the saved one could not be read, kept as {bad}: {error})"
        load_world(self.sandbox.state, data)
        for name, value in _named(self.sandbox.state).items():
            setattr(self.sandbox, name, value)
        server = self.sandbox.server
        for m in self.sandbox.state.messages.values():
            for a in m.attachments:
                a.url = f"{server.base_url}/attachments/{m.channel_id}/{a.id}/{a.filename}"
                server.attachments[a.id] = a
        return RESTORED

    def save(self) -> bool:
        """Write the world when it changed: to a temporary file, then renamed over the old one."""
        text = json.dumps(world_json(self.sandbox.state), ensure_ascii=False, separators=(",", ":"))
        if text == self._written:
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, self.path)
        self._written = text
        return True

    async def keep(self) -> None:
        """Save after each burst of changes (and every few seconds if something changed unnoticed)."""
        server = self.sandbox.server
        while True:
            if await server.wait_change(5.0):
                await asyncio.sleep(SAVE_AFTER_SECONDS)
            self.save()

    @contextlib.asynccontextmanager
    async def kept(self) -> AsyncIterator[None]:
        task = asyncio.create_task(self.keep(), name="playground-world")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self.save()
