"""The ceremony as Discord shows it: the embed of a life (with a mood chart of the whole life), the result for the
owner, and the legacy a retired persona leaves.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import timedelta

import discord
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num

from bot.core.text import clip, counted
from bot.services.emotions import HistoryView
from bot.services.retirement import CeremonyResult, LegacyView, LifeStats
from bot.ui.mood_charts import new_figure, style_axes, to_png
from bot.ui.profile import achievement_name
from bot.ui.retirement.plan import ACCESS_WORDS
from bot.ui.wizard import DESCRIPTION_MAX, FIELD_VALUE_MAX

CHART_FILENAME = "life-mood.png"
FAREWELL_COLOUR = discord.Colour(0x5865F2)


def ceremony_embed(
    name: str, stats: LifeStats, show: Sequence[str], *, duration_days: int, with_chart: bool, avatar_url: str | None
) -> discord.Embed:
    """The ceremony: what the persona's life was, per the plan's ``show``."""
    embed = discord.Embed(
        title=clip(f"In memory of {name}", 256),
        description=clip(
            f"**{discord.utils.escape_markdown(name)}** has retired. Thank you for every conversation."
            + (f"\nThe ceremony stays open for {counted(duration_days, 'day')}." if duration_days else ""),
            DESCRIPTION_MAX,
        ),
        colour=FAREWELL_COLOUR,
    )
    if "lifespan" in show:
        embed.add_field(
            name="Life span",
            value=f"{stats.lifespan}\n{stats.born:%Y-%m-%d} – {stats.until:%Y-%m-%d}",
            inline=True,
        )
    if "conversations" in show:
        embed.add_field(name="Conversations", value=f"{stats.conversations:,}", inline=True)
    if "followers" in show:
        embed.add_field(name="Followers", value=f"{stats.followers:,}", inline=True)
    if "achievements" in show:
        embed.add_field(name="Achievements", value=f"{stats.achievements:,}", inline=True)
    if with_chart:
        embed.set_image(url=f"attachment://{CHART_FILENAME}")
    if avatar_url:
        embed.set_thumbnail(url=avatar_url)
    embed.set_footer(text="/legacy shows what it leaves behind, to whom its owner allowed.")
    return embed


def chart_file(png: bytes) -> discord.File:
    return discord.File(io.BytesIO(png), filename=CHART_FILENAME)


def life_mood_chart(view: HistoryView, name: str) -> bytes:
    """A mood chart of the persona's whole life: pleasure, arousal and dominance after each event (or bucket), and
    how many events it lived through."""
    figure = new_figure(8.0, 3.6)
    axes = figure.add_subplot(1, 1, 1)
    style_axes(axes, f"{name}: a life in moods ({view.total} emotional events)")
    if not view.points:
        axes.set_axis_off()
        axes.text(
            0.5, 0.5, "A quiet life: no emotional events were recorded.", ha="center", va="center",
            color="#dbdee1", transform=axes.transAxes,
        )  # fmt: skip
        return to_png(figure)
    figure.subplots_adjust(left=0.08, right=0.98, top=0.88, bottom=0.16)
    times = [point.at for point in view.points]
    days = date2num(times)  # the numbers matplotlib plots for these times, so the date locator reads them
    for axis, (label, colour) in enumerate((("pleasure", "#43aa8b"), ("arousal", "#f8961e"), ("dominance", "#4cc9f0"))):
        values = [point.mood[axis] if point.mood is not None else float("nan") for point in view.points]
        axes.plot(days, values, color=colour, label=label, lw=1.3, marker="o" if len(times) < 30 else None, ms=3)
    axes.axhline(0, color="#4e5058", linewidth=0.8)
    axes.set_ylim(-1.05, 1.05)
    axes.set_ylabel("mood")
    if len(times) == 1:
        axes.set_xlim(date2num(times[0] - timedelta(hours=1)), date2num(times[0] + timedelta(hours=1)))
    locator = AutoDateLocator(maxticks=8)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    legend = axes.legend(loc="lower left", fontsize=7, ncol=3, facecolor="#2b2d31", edgecolor="#4e5058")
    for text in legend.get_texts():
        text.set_color("#dbdee1")
    return to_png(figure)


def result_embed(result: CeremonyResult) -> discord.Embed:
    """What the retirement did, for the owner."""
    name = discord.utils.escape_markdown(result.name)
    lines = [
        f"**{name}** retired after {result.lifespan} ({'already done' if result.already_done else result.trigger}).",
        f"Memories archived: {result.archived_memories}",
        f"Achievements preserved: {result.achievements_preserved}",
        f"Timeline events preserved: {result.timeline_preserved}",
        f"Legacy open to: {ACCESS_WORDS.get(result.archive_access, result.archive_access)}",
        f"Channels it left: {result.channels_unbound}",
        f"Data kept until: {discord.utils.format_dt(result.retention_until, 'D')}",
    ]
    if result.farewell_message_id and result.channel_id:
        lines.append(f"Farewell: <#{result.channel_id}>")
    if result.data_export:
        lines.append("The full export is in your DMs.")
    return discord.Embed(
        title=clip(f"{result.name} has retired", 256), description="\n".join(lines), colour=FAREWELL_COLOUR
    )


def legacy_embed(view: LegacyView) -> discord.Embed:
    """A retired persona's legacy."""
    profile = view.profile
    stats = view.stats
    embed = discord.Embed(
        title=clip(f"The legacy of {view.name}", 256),
        description=clip(str(profile.get("description") or ""), 1000) or None,
        colour=FAREWELL_COLOUR,
    )
    embed.add_field(
        name="Life",
        value=f"{profile.get('lifespan', '?')}, retired {discord.utils.format_dt(view.retired_at, 'D')}",
        inline=False,
    )
    embed.add_field(
        name="In numbers",
        value=(
            f"Conversations: {stats.get('conversations', 0)}\nFollowers: {stats.get('followers', 0)}\n"
            f"Achievements: {stats.get('achievements', 0)}"
        ),
        inline=True,
    )
    if view.achievements:
        names = "\n".join(achievement_name(str(a.get("key"))) for a in view.achievements)
        embed.add_field(name="Achievements", value=clip(names, FIELD_VALUE_MAX), inline=True)
    if view.timeline:
        lines = [f"{str(e.get('created_at', ''))[:10]} · {e.get('title')}" for e in view.timeline[-8:]]
        embed.add_field(name="Timeline", value=clip("\n".join(lines), FIELD_VALUE_MAX), inline=False)
    if view.memories is None:
        embed.add_field(name="Memories", value=f"{view.memory_count} archived (readable by its owner)", inline=False)
    elif view.memories:
        lines = [f"• {clip(str(m.get('content', '')), 150)}" for m in view.memories[:8]]
        more = f"\n… and {view.memory_count - 8} more" if view.memory_count > 8 else ""
        embed.add_field(
            name=f"Memories ({view.memory_count})", value=clip("\n".join(lines) + more, FIELD_VALUE_MAX), inline=False
        )
    else:
        embed.add_field(name="Memories", value="None were kept.", inline=False)
    if view.farewell:
        embed.add_field(name="Farewell", value=clip(view.farewell, FIELD_VALUE_MAX), inline=False)
    footer = f"Open to {ACCESS_WORDS.get(view.archive_access, view.archive_access)}."
    if view.research_available:
        footer += " Research export: /legacy with research."
    if view.deleted_at is not None:
        footer += f" Data deleted per plan on {view.deleted_at:%Y-%m-%d}."
    embed.set_footer(text=footer)
    return embed
