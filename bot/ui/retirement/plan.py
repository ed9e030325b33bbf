"""How a retirement plan reads: the words for each choice, the plan's fields, the saved plan and the
``/retire now`` confirmation (its embed and its Retire now / Keep it buttons, the shared :mod:`bot.ui.confirm` view).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import discord

from bot.core import retirement as rules
from bot.core.text import clip, counted
from bot.services.retirement import PlanView
from bot.ui.confirm import Callback, ConfirmView
from bot.ui.wizard import BRAND_COLOUR, FIELD_VALUE_MAX

RETIRE_CONFIRM_TIMEOUT = 300.0

ARCHIVAL_WORDS = {
    "all": "all memories",
    "important": "important memories only",
    "none": "no memories",
}
ACCESS_WORDS = {
    "owner": "the owner only",
    "followers": "its followers",
    "server": "this server",
    "public": "everyone",
}
SHOW_WORDS = {
    "lifespan": "life span",
    "conversations": "conversations",
    "followers": "followers",
    "achievements": "achievements",
    "mood_chart": "mood chart",
}
DELETION_WORDS = {
    "memories": "its memories",
    "emotional_history": "its emotional history",
    "relationships": "its relationships with people",
    "messages": "the record of its messages",
    "follows": "its follows",
    "archived_memories": "the archived memories",
    "timeline": "its timeline",
    "achievements": "its achievements",
    "persona": "the persona itself, and everything of it",
}


def _when(value: datetime | None) -> str:
    return f"{discord.utils.format_dt(value, 'F')} ({discord.utils.format_dt(value, 'R')})" if value else "—"


def _list(words: Mapping[str, str], keys: Sequence[str]) -> str:
    return ", ".join(words.get(k, k) for k in keys) or "nothing"


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def triggers_text(triggers: Sequence[rules.Trigger]) -> str:
    parts = []
    for trigger in triggers:
        if trigger.kind == "date":
            parts.append(f"on {_when(trigger.at)}")
        elif trigger.kind == "inactivity":
            parts.append(f"after {counted(trigger.days or 0, 'day')} without activity")
        else:
            parts.append("by hand (`/retire now`)")
    return "; ".join(parts)


def plan_fields(embed: discord.Embed, plan: rules.Plan) -> None:
    archival = ARCHIVAL_WORDS[plan.memory_archival]
    if plan.memory_archival == "important":
        archival += f" (importance {plan.archival_threshold}+)"
    ceremony = plan.ceremony
    farewell = (
        "written in character by the persona" if plan.farewell_by_model else clip(plan.farewell_message or "", 300)
    )
    embed.add_field(name="Triggers", value=clip(triggers_text(plan.triggers), FIELD_VALUE_MAX), inline=False)
    embed.add_field(
        name="Legacy",
        value=(
            f"Memories: {archival}\nAchievements kept: {_yes(plan.achievement_preservation)}\n"
            f"Timeline kept: {_yes(plan.timeline_preservation)}"
        ),
        inline=True,
    )
    embed.add_field(
        name="Access",
        value=(
            f"Legacy open to: {ACCESS_WORDS[plan.archive_access]}\nCommunity reads memories: "
            f"{_yes(plan.community_access)}\nResearch (anonymised): {_yes(plan.research_access)}"
        ),
        inline=True,
    )
    channel = f"<#{plan.ceremony_channel_id}>" if plan.ceremony_channel_id else "no channel (no public farewell)"
    embed.add_field(
        name="Ceremony",
        value=clip(
            f"Where: {channel}\nFollowers invited: {_yes(ceremony.invite_followers)}\n"
            f"Shows: {_list(SHOW_WORDS, ceremony.show)}\nOpen for: {counted(ceremony.duration_days, 'day')}",
            FIELD_VALUE_MAX,
        ),
        inline=False,
    )
    embed.add_field(name="Farewell", value=clip(farewell, FIELD_VALUE_MAX), inline=False)
    embed.add_field(
        name="Data",
        value=clip(
            f"Kept for {counted(plan.data_retention_days, 'day')} after retirement, then deleted: "
            f"{_list(DELETION_WORDS, plan.data_deletion)}.\nFull export by DM: {_yes(plan.data_export)}",
            FIELD_VALUE_MAX,
        ),
        inline=False,
    )


def plan_embed(view: PlanView, *, title: str | None = None) -> discord.Embed:
    """A saved plan."""
    status = {
        "planned": "planned",
        "cancelled": "cancelled",
        "executing": "ceremony under way",
        "executed": "retired",
    }.get(view.status, view.status)
    embed = discord.Embed(
        title=clip(title or f"Retirement plan: {view.persona_name}", 256),
        description=f"Status: **{status}**",
        colour=BRAND_COLOUR,
    )
    plan_fields(embed, view.plan)
    return embed


def confirm_retire(owner_id: int, on_confirm: Callback) -> ConfirmView:
    """``/retire now``: retire for good (``on_confirm``), or keep the persona."""
    return ConfirmView(
        owner_id,
        on_confirm,
        confirm_label="Retire now",
        cancel_label="Keep it",
        confirm_style=discord.ButtonStyle.danger,
        cancelled_title="Kept",
        cancelled_text="Nothing changed.",
        timeout=RETIRE_CONFIRM_TIMEOUT,
        custom_ids=("retire:confirm", "retire:keep"),
    )


def confirm_embed(view: PlanView) -> discord.Embed:
    embed = discord.Embed(
        title=clip(f"Retire {view.persona_name} now?", 256),
        description=(
            f"**{discord.utils.escape_markdown(view.persona_name)}** will say farewell, stop speaking everywhere and "
            "become read-only, for good. The plan below is carried out."
        ),
        colour=discord.Colour.red(),
    )
    plan_fields(embed, view.plan)
    return embed
