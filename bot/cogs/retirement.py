"""``/retire plan|show|cancel|now`` and ``/legacy``, and the ceremony itself (:func:`perform_ceremony`).

**Planning.** ``/retire plan <persona> [when] [inactivity_days] [channel]`` checks the options at once (a date in
the past, a channel the bot cannot post in: the bot's permissions there are read here and passed to the service as
a fact), then opens a form (selects for archival, access, extras and deletion; a modal for the farewell and the
numbers). **Save plan** saves it in one transaction, and only then schedules the ceremony job
(``retire:ceremony:<id>``) in the persistent job store. ``cancel`` removes the job.

**The ceremony** is crash-safe and runs once. :func:`perform_ceremony` (the scheduled job, the trigger sweep and
``/retire now`` all come here) claims it with a guarded update, writes the farewell (once; a resumed ceremony says
the same), posts the farewell through the channel webhook under the persona's name, then the ceremony embed with a
mood chart of the persona's life, recording each posted message's id before the next step. A ceremony resumed after
a crash skips what it had posted (and recognises a message posted just before the crash in the channel's recent
history). Then the service completes the retirement, and the owner gets the result (and the export, if the plan
asked for it) by DM. No session is held while Discord or the model is awaited.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import send_ephemeral
from bot.clock import utcnow
from bot.cogs._options import actor_of, clip, own_personas, resolve_persona
from bot.core.errors import DomainError
from bot.services import outbox, persona_messages, portability, retirement, webhooks
from bot.services.personas import Actor
from bot.services.retirement import CeremonyClaim, CeremonyResult
from bot.ui import retirement as ui
from bot.ui.speaker import PersonaVoice, Speaker

if TYPE_CHECKING:
    from bot.app import PersonaHubBot
    from bot.db.presence import Holder

log = logging.getLogger(__name__)

READY_TIMEOUT = 120.0
RECENT_MESSAGES = 50  # how far back a resumed ceremony looks for what it may have posted just before a crash
NAMES_LOOKUP_MAX = 100
DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")


# --------------------------------------------------------------------------------------------------- helpers


def parse_when(text: str) -> datetime:
    """A date and time the owner typed: ISO 8601 (with an offset, or UTC when none), or "YYYY-MM-DD HH:MM"."""
    cleaned = text.strip()
    try:
        value = datetime.fromisoformat(cleaned.replace("Z", "+00:00"))
    except ValueError:
        value = None
        for pattern in DATE_FORMATS:
            try:
                value = datetime.strptime(cleaned, pattern)
                break
            except ValueError:
                continue
    if value is None:
        raise DomainError(f"I could not read '{clip(cleaned, 40)}' as a date; write it like 2026-05-01 18:00 (UTC).")
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def can_post(channel: discord.abc.GuildChannel | discord.Thread | None) -> bool:
    """Whether the bot can hold a ceremony in ``channel``: see it, post, embed, attach, and speak as the persona."""
    if not isinstance(channel, discord.TextChannel):
        return False
    me = channel.guild.me
    if me is None:
        return False
    p = channel.permissions_for(me)
    return p.view_channel and p.send_messages and p.embed_links and p.attach_files and p.manage_webhooks


class _WebhookStore:
    """Channel webhooks kept through :mod:`bot.services.webhooks`, one short transaction per call."""

    def __init__(self, bot: PersonaHubBot) -> None:
        self.bot = bot

    async def load(self, channel_id: int) -> tuple[int, str] | None:
        async with self.bot.db.session() as session:
            ref = await webhooks.get(session, channel_id)
        return (ref.webhook_id, ref.token) if ref is not None else None

    async def save(self, channel_id: int, guild_id: int, webhook_id: int, token: str) -> None:
        async with self.bot.db.transaction() as session:
            await webhooks.save(
                session, channel_id=channel_id, guild_id=guild_id, webhook_id=webhook_id, token=token, now=utcnow()
            )

    async def forget(self, channel_id: int, webhook_id: int) -> None:
        async with self.bot.db.transaction() as session:
            await webhooks.forget(session, channel_id, webhook_id)


async def _wait_ready(bot: PersonaHubBot) -> None:
    # A ceremony missed while the bot was down fires as the scheduler starts, before the guilds are loaded.
    await asyncio.wait_for(bot.wait_until_ready(), timeout=READY_TIMEOUT)


async def _posted_before(
    bot: PersonaHubBot, channel: discord.TextChannel, match: Callable[[discord.Message], bool]
) -> discord.Message | None:
    """A message of ours in the channel's recent history that ``match`` recognises (posted just before a crash)."""
    try:
        async for message in channel.history(limit=RECENT_MESSAGES):
            if match(message):
                return message
    except discord.HTTPException:
        return None
    return None


