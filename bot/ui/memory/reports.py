"""``/memory health`` and ``/memory optimize``: the reports, and the tier chart (PNG bytes, synchronous: the cog
renders it with ``asyncio.to_thread``)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import discord
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.core import memory as rules
from bot.core.text import clip, counted
from bot.services.memories import HealthReport, OptimizationReport
from bot.ui.memory.common import FIELD_VALUE_MAX, MEMORY_COLOUR, TITLE_MAX, ago, fit, percent

TIER_CHART_FILENAME = "memory-tiers.png"
_BACKGROUND = "#2B2D31"
_TEXT = "#DBDEE1"
_TIER_COLOURS = {"hot": "#F0883E", "warm": "#E3B341", "cold": "#58A6FF"}
_CAPACITY_COLOUR = "#F85149"


def _usage(count: int, size: int) -> str:
    return f"{count:,} of {size:,} ({percent(count / size if size else 0.0)})"


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
    embed.add_field(name="Fragmentation", value=f"{percent(report.fragmentation)} in the wrong tier")
    embed.add_field(name="Last optimised", value=ago(report.time_since_optimization))


def _advice(report: HealthReport) -> str:
    if not report.recommendations:
        return "None: memory is in good shape."
    return clip("\n".join(f"• {line}" for line in report.recommendations), FIELD_VALUE_MAX)


def health_embed(persona_name: str, report: HealthReport, config: rules.MemoryConfig) -> discord.Embed:
    """The ``/memory health`` report: overall score, tier usage against the sizes, fragmentation, the last
    optimisation and the recommendations (the chart is attached as :data:`TIER_CHART_FILENAME`)."""
    embed = discord.Embed(
        title=clip(f"Memory health: {persona_name}", TITLE_MAX),
        description=(
            f"Overall score **{report.score:.0f}/100** for {counted(report.total_count, 'memory', 'memories')}."
        ),
        colour=MEMORY_COLOUR,
    )
    _report_fields(embed, report, config)
    embed.add_field(name="Recommendations", value=_advice(report), inline=False)
    embed.set_image(url=f"attachment://{TIER_CHART_FILENAME}")
    return fit(embed)


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
        value=f"{percent(before.fragmentation)} → {percent(after.fragmentation)} in the wrong tier",
    )
    embed.add_field(name="Recommendations now", value=_advice(after), inline=False)
    embed.set_image(url=f"attachment://{TIER_CHART_FILENAME}")
    return fit(embed)


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
        """The picture of a health report against the persona's tier sizes."""
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
    """The tier chart as the attachment the reports' embeds show (:data:`TIER_CHART_FILENAME`)."""
    return discord.File(io.BytesIO(png), filename=TIER_CHART_FILENAME)
