"""What ``/memory`` and ``/privacy`` show: health and optimisation reports, a tier chart, search results, memory
choices, the forget confirmation, the settings editor (preset select, forms), consent, forget-me and export.

Builders from service data to ``discord.Embed`` / views / modals, and one chart (PNG bytes, synchronous: the cog
renders it with ``asyncio.to_thread``). No I/O. Discord's limits (256-character titles, 1024-character field
values, 6000 characters per embed, 100-character choice names, 45-character modal labels) are applied here.

Buttons and the preset select are ``DynamicItem``s (their custom ids carry the persona and memory ids), so a
message sent before a restart still works; clicks go to the cog named by :data:`MEMORY_HANDLER_COG` /
:data:`PRIVACY_HANDLER_COG`. The settings forms are answered by the memory cog's interaction listener (by
:data:`CONFIG_MODAL_PATTERN`), for the same reason.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import discord
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.core import memory as rules
from bot.core.inputs import whole_number
from bot.core.privacy import ConsentDecision
from bot.services.consent import ConsentRecordView
from bot.services.memories import HealthReport, MemoryRecord, OptimizationReport, RetrievedMemory
from bot.ui.guards import asker_of, only_for

MEMORY_HANDLER_COG = "MemoryCog"
PRIVACY_HANDLER_COG = "PrivacyCog"
MEMORY_COLOUR = discord.Colour(0x7C5CFF)
TIER_CHART_FILENAME = "memory-tiers.png"
EXPORT_FILENAME = "my-persona-hub-data.json"

TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
EMBED_MAX = 6000
CHOICE_NAME_MAX = 100
MODAL_TITLE_MAX = 45
MODAL_LABEL_MAX = 45
SEARCH_PREVIEW_MAX = 300
FORGET_PREVIEW_MAX = 1000
CONSENT_PERSONAS_SHOWN = 15
CONSENT_HISTORY_SHOWN = 10

MEMORY_BUTTON_TEMPLATE = (
    r"memory:(?P<persona>\d+):(?P<action>forget|keep|open-capacity|open-decay|open-weights|open-other)"
    r"(?::(?P<memory>\d+))?"
)
MEMORY_SELECT_TEMPLATE = r"memsel:(?P<persona>\d+):preset"
CONFIG_MODAL_PATTERN = re.compile(r"memmodal:(?P<persona>\d+):(?P<section>capacity|decay|weights|other)")
PRIVACY_BUTTON_TEMPLATE = r"privacy:(?P<action>forget-me|keep)(?::(?P<announced>\d{1,19}))?"

_BACKGROUND = "#2B2D31"
_GRID = "#4E5058"
_TEXT = "#DBDEE1"
_TIER_COLOURS = {"hot": "#F0883E", "warm": "#E3B341", "cold": "#58A6FF"}
_CAPACITY_COLOUR = "#F85149"


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut."""
    text = str(text)
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def _escape(text: str) -> str:
    return discord.utils.escape_markdown(discord.utils.escape_mentions(text))


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _percent(ratio: float) -> str:
    return f"{round(ratio * 100)}%"


def _ago(delta: timedelta | None) -> str:
    if delta is None:
        return "never"
    seconds = max(0.0, delta.total_seconds())
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"


def _stamp(moment: datetime) -> str:
    return f"<t:{int(moment.timestamp())}:R>"


def _fit(embed: discord.Embed) -> discord.Embed:
    """Drop trailing fields until the embed is within Discord's 6000 characters (a last guard: builders clip)."""
    while len(embed) > EMBED_MAX and embed.fields:
        embed.remove_field(len(embed.fields) - 1)
    return embed


# --------------------------------------------------------------------------------------------------- health


def _usage(count: int, size: int) -> str:
    return f"{count:,} of {size:,} ({_percent(count / size if size else 0.0)})"


def _report_fields(embed: discord.Embed, report: HealthReport, config: rules.MemoryConfig) -> None:
    embed.add_field(name="Hot (used first)", value=_usage(report.hot_count, config.hot_memory_size))
    embed.add_field(name="Warm (searchable)", value=_usage(report.warm_count, config.warm_memory_size))
    embed.add_field(
        name="Cold (archived)", value=f"{report.cold_count:,} (kept {config.cold_memory_retention_days} days)"
    )
    embed.add_field(
        name="All memories",
        value=(
            f"{_usage(report.total_count, config.max_entities)} · "
            f"{report.total_bytes / rules.BYTES_PER_MB:.2f} of {config.max_memory_size_mb:g} MB · "
            f"{report.pinned_count:,} pinned"
        ),
        inline=False,
    )
    embed.add_field(name="Fragmentation", value=f"{_percent(report.fragmentation)} in the wrong tier")
    embed.add_field(name="Last optimised", value=_ago(report.time_since_optimization))


