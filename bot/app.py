"""The bot: builds the database, scheduler and services once, loads the cogs, syncs the command tree.

Cogs reach what the process runs through the bot object (``bot.db``, ``bot.llm``,
:meth:`PersonaHubBot.schedule_ceremony`), never by importing this module at runtime.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import json
import logging
import pkgutil
import signal
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import aiohttp
import discord
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from discord import app_commands
from discord.ext import commands

import bot.cogs
from bot.clock import utcnow
from bot.config import Settings
from bot.core.errors import DomainError
from bot.core.model_settings import ModelChoice
from bot.db import migrate
from bot.db.engine import Database
from bot.db.presence import Holder, ProcessIdentity
from bot.discord_io.replies import error_answer, send_ephemeral
from bot.discord_io.tree import CheckedTree
from bot.llm import OpenAICompatibleProvider, describe_provider, make_provider
from bot.llm.base import ModelUnavailable, Provider
from bot.llm.embeddings import make_embedder
from bot.llm.pool import ProviderPool
from bot.runtime import scheduling
from bot.runtime.leadership import SchedulerLeadership
from bot.services import model_servers, server_guard
from bot.services import model_settings as persona_models
from bot.services.memories import vectors

log = logging.getLogger(__name__)


class DiscordUnreachable(Exception):
    """Discord (or the Discord-compatible API of ``DISCORD_API_URL``) cannot be reached; the message says which."""


# The bot never joins voice: no warnings about voice libraries it does not need.
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False


def bot_intents() -> discord.Intents:
    """Guilds, guild messages, message content (privileged), reactions and DMs: nothing more."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.message_content = True
    intents.guild_reactions = True
    intents.dm_messages = True
    intents.dm_reactions = True
    return intents


def cog_modules() -> list[str]:
    """Every module in ``bot/cogs`` (each has an ``async def setup(bot)``)."""
    return sorted(f"bot.cogs.{m.name}" for m in pkgutil.iter_modules(bot.cogs.__path__) if not m.name.startswith("_"))


