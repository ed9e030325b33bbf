"""What Discord shows for public profiles, endorsements, verification and subscriptions.

Hidden fields (per the viewer) are simply absent. The publish confirmation is the shared confirmation view
(:mod:`bot.ui.confirm`), whose buttons call back into the cog (the UI never calls services); the subscribe answer
for a paid tier carries Discord's premium purchase button (``ButtonStyle.premium`` with the tier's SKU).
"""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.core import achievements
from bot.core import social as rules
from bot.core.social import ProfileView
from bot.core.text import clip, counted
from bot.services.endorsements import EndorsementResult
from bot.services.profiles import PublishPreview, PublishResult, VerificationChange
from bot.services.subscriptions import SubscribeOutcome, SubscriptionView, TierView
from bot.ui.confirm import Callback, ConfirmView
from bot.ui.embeds import fit_fields
from bot.ui.wizard import BRAND_COLOUR, FIELD_VALUE_MAX

SUBSCRIBE_HINT = "Subscribe with /subscribe (the persona and a tier's name)."
BIO_SHOWN = 1000  # keeps the whole embed well under Discord's 6,000 characters
VERIFICATION_BADGES = {"unverified": "Not verified", "verified": "✅ Verified", "official": "🏛️ Official"}
ENDED_SHOWN = 10


def _esc(text: str) -> str:
    return discord.utils.escape_markdown(text)


def _date(moment: object) -> str:
    return discord.utils.format_dt(moment, "D") if hasattr(moment, "timestamp") else "—"  # type: ignore[arg-type]


def achievement_name(key: str) -> str:
    """How people see an achievement: its emoji and title from ``data/achievements.toml`` (a key no longer defined
    there, in words)."""
    found = achievements.by_key().get(key)
    if found is not None:
        return f"{found.emoji} {found.title}"
    return "🏆 " + key.replace("-", " ").replace("_", " ").capitalize()


def profile_embed(view: ProfileView) -> discord.Embed:
    """The public profile as this viewer may see it."""
    embed = discord.Embed(title=clip(view.display_name, 256), colour=BRAND_COLOUR)
    if view.bio:
        embed.description = clip(view.bio, BIO_SHOWN)
    if view.avatar_url:
        embed.set_thumbnail(url=view.avatar_url)
    if view.verification_status is not None:
        embed.add_field(
            name="Verification", value=VERIFICATION_BADGES.get(view.verification_status, view.verification_status)
        )
    stats = []
    if view.created_date is not None:
        stats.append(f"Created {_date(view.created_date)}")
    if view.interaction_count is not None:
        stats.append(f"{view.interaction_count} interactions")
    if view.follower_count is not None:
        stats.append(counted(view.follower_count, "follower"))
    if view.achievement_count is not None:
        stats.append(counted(view.achievement_count, "achievement"))
    if stats:
        embed.add_field(name="Stats", value=clip(" · ".join(stats), FIELD_VALUE_MAX), inline=False)
    if view.achievements is not None:
        lines = [f"{achievement_name(a.key)} ({_date(a.awarded_at)})" for a in view.achievements]
        embed.add_field(name="Achievements", value=clip("\n".join(lines) or "None yet.", FIELD_VALUE_MAX), inline=False)
    if view.timeline is not None:
        lines = []
        for event in view.timeline:
            marker = "🔒 " if event.subscribers_only else ""
            line = f"{_date(event.created_at)} {marker}**{_esc(clip(event.title, 120))}**"
            if event.description:
                line += f": {_esc(clip(event.description, 120))}"
            lines.append(line)
        embed.add_field(name="Timeline", value=clip("\n".join(lines) or "Nothing yet.", FIELD_VALUE_MAX), inline=False)
    if view.endorsements is not None:
        lines = [f"<@{e.user_id}>" + (f": “{_esc(clip(e.text, 150))}”" if e.text else "") for e in view.endorsements]
        title = f"Endorsements ({view.endorsement_count or 0})"
        embed.add_field(name=title, value=clip("\n".join(lines) or "None yet.", FIELD_VALUE_MAX), inline=False)
    contact = []
    if view.allow_messages is not None:
        contact.append("accepts messages" if view.allow_messages else "does not accept messages")
    if view.allow_collaboration is not None:
        contact.append("open to collaboration" if view.allow_collaboration else "not open to collaboration")
    if contact:
        embed.add_field(name="Contact", value=", ".join(contact).capitalize(), inline=False)
    if view.is_owner:
        state = "Published" if view.published else "Not published: only you can see this preview"
        embed.set_footer(text=f"{state}. You see every field; others see what your privacy settings allow.")
    return embed