def _advice(report: HealthReport) -> str:
    if not report.recommendations:
        return "None: memory is in good shape."
    return clip("\n".join(f"• {line}" for line in report.recommendations), FIELD_VALUE_MAX)


def health_embed(persona_name: str, report: HealthReport, config: rules.MemoryConfig) -> discord.Embed:
    """The ``/memory health`` report: overall score, tier usage against the sizes, fragmentation, the last
    optimisation and the recommendations (the chart is attached as :data:`TIER_CHART_FILENAME`)."""
    embed = discord.Embed(
        title=clip(f"Memory health: {persona_name}", TITLE_MAX),
        description=f"Overall score **{report.score:.0f}/100** for {report.total_count:,} memories.",
        colour=MEMORY_COLOUR,
    )
    _report_fields(embed, report, config)
    embed.add_field(name="Recommendations", value=_advice(report), inline=False)
    embed.set_image(url=f"attachment://{TIER_CHART_FILENAME}")
    return _fit(embed)


def _change(before: float, after: float, fmt: str = "{:,.0f}") -> str:
    return f"{fmt.format(before)} → {fmt.format(after)}"


def optimization_embed(persona_name: str, report: OptimizationReport, config: rules.MemoryConfig) -> discord.Embed:
    """The ``/memory optimize`` result: what was done, and the health before and after."""
    before, after = report.before, report.after
    embed = discord.Embed(
        title=clip(f"Memory optimised: {persona_name}", TITLE_MAX),
        description=(
            f"Health **{before.score:.0f} → {after.score:.0f}**; "
            f"memories {_change(before.total_count, after.total_count)}."
        ),
        colour=MEMORY_COLOUR,
    )
    embed.add_field(name="Near-duplicates merged", value=f"{report.merged:,}")
    embed.add_field(name="Removed for capacity", value=f"{report.evicted:,}")
    embed.add_field(name="Expired from cold", value=f"{report.expired:,}")
    embed.add_field(name="Moved between tiers", value=f"{report.retiered:,}")
    embed.add_field(
        name="Tiers (before → after)",
        value=(
            f"hot {_change(before.hot_count, after.hot_count)} of {config.hot_memory_size:,}\n"
            f"warm {_change(before.warm_count, after.warm_count)} of {config.warm_memory_size:,}\n"
            f"cold {_change(before.cold_count, after.cold_count)}"
        ),
        inline=False,
    )
    embed.add_field(
        name="Fragmentation",
        value=f"{_percent(before.fragmentation)} → {_percent(after.fragmentation)} in the wrong tier",
    )
    embed.add_field(name="Recommendations now", value=_advice(after), inline=False)
    embed.set_image(url=f"attachment://{TIER_CHART_FILENAME}")
    return _fit(embed)


@dataclass(frozen=True)
class TierPicture:
    """What the tier chart draws (also its cache key)."""

    hot: int
    warm: int
    cold: int
    hot_size: int
    warm_size: int
    retention_days: int

    @classmethod
    def of(cls, report: HealthReport, config: rules.MemoryConfig) -> TierPicture:
        return cls(
            report.hot_count,
            report.warm_count,
            report.cold_count,
            config.hot_memory_size,
            config.warm_memory_size,
            config.cold_memory_retention_days,
        )


