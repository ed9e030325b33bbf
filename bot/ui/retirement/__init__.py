"""What retirement looks like: the plan form (selects and a modal), plan and result embeds, the ceremony embed with
a mood chart of the persona's life, the retire-now confirmation, and the legacy.

The form keeps its choices in the view (a plan is saved in one step, with "Save plan"); a form left open across a
restart simply expires and says so. The callbacks hand the decision back to the cog (``on_save``, ``on_confirm``):
the UI draws, it does not decide.
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import discord
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

from bot.core import retirement as rules
from bot.core.errors import DomainError
from bot.core.inputs import parse_whole, require_storable
from bot.services.emotions import HistoryView
from bot.services.retirement import CeremonyResult, LegacyView, LifeStats, PlanInput, PlanView
from bot.ui.guards import only_for
from bot.ui.mood_charts import new_figure, style_axes, to_png
from bot.ui.wizard import BRAND_COLOUR, DESCRIPTION_MAX, FIELD_VALUE_MAX, clip

CHART_FILENAME = "life-mood.png"
FAREWELL_COLOUR = discord.Colour(0x5865F2)
FORM_TIMEOUT = 900.0

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
# The extras select: plan flags and what the ceremony shows, in one multi-select.
EXTRAS = {
    "achievements": "Preserve achievements",
    "timeline": "Preserve the timeline",
    "community": "Let the community read archived memories",
    "research": "Open to research (anonymised export)",
    "export": "DM me the full export",
    "invite": "Invite followers to the ceremony",
    **{f"show:{k}": f"Ceremony shows: {v}" for k, v in SHOW_WORDS.items()},
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
            parts.append(f"after {trigger.days} days without activity")
        else:
            parts.append("by hand (`/retire now`)")
    return "; ".join(parts)


def _plan_fields(embed: discord.Embed, plan: rules.Plan) -> None:
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
            f"Shows: {_list(SHOW_WORDS, ceremony.show)}\nOpen for: {ceremony.duration_days} days",
            FIELD_VALUE_MAX,
        ),
        inline=False,
    )
    embed.add_field(name="Farewell", value=clip(farewell, FIELD_VALUE_MAX), inline=False)
    embed.add_field(
        name="Data",
        value=clip(
            f"Kept for {plan.data_retention_days} days after retirement, then deleted: "
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
    _plan_fields(embed, view.plan)
    return embed


def _form_plan(state: PlanInput) -> rules.Plan:
    """The form's choices as a plan, for display (unvalidated values are shown as they are)."""
    draft = state.draft()
    return rules.Plan(
        triggers=tuple(draft.triggers),
        memory_archival=draft.memory_archival,
        archival_threshold=draft.archival_threshold,
        achievement_preservation=draft.achievement_preservation,
        timeline_preservation=draft.timeline_preservation,
        archive_access=draft.archive_access,
        community_access=draft.community_access,
        research_access=draft.research_access,
        ceremony_channel_id=draft.ceremony_channel_id,
        ceremony=draft.ceremony,
        farewell_message=draft.farewell_message,
        farewell_by_model=draft.farewell_by_model,
        data_retention_days=draft.data_retention_days,
        data_export=draft.data_export,
        data_deletion=tuple(draft.data_deletion),
    )


def form_embed(persona_name: str, state: PlanInput) -> discord.Embed:
    embed = discord.Embed(
        title=clip(f"Plan {persona_name}'s retirement", 256),
        description=(
            "Choose below what is kept, who may read the legacy and what is deleted when the retention ends; "
            "**Farewell & retention…** sets the farewell text and the numbers. Nothing is saved until **Save plan**."
        ),
        colour=BRAND_COLOUR,
    )
    _plan_fields(embed, _form_plan(state))
    return embed


def _extras_of(state: PlanInput) -> set[str]:
    chosen = {
        "achievements": state.achievement_preservation,
        "timeline": state.timeline_preservation,
        "community": state.community_access,
        "research": state.research_access,
        "export": state.data_export,
        "invite": state.invite_followers,
    }
    keys = {k for k, v in chosen.items() if v}
    keys.update(f"show:{k}" for k in state.ceremony_show)
    return keys


def _with_extras(state: PlanInput, values: Sequence[str]) -> PlanInput:
    chosen = set(values)
    return replace(
        state,
        achievement_preservation="achievements" in chosen,
        timeline_preservation="timeline" in chosen,
        community_access="community" in chosen,
        research_access="research" in chosen,
        data_export="export" in chosen,
        invite_followers="invite" in chosen,
        ceremony_show=tuple(k for k in rules.CEREMONY_SHOWS if f"show:{k}" in chosen),
    )