class PersonaHubBot(commands.AutoShardedBot):
    """The Persona Hub bot. ``db`` and ``scheduler`` exist after ``setup_hook``."""

    db: Database
    scheduler: AsyncIOScheduler | None

    def __init__(self, settings: Settings) -> None:
        # No shard ids: discord.py runs every shard of ``shard_count`` in this process.
        shards: dict[str, Any] = {} if settings.shard_ids is None else {"shard_ids": settings.shard_ids}
        super().__init__(
            # Slash commands only: no prefix ever matches, so no message is taken for a (missing) text command.
            command_prefix=(),
            intents=bot_intents(),
            shard_count=settings.shard_count,
            help_command=None,
            tree_cls=CheckedTree,
            # Nothing the bot sends pings anyone unless a message says otherwise explicitly.
            allowed_mentions=discord.AllowedMentions.none(),
            **shards,
        )
        self.settings = settings
        self.started_at: datetime = utcnow()
        self.scheduler = None
        # Set in setup_hook, after the database answered; close() must work when start-up stopped before that.
        self.leadership: SchedulerLeadership | None = None
        # This process's identity in the leases it takes (bot/db/presence.py); set once the database answered.
        self.identity: ProcessIdentity | None = None
        self._heap_frozen = False
        self.embeddings: vectors.EmbeddingQueue | None = None
        self.model_provider = describe_provider(settings)
        self.llm: Provider = make_provider(settings)
        # Providers for the servers personas name themselves (bot/core/model_settings.py), closed at shutdown.
        self.model_servers = ProviderPool(self._server_provider)
        self.tree.on_error = self.on_app_command_error  # type: ignore[method-assign]

    # ------------------------------------------------------------------------------------------------ lifecycle

    async def setup_hook(self) -> None:
        self.started_at = utcnow()
        self.db = Database(self.settings.database_url)
        await self.db.check()
        self.identity = ProcessIdentity(self.db.engine)
        await self.identity.start()
        if self.settings.auto_migrate:
            await migrate.upgrade(self.db.engine)
        await self.db.changes.start()
        await self._start_embeddings()
        await self._start_scheduler()
        for module in cog_modules():
            await self.load_extension(module)
        if self.application_id is not None:
            await self.sync_commands()

    async def _start_embeddings(self) -> None:
        """Memories' vectors (retrieval by meaning): the server's embedding model when one is set, else the
        embedded default; new memories are embedded in the background after their commit.

        The embedded default is loaded here, before the gateway connection: its tokenizer's parsing holds the
        interpreter's lock for some 40 ms even in a worker thread, a stall nobody waits on now, whereas loaded at
        first use (the backfill job, the first message) it would hold up every member's events (bench_vectors)."""
        key = self.settings.llm_api_key
        vectors.configure(
            make_embedder(
                base_url=self.settings.llm_base_url,
                model=self.settings.llm_embedding_model,
                api_key=key.get_secret_value() if key is not None else None,
            )
        )
        await vectors.warm(vectors.embedder())
        self.embeddings = vectors.EmbeddingQueue(self.db, now=utcnow)
        self.embeddings.start()

    async def _start_scheduler(self) -> None:
        """Every process starts the scheduler, so any of them can schedule jobs in the shared job store; only the
        process holding the scheduler lock runs them (the others start it paused and stand by)."""
        self.leadership = leadership = SchedulerLeadership(self.db)
        self.scheduler = scheduling.build_scheduler(self.settings.database_url)
        scheduling.set_runtime(self)
        leads = self.settings.scheduler_enabled and await leadership.try_acquire()
        self.scheduler.start(paused=not leads)
        scheduling.register_standing_jobs(self.scheduler)
        if self.db.kind == "postgresql":
            scheduling.register_wakeup_job(self.scheduler, self.settings.scheduler_poll_seconds)
        if leads:
            return
        if not self.settings.scheduler_enabled:
            log.info("SCHEDULER_ENABLED is false: this process schedules jobs but leaves running them to another")
            return
        log.warning(
            "Another process already runs the scheduler on this database. This one stands by and takes over if that "
            "one stops. (Set SCHEDULER_ENABLED=false on processes that should never run it.)"
        )
        leadership.stand_by(self._lead)

    async def _lead(self) -> None:
        if self.scheduler is not None:
            self.scheduler.resume()

    def shard_filter(self) -> tuple[int, list[int]] | None:
        """(shard count, this process's shards) when the bot is split across processes, else None (all of them)."""
        count = self.settings.shard_count
        ids = self.settings.shard_ids
        if not count or count <= 1 or ids is None:
            return None
        return (count, list(ids))

    def owns_guild(self, guild_id: int | None) -> bool:
        """Whether guild-scoped work for ``guild_id`` belongs to this process: Discord's rule, (id >> 22) % count;
        DMs and guild-less work belong to shard 0."""
        shards = self.shard_filter()
        if shards is None:
            return True
        count, ids = shards
        return (0 if guild_id is None else (guild_id >> 22) % count) in ids

    @property
    def lease_holder(self) -> Holder | None:
        """This process as a lease holder (None before the database answered): its identity, and what it has seen
        of the others' (bot/db/presence.py)."""
        return self.identity.holder() if self.identity is not None else None

    def schedule_ceremony(self, persona_id: int, when: datetime | None) -> None:
        """Put a dated plan's ceremony job in the shared job store (replacing the one there), or take it out when
        ``when`` is None. Nothing without a scheduler: the scheduler process's sweep picks dated plans up."""
        if self.scheduler is None:
            return
        if when is None:
            scheduling.unschedule_retirement_ceremony(self.scheduler, persona_id)
        else:
            scheduling.schedule_retirement_ceremony(self.scheduler, persona_id, when)

    @property
    def runs_scheduler(self) -> bool:
        """Whether this process executes scheduled jobs (it holds the scheduler lock)."""
        return (
            self.scheduler is not None
            and self.leadership is not None
            and self.leadership.is_leader
            and self.scheduler.state == STATE_RUNNING
        )

    async def on_ready(self) -> None:
        if not self._heap_frozen:
            # Everything made at start (cogs, caches, the guilds Discord sent) lives as long as the process: moving it
            # out of the collector's sight keeps full collections from pausing the event loop for tens of ms.
            gc.collect()
            gc.freeze()
            self._heap_frozen = True

    async def on_message(self, message: discord.Message, /) -> None:
        """Messages are the cogs' listeners' business: the bot has no text commands to look for in them."""

    async def close(self) -> None:
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self.leadership is not None:
            await self.leadership.release()
        if self.identity is not None:
            await self.identity.stop()
        scheduling.set_runtime(None)
        if self.embeddings is not None:
            await self.embeddings.stop()
        await super().close()
        await self.llm.aclose()
        await self.model_servers.aclose()
        if getattr(self, "db", None) is not None:
            await self.db.dispose()

    # ------------------------------------------------------------------------------------------------ models

    @contextlib.asynccontextmanager
    async def provider_for(self, choice: ModelChoice | None) -> AsyncIterator[Provider]:
        """The provider a reply uses: the persona's own server when its settings name one (``choice``, as the
        server where it speaks allows it), else the bot's. Raises :class:`~bot.llm.base.ModelUnavailable` when the
        persona's server is refused or its key cannot be read."""
        if choice is None or choice.base_url is None:
            yield self.llm
            return
        key = self.settings.memory_encryption_key
        try:
            api_key = persona_models.api_key_of(choice, key.get_secret_value() if key is not None else None)
        except DomainError as error:
            raise ModelUnavailable(str(error)) from None
        async with self.model_servers.lease(choice.base_url, api_key) as provider:
            yield provider

    async def _server_provider(self, base_url: str, api_key: str | None) -> Provider:
        """A provider for a persona's own server, its address checked again first (the name may point elsewhere
        since it was set), then before every request; it never follows a redirect (:mod:`bot.services.server_guard`)."""
        try:
            safe = await model_servers.check_server_url(
                base_url, allow_private=self.settings.allow_private_model_servers
            )
        except DomainError as error:
            raise ModelUnavailable(f"The persona's model server cannot be used: {error}") from None
        allow_private = self.settings.allow_private_model_servers
        return OpenAICompatibleProvider(
            base_url=safe.url,
            api_key=api_key,
            timeout_seconds=self.settings.llm_timeout_seconds,
            reply_seconds=self.settings.llm_reply_seconds,
            max_stop_sequences=self.settings.llm_max_stop_sequences,
            http_client=server_guard.server_client(
                allow_private=allow_private, timeout_seconds=self.settings.llm_timeout_seconds
            ),
        )

    # ------------------------------------------------------------------------------------------------ commands

    def _command_payload(self, guild: discord.abc.Snowflake | None) -> list[dict[str, Any]]:
        return [command.to_dict(self.tree) for command in self.tree.get_commands(guild=guild)]

    async def sync_commands(self) -> bool:
        """Sync the tree (to ``DEV_GUILD_ID`` when set, else globally) when it differs from what Discord has."""
        guild = discord.Object(self.settings.dev_guild_id) if self.settings.dev_guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        local = _fingerprint(self._command_payload(guild))
        try:
            remote_commands = await self.tree.fetch_commands(guild=guild)
            remote = _fingerprint([_remote_payload(c) for c in remote_commands])
        except discord.HTTPException:
            remote = None
        if remote == local:
            log.info("command tree unchanged; not syncing")
            return False
        await self.tree.sync(guild=guild)
        log.info(
            "synced %d commands %s",
            len(self.tree.get_commands(guild=guild)),
            f"to guild {guild.id}" if guild else "globally",
        )
        return True

    async def on_app_command_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """Domain errors are the user's to read (ephemeral); anything else is logged and apologised for."""
        original = getattr(error, "original", error)
        if isinstance(error, app_commands.CheckFailure) and not isinstance(original, DomainError):
            message = str(error) or "You cannot use this command here."
        else:
            name = interaction.command and interaction.command.qualified_name
            message = error_answer(original, failed=f"command {name}")
        await send_ephemeral(interaction, message)


