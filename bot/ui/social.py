"""What following looks like in Discord: follow replies, the following list, timeline and achievements embeds,
and the text of notifications (channel posts mentioning followers, DM digests, the owner's new-follower digest).

Pure builders from service data to ``discord.Embed`` and text; Discord's limits are applied here (2,000-character
messages, 256-character titles, 1,024-character fields, 25 fields, 6,000 characters of embed text in all).
"""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.core.text import clip, counted
from bot.services.achievements import AchievementsView
from bot.services.follows import FollowRecord, NotificationSettings
from bot.services.guild_settings import ChannelChange
from bot.services.notifications import KIND_NEW_FOLLOWER, Entry, PlannedMessage
from bot.services.timeline import TimelinePage
from bot.ui.embeds import fit_fields

SOCIAL_COLOUR = discord.Colour(0x2BB3A3)
MESSAGE_MAX = 2000
FIELD_MAX = 1024
ENTRY_LINES_MAX = 10

KIND_ICONS: dict[str, str] = {
    "created": "✨",
    "published": "📣",
    "unpublished": "🔒",
    "achievement": "🏆",
    "milestone": "🏁",
    "optimization": "🧹",
    "retirement_plan": "🗓️",
    "ceremony": "🕯️",
    "retired": "🌅",
    "post": "📝",
    "collaboration": "🤝",
    "endorsement": "⭐",
    "verification": "✅",
}


def _yes(value: bool) -> str:
    return "on" if value else "off"


def settings_text(settings: NotificationSettings) -> str:
    where = "by DM" if settings.by_dm else "in the server's notifications channel"
    return (
        f"new posts: **{_yes(settings.new_posts)}** · achievements: **{_yes(settings.achievements)}** · "
        f"collaborations: **{_yes(settings.collaborations)}** · delivered {where}"
    )


def follow_message(record: FollowRecord, *, changed: bool = False) -> str:
    if changed:
        return f"Updated your notifications for **{clip(record.persona_name, 80)}**: {settings_text(record.settings)}."
    return (
        f"You now follow **{clip(record.persona_name, 80)}** ({record.follower_count} follower"
        f"{'' if record.follower_count == 1 else 's'}). {settings_text(record.settings)}.\n"
        "Change these any time with `/follow` and its options."
    )


def unfollow_message(record: FollowRecord) -> str:
    return f"You no longer follow **{clip(record.persona_name, 80)}**."


def following_embed(records: Sequence[FollowRecord]) -> discord.Embed:
    embed = discord.Embed(title="Personas you follow", colour=SOCIAL_COLOUR)
    if not records:
        embed.description = "You follow no personas here yet. `/follow <persona>` to start."
        return embed
    for record in records[:25]:
        embed.add_field(
            name=clip(f"{record.persona_name} · {counted(record.follower_count, 'follower')}", 256),
            value=clip(
                f"since {discord.utils.format_dt(record.followed_at, 'D')}\n{settings_text(record.settings)}", 1024
            ),
            inline=False,
        )
    return fit_fields(embed, left_out=lambda count: f"{count} more did not fit in this message.")


def _more_events(count: int) -> str:
    return f"{count} more event{'' if count == 1 else 's'} did not fit in this message."


def _more_awards(count: int) -> str:
    return f"{count} more achievement{'' if count == 1 else 's'} did not fit in this message."


def timeline_embed(page: TimelinePage) -> discord.Embed:
    embed = discord.Embed(title=clip(f"Timeline of {page.persona_name}", 256), colour=SOCIAL_COLOUR)
    if not page.events:
        embed.description = "Nothing on the timeline yet." if page.is_owner else "No public events yet."
    for event in page.events[:25]:
        icon = KIND_ICONS.get(event.kind, "•")
        flags = []
        if page.is_owner and not event.is_public:
            flags.append("private")
        if event.subscribers_only:
            flags.append("subscribers")
        suffix = f" ({', '.join(flags)})" if flags else ""
        body = f"{discord.utils.format_dt(event.created_at, 'f')}{suffix}"
        if event.description:
            body += "\n" + event.description
        embed.add_field(name=clip(f"{icon} {event.title}", 256), value=clip(body, FIELD_MAX), inline=False)
    return fit_fields(embed, left_out=_more_events)


def achievements_embed(view: AchievementsView) -> discord.Embed:
    embed = discord.Embed(
        title=clip(f"Achievements of {view.persona_name}", 256),
        description=f"{len(view.earned)} of {view.total} earned.",
        colour=SOCIAL_COLOUR,
    )
    for award in view.earned[:25]:
        private = "" if award.is_public else " (private)"
        body = f"{award.description}\n{discord.utils.format_dt(award.awarded_at, 'D')}{private}".strip()
        embed.add_field(name=clip(f"{award.emoji} {award.title}", 256), value=clip(body, FIELD_MAX), inline=False)
    return fit_fields(embed, left_out=_more_awards)


def channel_change_message(change: ChannelChange) -> str:
    if change.channel_id is None:
        return f"The {change.kind} channel is cleared."
    return f"{change.kind.capitalize()} now go to <#{change.channel_id}>."


# ----------------------------------------------------------------------------------------------------
# Notifications


def _entry_line(entry: Entry) -> str:
    icon = KIND_ICONS.get(entry.event_kind or "", "•")
    line = f"{icon} **{clip(entry.persona_name, 80)}**: {clip(entry.title, 200)}"
    if entry.description:
        line += f" — {clip(entry.description, 200)}"
    return line


def _lines(header: str, lines: list[str], footer: str = "") -> str:
    """``header``, as many ``lines`` as fit in a message (with "and N more"), and ``footer``; under 2,000."""
    budget = MESSAGE_MAX - len(header) - len(footer) - 40
    shown: list[str] = []
    for line in lines[:ENTRY_LINES_MAX]:
        if len(line) + 1 > budget:
            break
        shown.append(line)
        budget -= len(line) + 1
    rest = len(lines) - len(shown)
    body = "\n".join(shown) + (f"\n…and {rest} more" if rest else "")
    return clip(f"{header}\n{body}{footer}", MESSAGE_MAX)


def notification_content(message: PlannedMessage) -> str:
    """The text of one notification: a channel post (events, then the followers it is for, mentioned), a DM digest,
    or the owner's new-follower digest."""
    if message.kind == KIND_NEW_FOLLOWER:
        # Each follower once per persona: following again after unfollowing in the same window is one follower.
        by_persona: dict[int, tuple[str, dict[int, None]]] = {}
        for entry in message.entries:
            _, users = by_persona.setdefault(entry.persona_id, (entry.persona_name, {}))
            users[entry.follower_id or 0] = None
        lines = [
            f"**{clip(name, 80)}**: " + clip(", ".join(f"<@{u}>" for u in users), 900)
            for name, users in by_persona.values()
        ]
        total = sum(len(users) for _, users in by_persona.values())
        header = f"👋 {total} new follower{'s' if total != 1 else ''}:"
        return _lines(header, lines)
    lines = [_entry_line(entry) for entry in message.entries]
    count = len(message.entries)
    if message.is_dm:
        header = "🔔 News from personas you follow:" if count > 1 else "🔔 News from a persona you follow:"
        return _lines(header, lines, "\n-# You get these by DM; change it with `/follow`.")
    mentions = " ".join(f"<@{user}>" for user in message.mentions)
    return _lines("🔔 " + ("Updates:" if count > 1 else "Update:"), lines, "\n" + mentions)
