"""Mood embeds: the present mood (with its PAD chart), history, patterns, feedback, the reaction map.

Pure builders from service data to ``discord.Embed`` and text; no I/O.

**The persona's own reaction** (behaviour setting ``react_with_mood``): after a reaction counted, the persona
reacts to its message with the emoji of its mood's octant (:data:`MOOD_EMOJI`):

=========== ====== ==========================================
octant      emoji  P A D
=========== ====== ==========================================
exuberant   🤩     + + +
dependent   🥰     + + -
relaxed     😌     + - +
docile      🙂     + - -
bored       😐     - - -
disdainful  😒     - - +
anxious     😰     - + -
hostile     😠     - + +
=========== ====== ==========================================
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import discord

from bot.core import emotions as core
from bot.core.emotion_patterns import Pattern
from bot.core.pad import PAD
from bot.core.text import clip, counted
from bot.services.emotions import EventSummary, FeedbackResult, HistoryView, MoodView
from bot.services.guild_settings import ReactionEntry, ReactionMapChange

MOOD_COLOUR = discord.Colour(0x7C5CFF)
PAD_CHART_FILENAME = "mood.png"
HISTORY_CHART_FILENAME = "mood-history.png"
BAR_WIDTH = 10
FIELD_MAX = 1024
LABEL_MAX = 100

MOOD_EMOJI: dict[str, str] = {
    "exuberant": "🤩",
    "dependent": "🥰",
    "relaxed": "😌",
    "docile": "🙂",
    "bored": "😐",
    "disdainful": "😒",
    "anxious": "😰",
    "hostile": "😠",
}

# /mood feedback verdict choices: value -> (label, service verdict, adjustment).
VERDICTS: dict[str, tuple[str, str | None, str | None]] = {
    "right": ("right", "right", None),
    "too_strong": ("wrong: too strong", "wrong", "too_strong"),
    "too_weak": ("wrong: too weak", "wrong", "too_weak"),
    "should_be": ("wrong: should have been … (set should_be)", "wrong", None),
    "withdraw": ("withdraw my earlier verdict", None, None),
}


def bar(intensity: float, width: int = BAR_WIDTH) -> str:
    """A text bar for 0..100: ``█████░░░░░ 52``."""
    level = max(0.0, min(100.0, float(intensity)))
    filled = round(level / 100.0 * width)
    return f"{'█' * filled}{'░' * (width - filled)} {level:.0f}"


def mood_emoji(mood_name: str) -> str:
    return MOOD_EMOJI.get(mood_name, "🙂")


def _state_of(view: MoodView) -> core.EmotionalState:
    active = tuple(
        core.ActiveEmotion(
            type=item.type,
            intensity=item.initial_intensity,
            duration_minutes=max(1e-6, (item.ends_at - item.started_at).total_seconds() / 60.0),
            started_at=item.started_at,
            cause=item.cause,
        )
        for item in view.active
    )
    return core.EmotionalState(mood=view.mood, baseline=view.baseline, active=active, as_of=view.at)


def trend(view: MoodView, minutes: float = 1.0) -> PAD:
    """How the mood moves over the next ``minutes`` (ALMA, as nothing else happens): per axis, the change."""
    later = core.advance(_state_of(view), view.at + timedelta(minutes=minutes))
    return PAD(*(b - a for a, b in zip(view.mood, later.mood, strict=True)))


def _arrow(change: float) -> str:
    if change > 5e-4:
        return "rising"
    if change < -5e-4:
        return "falling"
    return "steady"


def pad_lines(view: MoodView) -> str:
    moving = trend(view)
    names = ("Pleasure", "Arousal", "Dominance")
    return "\n".join(
        f"{name} {value:+.2f} ({_arrow(change)})" for name, value, change in zip(names, view.mood, moving, strict=True)
    )


def active_lines(view: MoodView) -> str:
    if not view.active:
        return "None right now."
    lines = []
    for item in view.active:
        word = f" ({item.word})" if item.word != item.type else ""
        left = f"{item.remaining_minutes:.0f} min left"
        lines.append(f"**{item.type}**{word}\n`{bar(item.intensity)}` · {left}")
    return clip("\n".join(lines), FIELD_MAX)


def mood_embed(name: str, view: MoodView, *, with_chart: bool = True) -> discord.Embed:
    """``/mood show``: the mood's name and intensity, PAD values with their direction, active emotions with
    bars, and the explanation; the PAD chart as the image."""
    headline = "neutral" if view.mood_words == "neutral" else f"{view.intensity_word} {view.mood_name}"
    embed = discord.Embed(
        title=f"{mood_emoji(view.mood_name)} {clip(name, 200)} feels {headline}",
        description=clip(view.explanation, 2000),
        colour=MOOD_COLOUR,
        timestamp=view.at,
    )
    embed.add_field(name="Mood", value=f"{view.mood_name} ({view.intensity_word})", inline=True)
    embed.add_field(name="Usually", value=view.baseline_words, inline=True)
    embed.add_field(name="PAD", value=pad_lines(view), inline=False)
    embed.add_field(name="Active emotions", value=active_lines(view), inline=False)
    if with_chart:
        embed.set_image(url=f"attachment://{PAD_CHART_FILENAME}")
    return embed


def history_embed(name: str, view: HistoryView, days: int) -> discord.Embed:
    embed = discord.Embed(
        title=f"{clip(name, 200)}: the last {days} day{'s' if days != 1 else ''}",
        colour=MOOD_COLOUR,
    )
    if view.total == 0:
        embed.description = "No emotional events in this period yet: reactions to its messages will show up here."
    else:
        top = sorted(view.by_emotion.items(), key=lambda item: (-item[1], item[0]))[:6]
        counts = ", ".join(f"{kind} {count}" for kind, count in top)
        embed.description = f"{view.total} emotional event{'s' if view.total != 1 else ''}. Most felt: {counts}."
    embed.set_image(url=f"attachment://{HISTORY_CHART_FILENAME}")
    return embed


def patterns_embed(name: str, found: Sequence[Pattern], days: int) -> discord.Embed:
    embed = discord.Embed(title=f"{clip(name, 200)}: emotional patterns", colour=MOOD_COLOUR)
    if not found:
        embed.description = (
            f"No clear patterns in the last {counted(days, 'day')}. "
            "I report a pattern only when I'm more than 70% sure, "
            "which takes a few weeks of reactions at different times, from different people and channels. "
            "Check again later, or see /mood history meanwhile."
        )
        return embed
    embed.description = f"Patterns in the last {counted(days, 'day')}, most certain first."
    for pattern in found[:10]:
        advice = "\n".join(f"• {line}" for line in pattern.recommendations) or "• Nothing to change."
        embed.add_field(
            name=clip(f"{pattern.description} ({pattern.confidence:.0%} sure)", 256),
            value=clip(advice, FIELD_MAX),
            inline=False,
        )
    return embed


def event_label(event: EventSummary, who: str | None) -> str:
    """An autocomplete label: ``11-25 14:03 · affection ❤️ → trust 45 · by alice``."""
    when = event.created_at.strftime("%m-%d %H:%M")
    felt = f"{event.emotion_type} {event.intensity:.0f}" if event.emotion_type else "no emotion"
    emoji = f" {event.emoji}" if event.emoji and not event.emoji.startswith("<") else ""
    by = f" · by {who}" if who else ""
    marked = f" · marked {event.feedback_verdict}" if event.feedback_verdict else ""
    return clip(f"{when} · {event.trigger}{emoji} → {felt}{by}{marked}", LABEL_MAX)


def feedback_message(name: str, result: FeedbackResult) -> str:
    label = core.trigger_label(result.trigger)
    if result.verdict is None:
        head = f"Withdrawn: {name} no longer learns from your verdict on that {label} event."
    elif result.verdict == "right":
        head = f"Noted: {name}'s response to {label} was right."
    else:
        parts = []
        if result.verdict in ("too_strong", "too_weak"):
            parts.append(result.verdict.replace("_", " "))
        if result.should_be:
            parts.append(f"should have been {result.should_be}")
        head = f"Noted: {name}'s response to {label} was wrong ({', '.join(parts) or 'wrong'})."
    scale = f"Response strength to {label}: ×{result.scale_before:.2f} → ×{result.scale:.2f}."
    override = ""
    if result.override != result.override_before:
        override = f" It now feels {result.override} instead." if result.override else " Back to its usual emotions."
    return f"{head} {scale}{override}"


def reaction_map_embed(entries: Sequence[ReactionEntry], limit: int) -> discord.Embed:
    embed = discord.Embed(title="This server's reaction map", colour=MOOD_COLOUR)
    if not entries:
        embed.description = (
            "No server mappings: every reaction uses the default map (hearts are affection, 👍 agreement, "
            "😂 humour, ...). Add one with /admin reactions emoji:<emoji> trigger:<trigger>."
        )
        return embed
    lines = [f"{_shown(entry.emoji)} → **{entry.trigger}**" for entry in entries]
    embed.description = clip("\n".join(lines), 4000)
    embed.set_footer(text=f"{len(entries)} of {counted(limit, 'entry', 'entries')}. Remove one with trigger: none.")
    return embed


def _shown(key: str) -> str:
    """A map key as people see it: a custom emoji's name in colons."""
    return f":{key}:" if key.isascii() else key


def reaction_entry_message(entry: ReactionEntry) -> str:
    shown = _shown(entry.emoji)
    if entry.source == "server":
        return f"{shown} → **{entry.trigger}** (this server's mapping)."
    if entry.source == "default":
        return f"{shown} → **{entry.trigger}** (the default map)."
    return f"{shown} has no emotional effect here (neither this server's map nor the default knows it)."


def reaction_change_message(change: ReactionMapChange) -> str:
    shown = _shown(change.emoji)
    default = change.default or "no emotional effect"
    if change.trigger is None:
        return f"Removed: {shown} uses the default again ({default}). {change.size} server mapping(s) left."
    was = f" (was {change.previous})" if change.previous and change.previous != change.trigger else ""
    return (
        f"Set: {shown} now means **{change.trigger}** on this server{was}; the default is {default}. "
        f"{change.size} server mapping(s)."
    )