def _canonical_option(option: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": option.get("name"),
        "description": option.get("description", ""),
        "type": option.get("type"),
        "required": bool(option.get("required", False)),
        "autocomplete": bool(option.get("autocomplete", False)),
        "choices": [(c.get("name"), c.get("value")) for c in option.get("choices") or []],
        "channel_types": sorted(option.get("channel_types") or []),
        "min_value": option.get("min_value"),
        "max_value": option.get("max_value"),
        "min_length": option.get("min_length"),
        "max_length": option.get("max_length"),
        "options": [_canonical_option(o) for o in option.get("options") or []],
    }


def _remote_payload(command: app_commands.AppCommand) -> dict[str, Any]:
    """What Discord has, in the local payload's shape (``to_dict`` leaves out permissions and nsfw)."""
    permissions = command.default_member_permissions
    return {
        **command.to_dict(),
        "default_member_permissions": str(permissions.value) if permissions is not None else None,
        "nsfw": command.nsfw,
    }


def _fingerprint(commands_: list[dict[str, Any]]) -> str:
    """A hash of what matters in a command tree, so local and remote trees compare despite server-added fields."""
    canonical = sorted(
        (
            {
                **_canonical_option(c),
                "type": c.get("type", 1),
                "default_member_permissions": (
                    str(c["default_member_permissions"]) if c.get("default_member_permissions") is not None else None
                ),
                "nsfw": bool(c.get("nsfw", False)),
            }
            for c in commands_
        ),
        key=lambda c: (c["name"], c["type"]),
    )
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, default=str).encode()).hexdigest()