async def _post_farewell(bot: PersonaHubBot, channel: discord.TextChannel, claim: CeremonyClaim, text: str) -> int:
    """The farewell under the persona's name (its channel webhook; the bot's own message where it cannot)."""

    def ours(message: discord.Message) -> bool:
        by_persona = message.webhook_id is not None and message.author.name == claim.name[:80]
        by_bot = bot.user is not None and message.author.id == bot.user.id and bool(message.embeds)
        if by_persona:
            return message.content == text
        return by_bot and (message.embeds[0].description or "") == text

    if claim.resumed:
        found = await _posted_before(bot, channel, ours)
        if found is not None:
            return found.id
    speaker = Speaker(bot, _WebhookStore(bot))
    outlet = await speaker.outlet(channel, PersonaVoice(claim.persona_id, claim.name, claim.avatar_url))
    message = await speaker.send(outlet, text)
    return message.id


async def _post_ceremony(bot: PersonaHubBot, channel: discord.TextChannel, claim: CeremonyClaim, now: datetime) -> int:
    title = f"In memory of {claim.name}"[:256]

    def ours(message: discord.Message) -> bool:
        mine = bot.user is not None and message.author.id == bot.user.id
        return mine and bool(message.embeds) and message.embeds[0].title == title

    if claim.resumed:
        found = await _posted_before(bot, channel, ours)
        if found is not None:
            return found.id
    async with bot.db.session() as session:
        stats = await retirement.life_stats(session, claim.persona_id, now)
        history = await retirement.life_history(session, claim.persona_id, now) if "mood_chart" in claim.show else None
    files = []
    if history is not None:
        files.append(ui.chart_file(await asyncio.to_thread(ui.life_mood_chart, history, claim.name)))
    embed = ui.ceremony_embed(
        claim.name,
        stats,
        claim.show,
        duration_days=claim.duration_days,
        with_chart=bool(files),
        avatar_url=claim.avatar_url,
    )
    message = await channel.send(
        embed=embed,
        files=files,
        nonce=f"retire{claim.persona_id}"[:25],
        allowed_mentions=discord.AllowedMentions.none(),
    )
    return message.id


async def _dm(bot: PersonaHubBot, user_id: int, **kwargs: Any) -> bool:
    try:
        user = bot.get_user(user_id) or await bot.fetch_user(user_id)
        await user.send(**kwargs)
    except discord.HTTPException:
        log.warning("could not DM user %s about a retirement", user_id)
        return False
    return True


async def perform_ceremony(
    bot: PersonaHubBot,
    persona_id: int,
    *,
    trigger: str,
    now: datetime | None = None,
    actor: Actor | None = None,
    scheduled_for: datetime | None = None,
) -> CeremonyResult | None:
    """Run (or resume) a persona's retirement ceremony, once. None when there was nothing to do (retired already,
    held by another process, cancelled, or a stale job), or when another process took the ceremony over while this
    one ran (it looked dead: this one stops without posting more). ``actor``: the owner, for ``/retire now``."""
    now = now or utcnow()
    holder = bot.lease_holder
    try:
        return await _perform(
            bot, persona_id, trigger=trigger, now=now, actor=actor, scheduled_for=scheduled_for, holder=holder
        )
    except retirement.LeaseLost:
        log.warning("the retirement ceremony of persona %d was taken over by another process; stopping", persona_id)
        return None