def tier_chart(picture: TierPicture) -> bytes:
    """A PNG of the three tiers: one bar each, on its own scale (so a 50-memory hot tier shows next to 100,000
    cold ones), with the hot and warm capacities as dashed red lines and the counts written by the bars.

    One axes with hand-scaled bars rather than a subplot per tier: a third of the drawing time."""
    figure = Figure(figsize=(6.0, 2.4), dpi=100, facecolor=_BACKGROUND)
    FigureCanvasAgg(figure)
    figure.subplots_adjust(left=0.1, right=0.97, top=0.86, bottom=0.04)
    axes = figure.add_subplot(1, 1, 1, facecolor=_BACKGROUND)
    rows = (
        ("hot", picture.hot, picture.hot_size, f"{picture.hot:,} of {picture.hot_size:,}"),
        ("warm", picture.warm, picture.warm_size, f"{picture.warm:,} of {picture.warm_size:,}"),
        ("cold", picture.cold, None, f"{picture.cold:,} (kept {picture.retention_days} days)"),
    )
    axes.set_xlim(0, 1)
    axes.set_ylim(len(rows) - 0.45, -0.55)
    for index, (tier, count, capacity, caption) in enumerate(rows):
        # Each row's scale: the larger of its count and capacity fills 68% of the width (room for the caption).
        top = max(count, capacity or 0, 1) / 0.68
        axes.barh(index, count / top, height=0.55, color=_TIER_COLOURS[tier])
        if capacity is not None:
            x = capacity / top
            axes.plot([x, x], [index - 0.38, index + 0.38], color=_CAPACITY_COLOUR, linestyle="--", linewidth=1.6)
        axes.text(count / top + 0.015, index, caption, ha="left", va="center", color=_TEXT, fontsize=9)
    axes.set_yticks(range(len(rows)))
    axes.set_yticklabels([tier for tier, *_ in rows], color=_TEXT, fontsize=10)
    axes.set_xticks([])
    for side in ("top", "right", "bottom", "left"):
        axes.spines[side].set_visible(False)
    axes.tick_params(axis="y", length=0)
    axes.set_title("Memory tiers (dashed: capacity)", color=_TEXT, fontsize=11)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", facecolor=_BACKGROUND, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


def chart_file(png: bytes) -> discord.File:
    return discord.File(io.BytesIO(png), filename=TIER_CHART_FILENAME)


# --------------------------------------------------------------------------------------------------- search


def _content(memory: MemoryRecord, limit: int) -> str:
    return clip(_escape(_one_line(memory.content)), limit) or "(empty)"


def search_embed(
    persona_name: str,
    query: str,
    results: Sequence[RetrievedMemory],
    config: rules.MemoryConfig,
    *,
    shown_at_most: int,
) -> discord.Embed:
    """``/memory search``: the memories in the order a prompt would take them, each with its score and parts."""
    weights = " · ".join(
        f"{name} ×{weight:g}"
        for name, weight in (
            ("recency", config.weight_recency),
            ("importance", config.weight_importance),
            ("relevance", config.weight_relevance),
        )
    )
    embed = discord.Embed(
        title=clip(f"{persona_name}'s memories for “{_one_line(query)}”", TITLE_MAX),
        description=(
            "Ranked as a prompt would rank them: score = weighted sum of recency, importance and relevance, "
            f"each scaled 0–1 over the candidates (weights: {weights})."
        ),
        colour=MEMORY_COLOUR,
    )
    if not results:
        embed.description = clip(f"{embed.description}\n\nNo memory matches.", DESCRIPTION_MAX)
        return embed
    for rank, found in enumerate(results, start=1):
        memory = found.memory
        flags = " · pinned" if memory.pinned else ""
        embed.add_field(
            name=clip(f"{rank}. #{memory.id} · score {found.score:.2f}", FIELD_NAME_MAX),
            value=clip(
                f"{_content(memory, SEARCH_PREVIEW_MAX)}\n"
                f"-# recency {found.recency:.2f} · importance {found.importance:.2f} · "
                f"relevance {found.relevance:.2f} · {memory.tier}{flags} · {memory.category} · "
                f"importance {memory.importance}/10",
                FIELD_VALUE_MAX,
            ),
            inline=False,
        )
    if len(results) >= shown_at_most:
        embed.set_footer(text=f"The top {shown_at_most} are shown; use more specific words to find others.")
    return _fit(embed)


def memory_choice_label(memory: MemoryRecord) -> str:
    """An autocomplete label for a memory: its id, a pin mark, and the start of its content (<= 100 chars)."""
    pin = "📌 " if memory.pinned else ""
    return clip(f"#{memory.id} {pin}{_one_line(memory.content)}", CHOICE_NAME_MAX)


def memory_text(memory: MemoryRecord) -> str:
    """One memory in a sentence, for replies."""
    return f"#{memory.id} “{_content(memory, FORGET_PREVIEW_MAX)}” ({memory.category}, importance {memory.importance})"


# --------------------------------------------------------------------------------------------------- components


