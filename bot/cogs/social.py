"""Public profiles, endorsements and subscriptions: ``/profile``, ``/endorse``, ``/subscribe``, ``/subscriptions``,
and ``/tiers`` (owners define their personas' tiers; admins enable and grant free tiers).

Discord's entitlement events (``on_entitlement_create`` / ``update`` / ``delete``) start, renew and end paid
subscriptions; on ready, the live entitlements are listed once to catch up with events missed while offline.
``/persona publish`` / ``unpublish`` live in the persona cog, ``/admin verify`` in the admin cog.

Every handler finishes its database work before it talks to Discord (SQLite runs inline on one connection).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.clock import utcnow
from bot.cogs._options import CHOICES_MAX, actor_of, clip, own_personas, resolve_persona, visible_personas
from bot.core.errors import DomainError
from bot.core.inputs import parse_id
from bot.services import endorsements, profiles, subscriptions
from bot.services.subscriptions import EntitlementFacts
from bot.ui import profile as profile_ui

if TYPE_CHECKING:
    from bot.app import PersonaHubBot

log = logging.getLogger(__name__)

SUBSCRIPTION_SKU_TYPES = (discord.SKUType.subscription,)


def _facts(entitlement: discord.Entitlement) -> EntitlementFacts:
    return EntitlementFacts(
        id=entitlement.id,
        sku_id=entitlement.sku_id,
        user_id=entitlement.user_id,
        guild_id=entitlement.guild_id,
        deleted=entitlement.deleted,
        starts_at=entitlement.starts_at,
        ends_at=entitlement.ends_at,
    )


def _guild_id(interaction: discord.Interaction) -> int:
    if interaction.guild_id is None:
        raise DomainError("Use this command in a server.")
    return interaction.guild_id


class SocialCog(commands.Cog):
    tiers = app_commands.Group(name="tiers", description="Subscription tiers of your personas.", guild_only=True)

    def __init__(self, bot: PersonaHubBot) -> None:
        self.bot = bot

    # ------------------------------------------------------------------------------------------------ options

    async def tier_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        value = getattr(interaction.namespace, "persona", None)
        if not value:
            return []
        try:
            async with self.bot.db.session() as session:
                persona_id = await resolve_persona(session, interaction, str(value))
                tiers = await subscriptions.list_tiers(session, persona_id)
        except DomainError:
            return []
        typed = current.strip().lower()
        return [
            app_commands.Choice(name=clip(tier.name, 100), value=str(tier.id))
            for tier in tiers
            if typed in tier.name.lower()
        ][:CHOICES_MAX]

    async def _subscription_skus(self) -> list[discord.SKU]:
        try:
            skus = await self.bot.fetch_skus()
        except discord.HTTPException:
            raise DomainError("I could not ask Discord for this app's SKUs; please try again.") from None
        return [sku for sku in skus if sku.type in SUBSCRIPTION_SKU_TYPES]

    async def sku_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        try:
            skus = await self._subscription_skus()
        except DomainError:
            return []
        typed = current.strip().lower()
        return [
            app_commands.Choice(name=clip(sku.name, 100), value=str(sku.id))
            for sku in skus
            if typed in sku.name.lower() or typed in str(sku.id)
        ][:CHOICES_MAX]

    # ------------------------------------------------------------------------------------------------ profile

    @app_commands.command(name="profile", description="A persona's public profile: stats, achievements, timeline.")
    @app_commands.describe(persona="The persona")
    @app_commands.autocomplete(persona=visible_personas)
    async def profile(self, interaction: discord.Interaction, persona: str) -> None:
        async with self.bot.db.session() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            view = await profiles.get_profile(session, actor_of(interaction), persona_id, now=utcnow())
        await interaction.response.send_message(embed=profile_ui.profile_embed(view), ephemeral=True)

    @app_commands.command(name="endorse", description="Endorse a public persona (once; say why if you like).")
    @app_commands.describe(persona="The persona", text="A few words (optional)", remove="Withdraw your endorsement")
    @app_commands.autocomplete(persona=visible_personas)
    async def endorse(
        self,
        interaction: discord.Interaction,
        persona: str,
        text: app_commands.Range[str, 1, 300] | None = None,
        remove: bool = False,
    ) -> None:
        actor = actor_of(interaction)
        async with self.bot.db.transaction() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            if remove:
                result = await endorsements.remove(session, actor, persona_id)
            else:
                result = await endorsements.endorse(session, actor, persona_id, text, now=utcnow())
        await interaction.response.send_message(profile_ui.endorsement_text(result), ephemeral=True)

    # ------------------------------------------------------------------------------------------------ subscribe

    @app_commands.command(name="subscribe", description="Subscribe to a persona's tier.")
    @app_commands.describe(persona="The persona", tier="The tier")
    @app_commands.autocomplete(persona=visible_personas, tier=tier_autocomplete)
    async def subscribe(self, interaction: discord.Interaction, persona: str, tier: str) -> None:
        actor = actor_of(interaction)
        async with self.bot.db.transaction() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            chosen = await subscriptions.find_tier(session, persona_id, tier)
            outcome = await subscriptions.subscribe(session, actor, persona_id, chosen.id, now=utcnow())
        embed = profile_ui.subscribe_embed(outcome)
        if outcome.kind == "premium" and outcome.tier.sku_id is not None:
            view = profile_ui.premium_view(outcome.tier.sku_id)
            await interaction.response.send_message(embed=embed, view=view, ephemeral=True)
        else:
            await interaction.response.send_message(embed=embed, ephemeral=True)

    @app_commands.command(name="subscriptions", description="Your subscriptions to personas.")
    async def list_subscriptions(self, interaction: discord.Interaction) -> None:
        async with self.bot.db.session() as session:
            subs = await subscriptions.list_own(session, interaction.user.id, now=utcnow())
        await interaction.response.send_message(embed=profile_ui.subscriptions_embed(subs), ephemeral=True)

    # ------------------------------------------------------------------------------------------------ /tiers

    @tiers.command(name="list", description="A persona's subscription tiers.")
    @app_commands.describe(persona="The persona")
    @app_commands.autocomplete(persona=visible_personas)
    async def tiers_list(self, interaction: discord.Interaction, persona: str) -> None:
        async with self.bot.db.session() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            record = await profiles.get_profile(session, actor_of(interaction), persona_id, now=utcnow())
            tiers = await subscriptions.list_tiers(session, persona_id)
            free = await subscriptions.free_tiers_enabled(session, interaction.guild_id)
        embed = profile_ui.tiers_embed(record.display_name, tiers, free_enabled=free)
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @tiers.command(name="add", description="Add a subscription tier to your persona (with a Discord SKU to sell it).")
    @app_commands.describe(
        persona="Your persona",
        name="The tier's name",
        description="What it is (optional)",
        priority_replies="Subscribers' messages are answered first",
        longer_memory="The persona remembers subscribers twice as long",
        subscriber_posts="Subscribers see subscriber-only timeline posts",
        sku="A Discord subscription SKU of this app (paid tier); none: a free tier",
    )
    @app_commands.autocomplete(persona=own_personas, sku=sku_autocomplete)
    async def tiers_add(
        self,
        interaction: discord.Interaction,
        persona: str,
        name: app_commands.Range[str, 1, 80],
        description: app_commands.Range[str, 1, 1000] | None = None,
        priority_replies: bool = False,
        longer_memory: bool = False,
        subscriber_posts: bool = False,
        sku: str | None = None,
    ) -> None:
        sku_id: int | None = None
        known: set[int] | None = None
        if sku:
            sku_id = parse_id(sku)
            if sku_id is None:
                raise DomainError("Choose a SKU from the list (or give its id).")
            known = {s.id for s in await self._subscription_skus()}  # asked before the transaction opens
        chosen = [
            perk
            for perk, on in (
                ("priority_replies", priority_replies),
                ("longer_memory", longer_memory),
                ("subscriber_posts", subscriber_posts),
            )
            if on
        ]
        async with self.bot.db.transaction() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            tier = await subscriptions.create_tier(
                session,
                actor_of(interaction),
                persona_id,
                name=name,
                description=description,
                perks=chosen,
                sku_id=sku_id,
                known_sku_ids=known,
                now=utcnow(),
            )
        kind = "sold through Discord" if tier.sku_id is not None else "free (where the server enables free tiers)"
        await interaction.response.send_message(
            f"Tier **{discord.utils.escape_markdown(tier.name)}** added, {kind}: {profile_ui.perks_text(tier.perks)}.",
            ephemeral=True,
        )

    @tiers.command(name="remove", description="Remove one of your persona's tiers (when no one holds it).")
    @app_commands.describe(persona="Your persona", tier="The tier")
    @app_commands.autocomplete(persona=own_personas, tier=tier_autocomplete)
    async def tiers_remove(self, interaction: discord.Interaction, persona: str, tier: str) -> None:
        async with self.bot.db.transaction() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            chosen = await subscriptions.find_tier(session, persona_id, tier)
            removed = await subscriptions.delete_tier(session, actor_of(interaction), persona_id, chosen.id)
        await interaction.response.send_message(
            f"Tier **{discord.utils.escape_markdown(removed.name)}** removed.", ephemeral=True
        )

    @tiers.command(name="grant", description="Grant a free tier to someone (owner or Manage Server).")
    @app_commands.describe(persona="The persona", tier="A free tier", user="Who receives it")
    @app_commands.autocomplete(persona=visible_personas, tier=tier_autocomplete)
    async def tiers_grant(
        self, interaction: discord.Interaction, persona: str, tier: str, user: discord.Member | discord.User
    ) -> None:
        async with self.bot.db.transaction() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            chosen = await subscriptions.find_tier(session, persona_id, tier)
            new, sub = await subscriptions.grant_free(
                session, actor_of(interaction), persona_id, chosen.id, user.id, now=utcnow()
            )
        await interaction.response.send_message(profile_ui.granted_text(new, sub), ephemeral=True)

    @tiers.command(name="revoke", description="End a free subscription (the holder, owner or Manage Server).")
    @app_commands.describe(persona="The persona", tier="A free tier", user="Whose (yourself if not given)")
    @app_commands.autocomplete(persona=visible_personas, tier=tier_autocomplete)
    async def tiers_revoke(
        self,
        interaction: discord.Interaction,
        persona: str,
        tier: str,
        user: discord.Member | discord.User | None = None,
    ) -> None:
        holder = (user or interaction.user).id
        async with self.bot.db.transaction() as session:
            persona_id = await resolve_persona(session, interaction, persona)
            chosen = await subscriptions.find_tier(session, persona_id, tier)
            sub = await subscriptions.end_free(
                session, actor_of(interaction), persona_id, chosen.id, holder, now=utcnow()
            )
        await interaction.response.send_message(
            f"<@{sub.user_id}> no longer holds **{discord.utils.escape_markdown(sub.tier_name)}**.", ephemeral=True
        )

    @tiers.command(name="free", description="Enable or disable free tiers on this server (Manage Server).")
    @app_commands.describe(enabled="Whether free tiers may be held here")
    async def tiers_free(self, interaction: discord.Interaction, enabled: bool) -> None:
        guild_id = _guild_id(interaction)
        async with self.bot.db.transaction() as session:
            await subscriptions.set_free_tiers(
                session,
                guild_id=guild_id,
                can_manage_guild=actor_of(interaction).can_manage_guild,
                enabled=enabled,
                now=utcnow(),
            )
        text = "Free tiers are enabled here." if enabled else "Free tiers are disabled here; paid tiers still work."
        await interaction.response.send_message(text, ephemeral=True)

    # ------------------------------------------------------------------------------------------------ entitlements

    async def _apply(self, entitlement: discord.Entitlement, event: str) -> None:
        try:
            async with self.bot.db.transaction() as session:
                change = await subscriptions.apply_entitlement(session, _facts(entitlement), event=event, now=utcnow())
        except Exception:
            log.exception("entitlement %s (%s) could not be applied", entitlement.id, event)
            return
        if change is not None:
            log.info(
                "entitlement %s %s: subscription %s %s",
                entitlement.id,
                event,
                change.subscription.id,
                change.action,
            )

    @commands.Cog.listener()
    async def on_entitlement_create(self, entitlement: discord.Entitlement) -> None:
        await self._apply(entitlement, "create")

    @commands.Cog.listener()
    async def on_entitlement_update(self, entitlement: discord.Entitlement) -> None:
        await self._apply(entitlement, "update")

    @commands.Cog.listener()
    async def on_entitlement_delete(self, entitlement: discord.Entitlement) -> None:
        await self._apply(entitlement, "delete")

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """Catch up with entitlement events missed while offline (each process; it is idempotent)."""
        try:
            async with self.bot.db.session() as session:
                sku_ids = await subscriptions.sellable_sku_ids(session)
            if not sku_ids:
                return
            listed_at = utcnow()
            live = [
                _facts(e)
                async for e in self.bot.entitlements(limit=None, skus=[discord.Object(s) for s in sorted(sku_ids)])
            ]
            async with self.bot.db.transaction() as session:
                counts = await subscriptions.reconcile_entitlements(
                    session, live, sku_ids=sku_ids, listed_at=listed_at, now=utcnow()
                )
            if counts:
                log.info("entitlements reconciled: %s", counts)
        except Exception:
            log.exception("entitlement reconciliation failed")


async def setup(bot: PersonaHubBot) -> None:
    await bot.add_cog(SocialCog(bot))