class PlanDetailsModal(discord.ui.Modal):
    """The farewell text and the numbers of the plan."""

    def __init__(self, form: PlanForm) -> None:
        super().__init__(title="Farewell & retention", timeout=FORM_TIMEOUT)
        self.form = form
        state = form.state
        self.farewell: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label="Farewell (empty: the persona writes it)",
            custom_id="farewell",
            style=discord.TextStyle.paragraph,
            default=state.farewell_message or None,
            max_length=rules.FAREWELL_MAX,
            required=False,
        )
        self.retention: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label="Days the data is kept after retirement",
            custom_id="retention",
            default=str(state.data_retention_days),
            max_length=5,
        )
        self.threshold: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label="Importance threshold (1-10) for 'important'",
            custom_id="threshold",
            default=str(state.archival_threshold),
            max_length=2,
        )
        self.ceremony_days: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label="Days the ceremony stays open",
            custom_id="ceremony_days",
            default=str(state.ceremony_days),
            max_length=3,
        )
        for item in (self.farewell, self.retention, self.threshold, self.ceremony_days):
            self.add_item(item)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        try:
            state = replace(
                self.form.state,
                farewell_message=require_storable(self.farewell.value, "The farewell").strip() or None,
                data_retention_days=parse_whole(
                    self.retention.value, "The retention", minimum=1, maximum=rules.RETENTION_DAYS_MAX
                ),
                archival_threshold=parse_whole(
                    self.threshold.value,
                    "The importance threshold",
                    minimum=rules.THRESHOLD_MIN,
                    maximum=rules.THRESHOLD_MAX,
                ),
                ceremony_days=parse_whole(
                    self.ceremony_days.value, "The ceremony's length", minimum=0, maximum=rules.CEREMONY_DAYS_MAX
                ),
            )
        except DomainError as error:
            await interaction.response.send_message(str(error), ephemeral=True)
            return
        self.form.state = state
        await interaction.response.edit_message(
            embed=form_embed(self.form.persona_name, state), view=self.form.rebuilt()
        )


SaveHandler = Callable[[discord.Interaction, "PlanForm"], Awaitable[None]]