def publish_preview_embed(preview: PublishPreview) -> discord.Embed:
    """What the owner is asked to confirm before publishing."""
    verb = "Re-publish" if preview.already_published else "Publish"
    embed = discord.Embed(
        title=clip(f"{verb} {preview.persona_name}?", 256),
        description=(
            f"Its public profile, **{_esc(preview.display_name)}**, will be shown with `/profile`. "
            "Each part is seen by the people below (your privacy settings; change them with `/persona edit`). "
            "Confirming records your consent; `/persona unpublish` withdraws it."
        ),
        colour=BRAND_COLOUR,
    )
    lines = [
        f"**{rules.PROFILE_FIELD_LABELS.get(item, item)}**: {rules.AUDIENCE_WORDS[level]}"
        for item, level in preview.scope.items()
    ]
    embed.add_field(
        name="What becomes visible, and to whom", value=clip("\n".join(lines), FIELD_VALUE_MAX), inline=False
    )
    settings = preview.settings
    embed.add_field(
        name="Contact",
        value=(
            f"Accepts messages: {'yes' if settings.allow_messages else 'no'}\n"
            f"Open to collaboration: {'yes' if settings.allow_collaboration else 'no'}"
        ),
        inline=False,
    )
    if preview.profile_raised:
        embed.add_field(
            name="Note",
            value="Its profile is visible to you only today; publishing makes it visible to this server.",
            inline=False,
        )
    return embed


def publish_confirmation(user_id: int, on_confirm: Callback) -> ConfirmView:
    """Publish / Cancel for the one person who asked; the cog does the work in ``on_confirm``."""
    return ConfirmView(user_id, on_confirm, confirm_label="Publish", cancelled_title="Not published")


def published_embed(result: PublishResult, display_name: str) -> discord.Embed:
    when = discord.utils.format_dt(result.recorded_at, "f")
    text = (
        f"**{_esc(display_name)}** is public: anyone on this server can see it with `/profile`. "
        f"Your consent was recorded ({when})."
    )
    if result.notified:
        text += f" {counted(result.notified, 'follower')} will be told."
    return discord.Embed(title=clip(f"{result.persona_name} is published", 256), description=text, colour=BRAND_COLOUR)


def unpublished_text(result: PublishResult) -> str:
    when = discord.utils.format_dt(result.recorded_at, "f")
    return (
        f"**{_esc(result.persona_name)}** is no longer public; its profile is hidden. "
        f"The withdrawal of your consent was recorded ({when})."
    )


def endorsement_text(result: EndorsementResult) -> str:
    name = _esc(result.persona_name)
    if result.action == "removed":
        return f"Your endorsement of **{name}** was removed."
    said = f": “{_esc(result.text)}”" if result.text else ""
    verb = "You endorse" if result.action == "created" else "Your endorsement was updated. You endorse"
    return f"{verb} **{name}**{said}"


def verification_text(change: VerificationChange, *, asked: bool = True) -> str:
    """What ``/admin verify`` answers: the new status and the old one, or (nothing ``asked``) the status as it is."""
    badge = VERIFICATION_BADGES.get(change.status, change.status)
    if not asked:
        choices = ", ".join(VERIFICATION_BADGES.values())
        return f"**{_esc(change.persona_name)}** is {badge}. To change it, give a status: {choices}."
    previous = VERIFICATION_BADGES.get(change.previous, change.previous)
    if change.previous == change.status:
        return f"**{_esc(change.persona_name)}** was {badge} already."
    return f"**{_esc(change.persona_name)}**: {badge} (was {previous})."