async def _perform(
    bot: PersonaHubBot,
    persona_id: int,
    *,
    trigger: str,
    now: datetime,
    actor: Actor | None,
    scheduled_for: datetime | None,
    holder: Holder | None,
) -> CeremonyResult | None:
    async with bot.db.transaction() as session:
        claim = await retirement.claim_ceremony(
            session,
            persona_id,
            now=now,
            trigger=trigger,
            actor=actor,
            scheduled_for=scheduled_for,
            holder=holder,
        )
    if claim is None:
        return None
    log.info("retirement ceremony of %s (%d): %s", claim.name, persona_id, "resumed" if claim.resumed else trigger)

    farewell = claim.farewell_text
    if not farewell:
        async with bot.db.session() as session:
            stats = await retirement.life_stats(session, persona_id, now)
            mood = await retirement.mood_words(session, persona_id, now)
        written = await retirement.write_farewell(bot.llm, claim, stats, mood=mood, now=now)
        async with bot.db.transaction() as session:
            farewell = await retirement.keep_farewell(session, persona_id, written, holder=holder)
    elif not claim.farewell_by_model:
        async with bot.db.transaction() as session:
            farewell = await retirement.keep_farewell(session, persona_id, farewell, holder=holder)

    channel: discord.TextChannel | None = None
    if claim.channel_id is not None:
        await _wait_ready(bot)
        found = bot.get_channel(claim.channel_id)
        channel = found if isinstance(found, discord.TextChannel) and can_post(found) else None
        if channel is None:
            log.warning("cannot post the ceremony of persona %d in channel %s", persona_id, claim.channel_id)
    if channel is not None:
        if claim.farewell_message_id is None:
            async with bot.db.transaction() as session:
                await retirement.hold_lease(session, persona_id, now=now, holder=holder)
            message_id = await _post_farewell(bot, channel, claim, farewell)
            async with bot.db.transaction() as session:
                await retirement.record_posted(session, persona_id, "farewell", message_id, channel.id, holder=holder)
                await persona_messages.record(
                    session,
                    message_id=message_id,
                    persona_id=persona_id,
                    guild_id=channel.guild.id,
                    channel_id=channel.id,
                    via_webhook=True,
                    now=now,
                )
        if claim.ceremony_message_id is None:
            async with bot.db.transaction() as session:
                await retirement.hold_lease(session, persona_id, now=now, holder=holder)
            message_id = await _post_ceremony(bot, channel, claim, now)
            async with bot.db.transaction() as session:
                await retirement.record_posted(session, persona_id, "ceremony", message_id, channel.id, holder=holder)

    async with bot.db.transaction() as session:
        result = await retirement.complete_ceremony(session, persona_id, now=now, holder=holder)
        send_export = await retirement.claim_export(session, persona_id, now=now, holder=holder)
    if send_export:
        async with bot.db.session() as session:
            document = await portability.export_native(session, Actor(result.owner_id), persona_id, now=now)
        data = await portability.export_file(document)
        await _dm(
            bot,
            result.owner_id,
            content=f"The complete export of **{discord.utils.escape_markdown(result.name)}**, as it retired.",
            file=discord.File(io.BytesIO(data), filename=f"{_slug(result.name)}-export.json"),
        )
    if actor is None:
        extra = "" if channel is not None or claim.channel_id is None else "\nI could not post in its ceremony channel."
        await _dm(bot, result.owner_id, content=f"Your persona's farewell:\n> {clip(farewell, 1500)}{extra}",
                  embed=ui.result_embed(result))  # fmt: skip
    return result