class PlanForm(discord.ui.View):
    """The plan form: selects for archival, access, extras and deletion; the details modal; save or cancel."""

    def __init__(self, *, owner_id: int, persona_id: int, persona_name: str, state: PlanInput, on_save: SaveHandler):
        super().__init__(timeout=FORM_TIMEOUT)
        self.owner_id = owner_id
        self.persona_id = persona_id
        self.persona_name = persona_name
        self.state = state
        self.on_save = on_save
        self._build()

    def rebuilt(self) -> PlanForm:
        self.clear_items()
        self._build()
        return self

    def _build(self) -> None:
        state = self.state
        archival: discord.ui.Select[Any] = discord.ui.Select(
            custom_id="retire:archival",
            placeholder="Which memories the legacy keeps",
            options=[
                discord.SelectOption(label=f"Keep {words}", value=key, default=key == state.memory_archival)
                for key, words in ARCHIVAL_WORDS.items()
            ],
            row=0,
        )
        archival.callback = self._archival  # type: ignore[method-assign]
        access: discord.ui.Select[Any] = discord.ui.Select(
            custom_id="retire:access",
            placeholder="Who may read the legacy",
            options=[
                discord.SelectOption(label=f"Legacy open to {words}", value=key, default=key == state.archive_access)
                for key, words in ACCESS_WORDS.items()
            ],
            row=1,
        )
        access.callback = self._access  # type: ignore[method-assign]
        chosen = _extras_of(state)
        extras: discord.ui.Select[Any] = discord.ui.Select(
            custom_id="retire:extras",
            placeholder="Preservation, access, export, ceremony",
            min_values=0,
            max_values=len(EXTRAS),
            options=[
                discord.SelectOption(label=label, value=key, default=key in chosen) for key, label in EXTRAS.items()
            ],
            row=2,
        )
        extras.callback = self._extras  # type: ignore[method-assign]
        deletion: discord.ui.Select[Any] = discord.ui.Select(
            custom_id="retire:deletion",
            placeholder="Deleted when the retention ends",
            min_values=0,
            max_values=len(rules.DELETION_KINDS),
            options=[
                discord.SelectOption(
                    label=clip(f"Delete {DELETION_WORDS[k]}", 100), value=k, default=k in state.data_deletion
                )
                for k in rules.DELETION_KINDS
            ],
            row=3,
        )
        deletion.callback = self._deletion  # type: ignore[method-assign]
        details: discord.ui.Button[Any] = discord.ui.Button(
            label="Farewell & retention…", custom_id="retire:details", row=4
        )
        details.callback = self._details  # type: ignore[method-assign]
        save: discord.ui.Button[Any] = discord.ui.Button(
            label="Save plan", custom_id="retire:save", style=discord.ButtonStyle.primary, row=4
        )
        save.callback = self._save  # type: ignore[method-assign]
        cancel: discord.ui.Button[Any] = discord.ui.Button(label="Discard", custom_id="retire:discard", row=4)
        cancel.callback = self._discard  # type: ignore[method-assign]
        for item in (archival, access, extras, deletion, details, save, cancel):
            self.add_item(item)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await only_for(interaction, self.owner_id, "This form belongs to someone else.")

    async def _redraw(self, interaction: discord.Interaction) -> None:
        await interaction.response.edit_message(embed=form_embed(self.persona_name, self.state), view=self.rebuilt())

    @staticmethod
    def _values(interaction: discord.Interaction) -> list[str]:
        data: Any = interaction.data or {}
        return [str(v) for v in data.get("values", [])]

    async def _archival(self, interaction: discord.Interaction) -> None:
        self.state = replace(self.state, memory_archival=self._values(interaction)[0])
        await self._redraw(interaction)

    async def _access(self, interaction: discord.Interaction) -> None:
        self.state = replace(self.state, archive_access=self._values(interaction)[0])
        await self._redraw(interaction)

    async def _extras(self, interaction: discord.Interaction) -> None:
        self.state = _with_extras(self.state, self._values(interaction))
        await self._redraw(interaction)

    async def _deletion(self, interaction: discord.Interaction) -> None:
        self.state = replace(self.state, data_deletion=tuple(self._values(interaction)))
        await self._redraw(interaction)

    async def _details(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(PlanDetailsModal(self))

    async def _save(self, interaction: discord.Interaction) -> None:
        await self.on_save(interaction, self)

    async def _discard(self, interaction: discord.Interaction) -> None:
        self.stop()
        await interaction.response.edit_message(
            embed=discord.Embed(title="Plan discarded", description="Nothing was saved.", colour=BRAND_COLOUR),
            view=None,
        )


ConfirmHandler = Callable[[discord.Interaction], Awaitable[None]]


class ConfirmRetire(discord.ui.View):
    """``/retire now``: retire for good, or keep the persona."""

    def __init__(self, *, owner_id: int, on_confirm: ConfirmHandler) -> None:
        super().__init__(timeout=300)
        self.owner_id = owner_id
        self.on_confirm = on_confirm

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await only_for(interaction, self.owner_id)

    @discord.ui.button(label="Retire now", style=discord.ButtonStyle.danger, custom_id="retire:confirm")
    async def confirm(self, interaction: discord.Interaction, _button: discord.ui.Button[Any]) -> None:
        self.stop()
        await self.on_confirm(interaction)

    @discord.ui.button(label="Keep it", style=discord.ButtonStyle.secondary, custom_id="retire:keep")
    async def keep(self, interaction: discord.Interaction, _button: discord.ui.Button[Any]) -> None:
        self.stop()
        await interaction.response.edit_message(
            embed=discord.Embed(title="Kept", description="Nothing changed.", colour=BRAND_COLOUR), view=None
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
    _plan_fields(embed, view.plan)
    return embed


# --------------------------------------------------------------------------------------------------- ceremony


def ceremony_embed(
    name: str, stats: LifeStats, show: Sequence[str], *, duration_days: int, with_chart: bool, avatar_url: str | None
) -> discord.Embed:
    """The ceremony: what the persona's life was, per the plan's ``show``."""
    embed = discord.Embed(
        title=clip(f"In memory of {name}", 256),
        description=clip(
            f"**{discord.utils.escape_markdown(name)}** has retired. Thank you for every conversation."
            + (f"\nThe ceremony stays open for {duration_days} days." if duration_days else ""),
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
    for axis, (label, colour) in enumerate((("pleasure", "#43aa8b"), ("arousal", "#f8961e"), ("dominance", "#4cc9f0"))):
        values = [point.mood[axis] if point.mood is not None else float("nan") for point in view.points]
        axes.plot(times, values, color=colour, label=label, lw=1.3, marker="o" if len(times) < 30 else None, ms=3)
    axes.axhline(0, color="#4e5058", linewidth=0.8)
    axes.set_ylim(-1.05, 1.05)
    axes.set_ylabel("mood")
    if len(times) == 1:
        axes.set_xlim(times[0] - timedelta(hours=1), times[0] + timedelta(hours=1))
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


# --------------------------------------------------------------------------------------------------- legacy


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
        keys = ", ".join(str(a.get("key")) for a in view.achievements)
        embed.add_field(name="Achievements", value=clip(keys, FIELD_VALUE_MAX), inline=True)
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