async def use_discord_api(api_url: str, token: str) -> None:
    """Talk to a Discord-compatible API at ``api_url`` (REST root, ending in /api/v10) instead of Discord.

    The REST root is set for every request; the gateway's address is asked of that API (``GET /gateway``), because
    a client given an explicit shard count never asks and would dial Discord's own gateway. Raises
    :class:`DiscordUnreachable` when the API does not answer, and ``discord.LoginFailure`` when it refuses the token.
    """
    import yarl

    discord.http.Route.BASE = api_url.rstrip("/")
    headers = {"Authorization": f"Bot {token}"}
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http,
            http.get(f"{discord.http.Route.BASE}/gateway", headers=headers) as response,
        ):
            if response.status == 401:
                raise discord.LoginFailure("Improper token has been passed.")
            response.raise_for_status()
            gateway = (await response.json())["url"]
    except (aiohttp.ClientError, OSError, TimeoutError, KeyError, TypeError, ValueError) as error:
        raise DiscordUnreachable(
            f"Cannot reach the Discord-compatible API at {api_url} ({_reason(error)}): check DISCORD_API_URL."
        ) from error
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)


def _reason(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


async def run_bot(settings: Settings, token: str) -> int:
    """Run until SIGINT/SIGTERM, then shut down cleanly (scheduler stopped, engine disposed)."""
    if settings.discord_api_url:
        await use_discord_api(settings.discord_api_url, token)
    client = PersonaHubBot(settings)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - not on this platform / thread
            pass
    async with client:
        runner = asyncio.create_task(client.start(token))
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if stopper in done:
            log.info("stopping")
            await client.close()
        else:
            stopper.cancel()
        try:
            await runner
        except (aiohttp.ClientConnectionError, TimeoutError) as error:
            # Logging in is the first request to Discord: it did not get through.
            where = (
                f"the Discord-compatible API at {settings.discord_api_url}" if settings.discord_api_url else "Discord"
            )
            setting = "DISCORD_API_URL" if settings.discord_api_url else "the network connection (or DISCORD_API_URL)"
            raise DiscordUnreachable(f"Cannot reach {where} ({_reason(error)}): check {setting}.") from error
    return 0