def _slug(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_" else "-" for c in name.strip().lower()).strip("-")
    return (cleaned or "persona")[:60]


# --------------------------------------------------------------------------------------------------- the cog


CEREMONY_KIND = "ceremony"
HANDOFF_POLL_SECONDS = 1.0


async def ceremony_or_handoff(
    bot: PersonaHubBot,
    persona_id: int,
    *,
    trigger: str,
    now: datetime | None = None,
    scheduled_for: datetime | None = None,
) -> CeremonyResult | str | None:
    """Run the ceremony here when this process owns the persona's guild; otherwise hand it to the process that does,
    through the outbox (guild-scoped work happens only where the guild's shard is served). Returns the ceremony's
    result, ``"handed over"``, or None when there was nothing to do."""
    now = now or utcnow()
    async with bot.db.session() as session:
        guild_id = await retirement.guild_of(session, persona_id)
    if bot.owns_guild(guild_id):
        return await perform_ceremony(bot, persona_id, trigger=trigger, now=now, scheduled_for=scheduled_for)
    async with bot.db.transaction() as session:
        await outbox.enqueue(
            session,
            kind=CEREMONY_KIND,
            # One hand-over per ceremony: a second firing of the same job queues nothing new.
            idempotency_key=f"ceremony:{persona_id}:{scheduled_for.isoformat() if scheduled_for else trigger}",
            payload={
                "persona_id": persona_id,
                "trigger": trigger,
                "scheduled_for": scheduled_for.isoformat() if scheduled_for else None,
            },
            guild_id=guild_id,
            now=now,
        )
    log.info("retirement ceremony of persona %d handed to the process serving guild %s", persona_id, guild_id)
    return "handed over"


class RetirementCog(commands.Cog, name="Retirement"):
    retire = app_commands.Group(name="retire", description="Plan a persona's retirement, and retire it.")

    def __init__(self, bot: PersonaHubBot) -> None:
        self.bot = bot
        self.worker = f"{socket.gethostname()}:{os.getpid()}:ceremonies"
        self._handoffs: asyncio.Task[None] | None = None

    async def cog_load(self) -> None:
        self._handoffs = asyncio.create_task(self._deliver_handoffs(), name="ceremony-handoffs")

    async def cog_unload(self) -> None:
        if self._handoffs is not None:
            self._handoffs.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._handoffs

    async def _deliver_handoffs(self) -> None:
        """Ceremonies another process's scheduler handed to this one (it serves their guilds)."""
        await self.bot.wait_until_ready()
        while True:
            try:
                async with self.bot.db.transaction() as session:
                    items = await outbox.claim(
                        session, worker=self.worker, now=utcnow(), limit=5, kinds=[CEREMONY_KIND],
                        shard=self.bot.shard_filter(),
                    )  # fmt: skip
                for item in items:
                    await self._run_handoff(item)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not take over handed ceremonies; trying again")
            await asyncio.sleep(HANDOFF_POLL_SECONDS)

    async def _run_handoff(self, item: outbox.OutboxItem) -> None:
        payload = item.payload
        scheduled = payload.get("scheduled_for")
        try:
            await perform_ceremony(
                self.bot,
                int(payload["persona_id"]),
                trigger=str(payload.get("trigger") or "date"),
                scheduled_for=datetime.fromisoformat(scheduled) if scheduled else None,
            )
        except Exception as error:
            log.exception("handed ceremony of persona %s failed; it will be tried again", payload.get("persona_id"))
            async with self.bot.db.transaction() as session:
                await outbox.mark_retry(session, item, worker=self.worker, now=utcnow(), error=str(error))
            return
        async with self.bot.db.transaction() as session:
            await outbox.mark_sent(session, [item.id], worker=self.worker, now=utcnow())

    async def retired_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        async with self.bot.db.session() as session:
            rows = await retirement.retired_choices(session, interaction.guild_id, current.strip())
        return [app_commands.Choice(name=clip(name, 100), value=str(pid)) for pid, name in rows]

    def _channel_fact(self, interaction: discord.Interaction, channel_id: int | None) -> bool | None:
        if channel_id is None:
            return None
        guild = interaction.guild
        found = guild.get_channel(channel_id) if guild is not None else None
        return can_post(found)

    # ------------------------------------------------------------------------------------------------ plan

    @retire.command(name="plan", description="Plan a persona's retirement: when, what is kept, who may see it.")
    @app_commands.describe(
        persona="Your persona",
        when="Retire on this date and time (UTC), e.g. 2026-05-01 18:00",
        inactivity_days="Or retire after this many days without activity",
        channel="Where the farewell ceremony is held (default: the server's ceremony channel, or here)",
    )
    @app_commands.autocomplete(persona=own_personas)
    async def plan(
        self,
        interaction: discord.Interaction,
        persona: str,
        when: str | None = None,
        inactivity_days: app_commands.Range[int, 1, 3650] | None = None,
        channel: discord.TextChannel | None = None,
    ) -> None:
        actor = actor_of(interaction)
        now = utcnow()
        async with self.bot.db.session() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            name, state = await retirement.plan_input(session, actor, persona_id)
            default_channel = await retirement.default_ceremony_channel(session, interaction.guild_id)
        channel_id = (
            channel.id
            if channel is not None
            else state.ceremony_channel_id or default_channel or (interaction.channel_id if interaction.guild else None)
        )
        state = replace(
            state,
            when=parse_when(when) if when else state.when,
            inactivity_days=inactivity_days if inactivity_days is not None else state.inactivity_days,
            ceremony_channel_id=channel_id,
        )
        postable = self._channel_fact(interaction, channel_id)
        retirement.check_plan(state, now=now, channel_postable=postable)  # bad options are refused before the form

        async def save(inner: discord.Interaction, form: ui.PlanForm) -> None:
            await self._save(inner, form, postable)

        form = ui.PlanForm(
            owner_id=interaction.user.id, persona_id=persona_id, persona_name=name, state=state, on_save=save
        )
        await interaction.response.send_message(embed=ui.form_embed(name, state), view=form, ephemeral=True)

    async def _save(self, interaction: discord.Interaction, form: ui.PlanForm, postable: bool | None) -> None:
        try:
            async with self.bot.db.transaction() as session:
                view = await retirement.plan_retirement(
                    session, actor_of(interaction), form.persona_id, form.state, now=utcnow(), channel_postable=postable
                )
        except DomainError as error:
            await send_ephemeral(interaction, str(error))
            return
        self._schedule(view.persona_id, view.scheduled_for)
        form.stop()
        note = ""
        if view.scheduled_for is not None and self.bot.scheduler is None:
            note = " (this process runs no scheduler: the scheduler process picks the date up within minutes)"
        embed = ui.plan_embed(view, title=f"Retirement planned: {view.persona_name}")
        if note:
            embed.set_footer(text=note.strip(" ()"))
        await interaction.response.edit_message(embed=embed, view=None)

    def _schedule(self, persona_id: int, when: datetime | None) -> None:
        from bot import scheduling

        scheduler = self.bot.scheduler
        if scheduler is None:
            return
        if when is None:
            scheduling.unschedule_retirement_ceremony(scheduler, persona_id)
        else:
            scheduling.schedule_retirement_ceremony(scheduler, persona_id, when)

    @retire.command(name="show", description="Your persona's retirement plan.")
    @app_commands.describe(persona="Your persona")
    @app_commands.autocomplete(persona=own_personas)
    async def show(self, interaction: discord.Interaction, persona: str) -> None:
        async with self.bot.db.session() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            view = await retirement.get_plan(session, actor_of(interaction), persona_id)
        await interaction.response.send_message(embed=ui.plan_embed(view), ephemeral=True)

    @retire.command(name="cancel", description="Cancel your persona's planned retirement.")
    @app_commands.describe(persona="Your persona")
    @app_commands.autocomplete(persona=own_personas)
    async def cancel(self, interaction: discord.Interaction, persona: str) -> None:
        async with self.bot.db.transaction() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            view = await retirement.cancel(session, actor_of(interaction), persona_id, now=utcnow())
        if self.bot.scheduler is not None:
            from bot import scheduling

            scheduling.unschedule_retirement_ceremony(self.bot.scheduler, persona_id)
        await interaction.response.send_message(
            f"**{discord.utils.escape_markdown(view.persona_name)}** will not retire: the plan is cancelled.",
            ephemeral=True,
        )

    @retire.command(name="now", description="Retire your persona now, by its plan (asks first).")
    @app_commands.describe(persona="Your persona")
    @app_commands.autocomplete(persona=own_personas)
    async def now(self, interaction: discord.Interaction, persona: str) -> None:
        actor = actor_of(interaction)
        async with self.bot.db.session() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            view = await retirement.get_plan(session, actor, persona_id)
        if view.status != "planned":
            raise DomainError(f"{view.persona_name}'s plan is {view.status}; make a new one with /retire plan.")

        async def confirm(inner: discord.Interaction) -> None:
            await inner.response.edit_message(
                embed=discord.Embed(title=f"{view.persona_name} is saying farewell…", colour=ui.FAREWELL_COLOUR),
                view=None,
            )
            try:
                result = await perform_ceremony(self.bot, persona_id, trigger="manual", actor=actor)
            except DomainError as error:
                await inner.edit_original_response(
                    embed=discord.Embed(title="Not retired", description=str(error), colour=ui.FAREWELL_COLOUR)
                )
                return
            if result is None:
                embed = discord.Embed(
                    title="Nothing to do",
                    description=f"{view.persona_name} has retired already, or its ceremony is under way.",
                )
            else:
                embed = ui.result_embed(result)
            await inner.edit_original_response(embed=embed)

        await interaction.response.send_message(
            embed=ui.confirm_embed(view),
            view=ui.confirm_retire(actor.user_id, confirm),
            ephemeral=True,
        )

    # ------------------------------------------------------------------------------------------------ legacy

    @app_commands.command(name="legacy", description="A retired persona's preserved legacy.")
    @app_commands.describe(persona="The retired persona", research="The anonymised research export (JSON)")
    @app_commands.autocomplete(persona=retired_autocomplete)
    async def legacy(self, interaction: discord.Interaction, persona: str, research: bool = False) -> None:
        actor = actor_of(interaction)
        async with self.bot.db.session() as session:
            persona_id = await retirement.find_retired(session, interaction.guild_id, persona)
            view = await retirement.legacy(session, actor, persona_id)
            people = await retirement.people_of(session, persona_id) if research else set()
        if not research:
            await interaction.response.send_message(embed=ui.legacy_embed(view), ephemeral=True)
            return
        if not view.research_available:
            raise DomainError(f"{view.name}'s legacy is not open to research.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        names = await self._names(interaction, people)
        async with self.bot.db.session() as session:
            document = await retirement.research_export(session, actor, persona_id, names=names, now=utcnow())
        data = json.dumps(document, ensure_ascii=False, indent=2).encode()
        await interaction.followup.send(
            f"The anonymised research export of **{discord.utils.escape_markdown(view.name)}**.",
            file=discord.File(io.BytesIO(data), filename=f"{_slug(view.name)}-research.json"),
            ephemeral=True,
        )

    async def _names(self, interaction: discord.Interaction, user_ids: set[int]) -> list[str]:
        """Every name the people behind ``user_ids`` go by here (for the anonymisation)."""
        names: set[str] = set()
        guild = interaction.guild
        for user_id in sorted(user_ids)[:NAMES_LOOKUP_MAX]:
            member = guild.get_member(user_id) if guild is not None else None
            user: discord.abc.User | None = member or self.bot.get_user(user_id)
            if user is None:
                try:
                    user = await self.bot.fetch_user(user_id)
                except discord.HTTPException:
                    continue
            names.update(n for n in (user.name, user.display_name, getattr(user, "global_name", None)) if n)
            if member is not None and member.nick:
                names.add(member.nick)
        return sorted(names)


async def setup(bot: PersonaHubBot) -> None:
    await bot.add_cog(RetirementCog(bot))