class MemoryButton(discord.ui.DynamicItem[discord.ui.Button], template=MEMORY_BUTTON_TEMPLATE):  # type: ignore[type-arg]
    """Forget confirmation and settings buttons; they carry the persona (and memory) ids and survive restarts."""

    def __init__(
        self,
        persona_id: int,
        action: str,
        memory_id: int | None = None,
        *,
        label: str = "",
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
    ) -> None:
        custom_id = f"memory:{persona_id}:{action}" + (f":{memory_id}" if memory_id is not None else "")
        super().__init__(discord.ui.Button(label=label or None, style=style, custom_id=custom_id))
        self.persona_id = persona_id
        self.action = action
        self.memory_id = memory_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> MemoryButton:
        memory = match["memory"]
        return cls(int(match["persona"]), match["action"], int(memory) if memory else None)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        # "Keep it" changes no row, so no service would refuse a stranger: the confirmation is its asker's.
        return await only_for(interaction, asker_of(interaction))

    async def callback(self, interaction: discord.Interaction) -> None:
        handler: Any = interaction.client.get_cog(MEMORY_HANDLER_COG)  # type: ignore[attr-defined]
        if handler is None:
            await interaction.response.send_message("The memory commands are not loaded right now.", ephemeral=True)
            return
        await handler.on_memory_component(interaction, self.persona_id, self.action, self.memory_id, None)