def perks_text(perks: Sequence[str]) -> str:
    return ", ".join(rules.PERK_LABELS.get(p, p) for p in perks) or "no perks"


def tiers_embed(persona_name: str, tiers: Sequence[TierView], *, free_enabled: bool) -> discord.Embed:
    embed = discord.Embed(title=clip(f"{persona_name}: subscription tiers", 256), colour=BRAND_COLOUR)
    if not tiers:
        embed.description = "No tiers yet. The owner adds them with `/tiers add`."
        return embed
    for tier in tiers[:25]:
        if tier.sku_id is not None:
            kind = "Paid through Discord"
        else:
            kind = "Free" + ("" if free_enabled else " (free tiers are disabled on this server)")
        body = f"{kind} · {perks_text(tier.perks)}"
        if tier.description:
            body += f"\n{_esc(tier.description)}"
        embed.add_field(name=clip(tier.name, 256), value=clip(body, FIELD_VALUE_MAX), inline=False)
    embed.set_footer(text=SUBSCRIBE_HINT)
    return fit_fields(
        embed, left_out=lambda count: f"{counted(count, 'more tier')} did not fit in this message. {SUBSCRIBE_HINT}"
    )


def premium_view(sku_id: int) -> discord.ui.View:
    """Discord's own purchase button for a SKU (no label, no custom id: Discord draws it and takes the payment)."""
    view = discord.ui.View(timeout=None)
    view.add_item(discord.ui.Button(style=discord.ButtonStyle.premium, sku_id=sku_id))
    return view


def subscribe_embed(outcome: SubscribeOutcome) -> discord.Embed:
    tier, name = outcome.tier, _esc(outcome.persona_name)
    if outcome.kind == "premium":
        text = (
            f"**{_esc(tier.name)}** for **{name}** is a Discord subscription ({perks_text(tier.perks)}). "
            "Buy it with the button below; payment is handled by Discord, and your perks start as soon as Discord "
            "confirms it."
        )
        title = f"Subscribe to {outcome.persona_name}"
    elif outcome.kind == "already":
        text = f"You already hold **{_esc(tier.name)}** for **{name}**. See `/subscriptions`."
        title = "Already subscribed"
    else:
        text = f"You now hold **{_esc(tier.name)}** for **{name}**: {perks_text(tier.perks)}."
        title = f"Subscribed to {outcome.persona_name}"
    return discord.Embed(title=clip(title, 256), description=text, colour=BRAND_COLOUR)


def _subscription_line(sub: SubscriptionView) -> str:
    how = "Discord" if sub.entitlement_id is not None else "free"
    line = f"**{_esc(sub.persona_name)}**: {_esc(sub.tier_name)} ({how}), since {_date(sub.started_at)}"
    if sub.current and sub.renews_at is not None:
        line += f", paid until {_date(sub.renews_at)}"
    if not sub.current:
        ended = sub.ended_at or sub.renews_at
        line += f", ended {_date(ended)}" if ended is not None else ", ended"
    return line


def subscriptions_embed(subs: Sequence[SubscriptionView]) -> discord.Embed:
    embed = discord.Embed(title="Your subscriptions", colour=BRAND_COLOUR)
    current = [s for s in subs if s.current]
    ended = [s for s in subs if not s.current][:ENDED_SHOWN]
    if not subs:
        embed.description = (
            "You hold no subscriptions. See a persona's tiers with `/tiers list`, then subscribe with `/subscribe`."
        )
        return embed
    embed.add_field(
        name=f"Current ({len(current)})",
        value=clip("\n".join(_subscription_line(s) for s in current) or "None.", FIELD_VALUE_MAX),
        inline=False,
    )
    if ended:
        embed.add_field(
            name="Ended", value=clip("\n".join(_subscription_line(s) for s in ended), FIELD_VALUE_MAX), inline=False
        )
    return embed


def granted_text(new: bool, sub: SubscriptionView) -> str:
    who, tier, name = f"<@{sub.user_id}>", _esc(sub.tier_name), _esc(sub.persona_name)
    return f"{who} now holds **{tier}** for **{name}**." if new else f"{who} already holds **{tier}** for **{name}**."