class PresetSelect(discord.ui.DynamicItem[discord.ui.Select], template=MEMORY_SELECT_TEMPLATE):  # type: ignore[type-arg]
    """The settings view's preset select (light / balanced / deep)."""

    def __init__(self, persona_id: int) -> None:
        options = [
            discord.SelectOption(label=name, value=name, description=clip(_preset_summary(name), 100))
            for name in rules.preset_names()
        ]
        super().__init__(
            discord.ui.Select(
                custom_id=f"memsel:{persona_id}:preset",
                placeholder="Apply a preset (replaces every setting)",
                options=options,
            )
        )
        self.persona_id = persona_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PresetSelect:
        return cls(int(match["persona"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        handler: Any = interaction.client.get_cog(MEMORY_HANDLER_COG)  # type: ignore[attr-defined]
        if handler is None:
            await interaction.response.send_message("The memory commands are not loaded right now.", ephemeral=True)
            return
        values = list(self.item.values) or list((interaction.data or {}).get("values", []))  # type: ignore[union-attr]
        await handler.on_memory_component(interaction, self.persona_id, "preset", None, values)


class PrivacyButton(discord.ui.DynamicItem[discord.ui.Button], template=PRIVACY_BUTTON_TEMPLATE):  # type: ignore[type-arg]
    """The forget-me confirmation's buttons. They act for whoever clicks (the message is theirs alone)."""

    def __init__(
        self,
        action: str,
        *,
        label: str = "",
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
        announced: int | None = None,
    ):
        # ``announced``: the newest persona of the caller's that the question named, so a later one is not erased.
        custom_id = f"privacy:{action}" + (f":{announced}" if announced is not None else "")
        super().__init__(discord.ui.Button(label=label or None, style=style, custom_id=custom_id))
        self.action = action
        self.announced = announced

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PrivacyButton:
        announced = match["announced"]
        return cls(match["action"], announced=int(announced) if announced is not None else None)

    async def callback(self, interaction: discord.Interaction) -> None:
        handler: Any = interaction.client.get_cog(PRIVACY_HANDLER_COG)  # type: ignore[attr-defined]
        if handler is None:
            await interaction.response.send_message("The privacy commands are not loaded right now.", ephemeral=True)
            return
        await handler.on_privacy_component(interaction, self.action, self.announced)


def forget_confirmation(
    persona_id: int, persona_name: str, memory: MemoryRecord
) -> tuple[discord.Embed, discord.ui.View]:
    embed = discord.Embed(
        title=clip(f"Make {persona_name} forget this?", TITLE_MAX),
        description=clip(
            f"{memory_text(memory)}\n\nIt is deleted for good: {_escape(persona_name)} will never recall it again, "
            "and it cannot be undone.",
            DESCRIPTION_MAX,
        ),
        colour=discord.Colour.red(),
    )
    embed.add_field(name="Tier", value=memory.tier)
    embed.add_field(name="Remembered", value=_stamp(memory.created_at))
    view = discord.ui.View(timeout=None)
    view.add_item(MemoryButton(persona_id, "forget", memory.id, label="Forget it", style=discord.ButtonStyle.danger))
    view.add_item(MemoryButton(persona_id, "keep", memory.id, label="Keep it"))
    return embed, view


def done_embed(title: str, description: str, *, colour: discord.Colour = MEMORY_COLOUR) -> discord.Embed:
    return discord.Embed(title=clip(title, TITLE_MAX), description=clip(description, DESCRIPTION_MAX), colour=colour)


# --------------------------------------------------------------------------------------------------- settings

# Each form holds at most five settings (Discord's limit on a modal's inputs): section -> (title, [(setting, label)]).
CONFIG_SECTIONS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "capacity": (
        "Capacity and tiers",
        (
            ("max_memory_size_mb", "Size limit in MB"),
            ("max_entities", "Most memories kept"),
            ("hot_memory_size", "Hot memories (used first)"),
            ("warm_memory_size", "Warm memories (searchable)"),
            ("cold_memory_retention_days", "Days cold memories are kept"),
        ),
    ),
    "decay": (
        "Decay",
        (
            ("decay_enabled", "Decay on? (yes / no)"),
            ("decay_function", "linear, exponential or logarithmic"),
            ("decay_rate", "Decay rate per day (0 = never)"),
            ("decay_schedule", "continuous, daily or weekly"),
            ("high_importance_threshold", "Never decays from importance (1-10)"),
        ),
    ),
    "weights": (
        "Retrieval weights and exemptions",
        (
            ("weight_recency", "Weight of recency"),
            ("weight_importance", "Weight of importance"),
            ("weight_relevance", "Weight of relevance"),
            ("pinned_memories_exempt", "Pinned memories never decay? (yes / no)"),
            ("exempt_categories", "Categories that never decay (a, b, ...)"),
        ),
    ),
    "other": (
        "Relationships, encryption, sharing",
        (
            ("track_relationships", "Track relationships? (yes / no)"),
            ("max_relationship_depth", "Relationship depth"),
            ("encrypt_sensitive", "Encrypt sensitive memories? (yes / no)"),
            ("shareable", "Memories shareable? (yes / no)"),
        ),
    ),
}
SECTION_BUTTONS = {
    "capacity": "Capacity & tiers",
    "decay": "Decay",
    "weights": "Weights & exemptions",
    "other": "Other",
}

_BOOL_SETTINGS = frozenset(
    {"decay_enabled", "pinned_memories_exempt", "track_relationships", "encrypt_sensitive", "shareable"}
)
_INT_SETTINGS = frozenset(
    {
        "max_entities",
        "hot_memory_size",
        "warm_memory_size",
        "cold_memory_retention_days",
        "high_importance_threshold",
        "max_relationship_depth",
    }
)
_FLOAT_SETTINGS = frozenset(
    {"max_memory_size_mb", "weight_recency", "weight_importance", "weight_relevance", "decay_rate"}
)
_YES = frozenset({"yes", "y", "true", "on", "1"})
_NO = frozenset({"no", "n", "false", "off", "0"})


def _shown(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if name == "exempt_categories":
        return ", ".join(value)
    return str(value)


def _preset_summary(name: str) -> str:
    config = rules.preset(name)
    return (
        f"hot {config.hot_memory_size}, warm {config.warm_memory_size}, at most {config.max_entities} memories, "
        f"{config.decay_function} decay {config.decay_rate:g}/day"
    )


def config_embed(persona_name: str, config: rules.MemoryConfig, *, note: str | None = None) -> discord.Embed:
    """Every memory setting, grouped as the forms group them."""
    embed = discord.Embed(
        title=clip(f"Memory settings: {persona_name}", TITLE_MAX),
        description=clip(
            (f"{note}\n\n" if note else "")
            + "Pick a preset, or change settings with the buttons (each setting is checked before it is saved).",
            DESCRIPTION_MAX,
        ),
        colour=MEMORY_COLOUR,
    )
    values = rules.config_to_dict(config)
    for title, settings in CONFIG_SECTIONS.values():
        lines = [
            f"{label}: **{clip(_escape(_shown(name, values[name])) or '(none)', 200)}**" for name, label in settings
        ]
        embed.add_field(name=title, value=clip("\n".join(lines), FIELD_VALUE_MAX), inline=False)
    return _fit(embed)


def config_view(persona_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(PresetSelect(persona_id))
    for section, label in SECTION_BUTTONS.items():
        view.add_item(MemoryButton(persona_id, f"open-{section}", label=label))
    return view


class ConfigModal(discord.ui.Modal):
    """A settings form. Its submission is handled by the memory cog's interaction listener (by custom_id), so a
    form opened before a restart is still understood after it."""

    def __init__(self, persona_id: int, section: str, title: str) -> None:
        super().__init__(title=clip(title, MODAL_TITLE_MAX), custom_id=f"memmodal:{persona_id}:{section}", timeout=900)


def config_modal(persona_id: int, section: str, config: rules.MemoryConfig) -> discord.ui.Modal:
    """The form for one section of :data:`CONFIG_SECTIONS`, filled with the current values."""
    title, settings = CONFIG_SECTIONS[section]
    modal = ConfigModal(persona_id, section, title)
    values = rules.config_to_dict(config)
    for name, label in settings:
        long = name == "exempt_categories"
        modal.add_item(
            discord.ui.TextInput(
                label=clip(label, MODAL_LABEL_MAX),
                custom_id=name,
                default=_shown(name, values[name]) or None,
                style=discord.TextStyle.paragraph if long else discord.TextStyle.short,
                max_length=1000 if long else 20,
                required=not long,
            )
        )
    return modal


def parse_config_form(section: str, values: Mapping[str, str]) -> dict[str, Any]:
    """A submitted form's text as setting values, for ``memories.config_update`` to validate whole.

    Text that does not read as its setting's type is passed on as text, so the service's validation names the
    setting and says what it must be (nothing is saved then). Fields not in the section are ignored.
    """
    _, settings = CONFIG_SECTIONS[section]
    changes: dict[str, Any] = {}
    for name, _label in settings:
        if name not in values:
            continue
        text = values[name].strip()
        value: Any = text
        if name in _BOOL_SETTINGS:
            lowered = text.lower()
            value = True if lowered in _YES else False if lowered in _NO else text
        elif name in _INT_SETTINGS:
            value = whole_number(text)
            if value is None:
                try:
                    value = float(text)  # "2.5" then fails as "must be a whole number"
                except ValueError:
                    value = text
        elif name in _FLOAT_SETTINGS:
            try:
                value = float(text)
            except ValueError:
                value = text
        elif name == "exempt_categories":
            value = [part.strip() for part in re.split(r"[,\n]", text) if part.strip()]
        changes[name] = value
    return changes


# --------------------------------------------------------------------------------------------------- privacy


# What /privacy consent says the model is shown versus what is stored (issue 15 item 4).
CONSENT_EXPLAINED = (
    "To answer, a persona's model is shown the channel's recent messages, yours included, and what it remembers. "
    "Those recent messages are held in memory for the conversation only, never stored. "
    "What is stored about you needs your consent: what you tell a persona (as its memories), its relationship "
    "with you, and who reacted to it. Without consent your reactions still move its mood but are counted without "
    'your name, and a mention of you in someone else\'s message is not kept (it becomes "someone").'
)


@dataclass(frozen=True)
class PersonaDecision:
    persona_id: int
    name: str
    decision: ConsentDecision


def _scope(persona_id: int | None, names: Mapping[int, str]) -> str:
    if persona_id is None:
        return "for every persona here"
    return f"for {_escape(names.get(persona_id, f'persona #{persona_id}'))}"


def consent_embed(
    decisions: Sequence[PersonaDecision],
    history: Sequence[ConsentRecordView],
    *,
    recorded: ConsentRecordView | None,
    names: Mapping[int, str],
    more_personas: bool = False,
) -> discord.Embed:
    """``/privacy consent``: what was just recorded, whether each persona here may remember the caller (and
    why), and the caller's consent history (newest first)."""
    if recorded is not None:
        verb = "gave" if recorded.granted else "refused"
        lead = f"Recorded: you {verb} consent to be remembered {_scope(recorded.persona_id, names)}."
    else:
        lead = "Your consent to be remembered. Give or refuse it with the `choice` option."
    embed = discord.Embed(title="What personas may remember about you", description=lead, colour=MEMORY_COLOUR)
    embed.add_field(name="What is shown and what is kept", value=CONSENT_EXPLAINED, inline=False)
    if decisions:
        lines = [
            f"**{_escape(item.name)}**: {'may remember you' if item.decision.allowed else 'does not remember you'}"
            f" ({item.decision.reason})"
            for item in decisions
        ]
        # Whole lines only, so every persona shown is named; the first (the one just chosen) always is.
        more = "… and more personas: choose one with the `persona` option to see what applies to it."
        kept = lines[:1]
        for line in lines[1:]:
            if len("\n".join([*kept, line, more])) > FIELD_VALUE_MAX:
                more_personas = True
                break
            kept.append(line)
        if more_personas:
            kept.append(more)
        embed.add_field(name="Personas here", value=clip("\n".join(kept), FIELD_VALUE_MAX), inline=False)
    else:
        embed.add_field(name="Personas here", value="There are no personas here yet.", inline=False)
    if history:
        lines = [
            f"{_stamp(entry.recorded_at)} {'given' if entry.granted else 'refused'} {_scope(entry.persona_id, names)}"
            for entry in history[:CONSENT_HISTORY_SHOWN]
        ]
        if len(history) > CONSENT_HISTORY_SHOWN:
            lines.append(f"… and {len(history) - CONSENT_HISTORY_SHOWN} earlier.")
        embed.add_field(name="Your history", value=clip("\n".join(lines), FIELD_VALUE_MAX), inline=False)
    else:
        embed.add_field(name="Your history", value="Nothing recorded yet.", inline=False)
    return _fit(embed)


FORGET_ME_PERSONAS_SHOWN = 20


def _persona_list(names: Sequence[str]) -> str:
    shown = ", ".join(f"**{_escape(name)}**" for name in names[:FORGET_ME_PERSONAS_SHOWN])
    more = len(names) - FORGET_ME_PERSONAS_SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def forget_me_confirmation(
    in_server: bool, owned_personas: Sequence[tuple[int, str]] = ()
) -> tuple[discord.Embed, discord.ui.View]:
    """The forget-me question: what goes (what ``bot.services.privacy.forget_me`` does), the caller's own
    personas by name (they are deleted), and what stays without them."""
    owned = [name for _, name in owned_personas]
    where = "on this server" if in_server else "in DMs and in your personal personas (made in DMs)"
    lines = [
        f"Everything that names you {where} is erased: every memory from or about you, relationship records, "
        "follows, endorsements, subscriptions, unfinished persona drafts, notifications to or about you, and your "
        "consent history.",
    ]
    if owned:
        count = f"{len(owned)} persona{'s' if len(owned) != 1 else ''}"
        lines.append(
            f"**Your {count} {'are' if len(owned) != 1 else 'is'} deleted, with everything they hold** "
            f"(memories, mood, followers, timeline, legacy): {_persona_list(owned)}."
        )
    lines.append(
        "What belongs to other people's personas stays without you: reactions you gave count anonymously, and "
        "retired personas' legacies keep everything but your memories."
    )
    lines.append(
        "Your consent is then recorded as refused (the one record kept about you), so nothing new is remembered "
        "about you (give it again with `/privacy consent` whenever you like). This cannot be undone."
    )
    embed = discord.Embed(title="Forget me?", description=clip("\n\n".join(lines), 4096), colour=discord.Colour.red())
    view = discord.ui.View(timeout=None)
    newest = max((persona_id for persona_id, _ in owned_personas), default=0)
    view.add_item(PrivacyButton("forget-me", label="Forget me", style=discord.ButtonStyle.danger, announced=newest))
    view.add_item(PrivacyButton("keep", label="Cancel"))
    return embed, view


def forgotten_embed(count: int, personas: Sequence[str] = ()) -> discord.Embed:
    memories = f"{count:,} {'memory' if count == 1 else 'memories'}"
    deleted = ""
    if personas:
        deleted = f" Your persona{'s' if len(personas) != 1 else ''} {_persona_list(personas)} "
        deleted += "were deleted." if len(personas) != 1 else "was deleted."
    return done_embed(
        "Forgotten",
        f"{memories} from or about you were erased, with everything else that named you here.{deleted} Your "
        "consent is recorded as refused: nothing new is remembered about you here.",
    )


EXPORT_SECTIONS = (
    ("memories", "memories"),
    ("archived_memories", "archived memories"),
    ("owned_personas", "personas"),
    ("consent_records", "consent records"),
    ("relationships", "relationship records"),
    ("emotional_events", "reactions"),
    ("follows", "follows"),
    ("endorsements", "endorsements"),
    ("subscriptions", "subscriptions"),
    ("notifications", "notifications"),
    ("wizard_drafts", "drafts"),
)


def export_summary(data: Mapping[str, Any]) -> str:
    """A sentence counting what an export holds (the main sections; the file has every one)."""
    return ", ".join(f"{len(data.get(key) or []):,} {label}" for key, label in EXPORT_SECTIONS)
