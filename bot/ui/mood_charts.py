"""Mood and emotion charts as PNG bytes (matplotlib, Agg backend).

Plain synchronous functions that touch no global pyplot state (each builds its own ``Figure`` on an Agg canvas,
whatever ``matplotlib``'s default backend), so the cog can run them off the event loop with ``asyncio.to_thread``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime, timedelta

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Normalize
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.core.emotions import emotion_pad, emotion_types
from bot.core.pad import OCTANT_NAMES, describe
from bot.core.text import counted
from bot.services.emotions import ActiveEmotionView, HistoryPoint, HistoryView

_BACKGROUND = "#2b2d31"  # Discord's dark theme
_FOREGROUND = "#dbdee1"
_GRID = "#4e5058"
_DPI = 100
_D_COLOURS = "coolwarm"

# A colour per emotion type, stable across charts.
EMOTION_COLOURS: dict[str, str] = {
    "joy": "#f9c74f",
    "sadness": "#577590",
    "anger": "#f94144",
    "fear": "#9b5de5",
    "surprise": "#00bbf9",
    "disgust": "#6a994e",
    "trust": "#43aa8b",
    "anticipation": "#f8961e",
    "curiosity": "#4cc9f0",
    "frustration": "#bc4749",
    "excitement": "#f15bb5",
    "contentment": "#90be6d",
}


def new_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=_DPI, facecolor=_BACKGROUND)
    FigureCanvasAgg(figure)
    return figure


def style_axes(axes: Axes, title: str | None = None) -> None:
    axes.set_facecolor(_BACKGROUND)
    axes.tick_params(colors=_FOREGROUND, labelsize=8)
    for spine in axes.spines.values():
        spine.set_color(_GRID)
    axes.xaxis.label.set_color(_FOREGROUND)
    axes.yaxis.label.set_color(_FOREGROUND)
    if title:
        axes.set_title(title, color=_FOREGROUND, fontsize=10)


def to_png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    # Light compression: a chart compresses well anyway, and zlib's default level costs tens of milliseconds.
    figure.savefig(buffer, format="png", facecolor=figure.get_facecolor(), pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


# Where the PAD chart's labels go: its axes are about 310 points wide for 2.1 units; a 7-point label's characters
# are about 4.2 points wide and its line 9 high. Each label tries these offsets (points) from its dot, in order.
_POINTS_PER_UNIT = 148.0
_CHAR_POINTS, _LINE_POINTS = 4.2, 9.0
_LABEL_TRIES = ((6, 6), (6, -14), (-6, 6), (-6, -14), (6, 20), (-6, 20), (6, -28), (-6, -28))
Box = tuple[float, float, float, float]


def _label_box(x: float, y: float, text: str, dx: float, dy: float) -> Box:
    width = len(text) * _CHAR_POINTS
    left = x * _POINTS_PER_UNIT + dx - (width if dx < 0 else 0)
    bottom = y * _POINTS_PER_UNIT + dy
    return (left, bottom, left + width, bottom + _LINE_POINTS)


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def label_offsets(labels: Sequence[tuple[float, float, str]], taken: Sequence[Box] = ()) -> list[tuple[int, int]]:
    """An offset in points for each label ``(x, y, text)`` at its point (chart units), the first of the tries that
    overlaps no label placed before it nor a ``taken`` box (the first try when none is free): so emotions close in
    PAD space do not print over each other. A negative x offset means the label ends at its dot."""
    boxes = list(taken)
    chosen: list[tuple[int, int]] = []
    for x, y, text in labels:
        found = next(
            (t for t in _LABEL_TRIES if not any(_overlap(_label_box(x, y, text, *t), b) for b in boxes)),
            _LABEL_TRIES[0],
        )
        boxes.append(_label_box(x, y, text, *found))
        chosen.append(found)
    return chosen


def _octant_boxes(labels: Sequence[tuple[float, float, str]]) -> list[Box]:
    """The boxes of the centred octant names."""
    boxes = []
    for x, y, text in labels:
        half = len(text) * _CHAR_POINTS / 2
        cx, cy = x * _POINTS_PER_UNIT, y * _POINTS_PER_UNIT
        boxes.append((cx - half, cy - _LINE_POINTS / 2, cx + half, cy + _LINE_POINTS / 2))
    return boxes


def pad_chart(
    mood: Sequence[float],
    baseline: Sequence[float],
    active: Sequence[ActiveEmotionView] = (),
) -> bytes:
    """The mood in PAD space, projected on pleasure (x) and arousal (y); dominance is the colour (blue -1 to red
    +1) and the size. Each quadrant names its two octants (dominance + / -); the default mood is a ring, an arrow
    leads from it to the current mood, and active emotions are dots at their PAD points sized by intensity."""
    figure = new_figure(6.0, 5.4)
    # Fixed margins instead of tight_layout(), which draws the figure an extra time.
    figure.subplots_adjust(left=0.1, right=0.9, top=0.93, bottom=0.09)
    axes = figure.add_subplot(1, 1, 1)
    style_axes(axes, f"Mood: {describe((mood[0], mood[1], mood[2]))}")
    colours = Normalize(vmin=-1.0, vmax=1.0)
    axes.set_xlim(-1.05, 1.05)
    axes.set_ylim(-1.05, 1.05)
    axes.set_aspect("equal")
    axes.axhline(0, color=_GRID, linewidth=0.8)
    axes.axvline(0, color=_GRID, linewidth=0.8)
    axes.set_xlabel("pleasure")
    axes.set_ylabel("arousal")
    octants = []
    for (p, a, d), name in OCTANT_NAMES.items():
        x = 0.55 if p else -0.55
        y = (0.93 if d else 0.83) if a else (-0.83 if d else -0.93)
        octants.append((x, y, f"{name} (D{'+' if d else '−'})"))
        axes.text(x, y, octants[-1][2], ha="center", va="center", fontsize=7, color="#949ba4")
    points = [emotion_pad(emotion.type) for emotion in active]
    texts = [f"{emotion.word} {emotion.intensity:.0f}" for emotion in active]
    offsets = label_offsets(
        [(p.pleasure, p.arousal, t) for p, t in zip(points, texts, strict=True)], _octant_boxes(octants)
    )
    for emotion, point, label, offset in zip(active, points, texts, offsets, strict=True):
        axes.scatter(
            point.pleasure,
            point.arousal,
            s=30 + 4 * emotion.intensity,
            color=EMOTION_COLOURS.get(emotion.type, "#aaaaaa"),
            alpha=0.55,
            edgecolors="none",
        )
        axes.annotate(
            label,
            (point.pleasure, point.arousal),
            textcoords="offset points",
            xytext=offset,
            ha="right" if offset[0] < 0 else "left",
            fontsize=7,
            color=_FOREGROUND,
        )
    axes.scatter(
        baseline[0], baseline[1], s=140, facecolors="none", edgecolors=_FOREGROUND, linewidths=1.5, label="default"
    )
    axes.annotate(
        "",
        xy=(mood[0], mood[1]),
        xytext=(baseline[0], baseline[1]),
        arrowprops={"arrowstyle": "->", "color": _FOREGROUND, "alpha": 0.6},
    )
    marker = axes.scatter(
        mood[0],
        mood[1],
        s=120 + 180 * abs(mood[2]),
        c=[mood[2]],
        cmap=_D_COLOURS,
        norm=colours,
        edgecolors="white",
        linewidths=1.2,
        zorder=5,
        label="now",
    )
    bar = figure.colorbar(marker, ax=axes, fraction=0.046, pad=0.04)
    bar.set_label("dominance", color=_FOREGROUND)
    bar.ax.tick_params(colors=_FOREGROUND, labelsize=7)
    legend = axes.legend(loc="lower left", fontsize=7, facecolor=_BACKGROUND, edgecolor=_GRID, markerscale=0.5)
    for text in legend.get_texts():
        text.set_color(_FOREGROUND)
    return to_png(figure)


def history_chart(view: HistoryView) -> bytes:
    """Above: events per emotion type over time (stacked); below: the mood's pleasure, arousal and dominance."""
    return to_png(history_figure(view))


def history_figure(view: HistoryView) -> Figure:
    """The figure of :func:`history_chart`."""
    figure = new_figure(8.0, 5.0)
    if not view.points:
        axes = figure.add_subplot(1, 1, 1)
        style_axes(axes, "Emotional history")
        axes.set_axis_off()
        axes.text(
            0.5,
            0.5,
            f"No emotional events between {view.since:%Y-%m-%d %H:%M} and {view.until:%Y-%m-%d %H:%M} (UTC).",
            ha="center",
            va="center",
            color=_FOREGROUND,
            transform=axes.transAxes,
        )
        return figure
    # Fixed margins instead of tight_layout(), which draws the figure an extra time.
    figure.subplots_adjust(left=0.08, right=0.98, top=0.93, bottom=0.12, hspace=0.08)
    top, bottom = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    style_axes(top, f"Emotional history: {counted(view.total, 'event')}")
    style_axes(bottom)
    points = _filled(view)
    times: list[datetime] = [point.at for point in points]
    kinds = [kind for kind in emotion_types() if view.by_emotion.get(kind)]
    series = [[point.by_emotion.get(kind, 0) for point in points] for kind in kinds]
    if kinds:
        top.stackplot(
            times,
            *series,
            labels=kinds,
            colors=[EMOTION_COLOURS.get(kind, "#aaaaaa") for kind in kinds],
            step="post" if view.bucket_seconds else None,
            alpha=0.9,
        )
        legend = top.legend(loc="upper left", fontsize=7, ncol=4, facecolor=_BACKGROUND, edgecolor=_GRID)
        for text in legend.get_texts():
            text.set_color(_FOREGROUND)
    top.set_ylabel("events" if view.bucket_seconds is None else f"events / {_span(view.bucket_seconds)}")
    # Whole events from zero: a narrow range would otherwise get ticks like 50.2, 50.4 ... 51.4.
    top.set_ylim(bottom=0)
    top.yaxis.set_major_locator(MaxNLocator(integer=True))
    moods = [point.mood for point in points]
    for axis, (name, colour) in enumerate((("pleasure", "#43aa8b"), ("arousal", "#f8961e"), ("dominance", "#4cc9f0"))):
        bottom.plot(
            times, [m[axis] if m is not None else float("nan") for m in moods], color=colour, label=name, lw=1.2
        )
    bottom.axhline(0, color=_GRID, linewidth=0.8)
    bottom.set_ylim(-1.05, 1.05)
    bottom.set_ylabel("mood")
    legend = bottom.legend(loc="lower left", fontsize=7, ncol=3, facecolor=_BACKGROUND, edgecolor=_GRID)
    for text in legend.get_texts():
        text.set_color(_FOREGROUND)
    # The whole period asked for, not just the events' own span (events a second apart got ticks like 50.2 ... 51.4).
    if view.until > view.since:
        bottom.set_xlim(view.since, view.until)
    locator = AutoDateLocator(maxticks=8)
    bottom.xaxis.set_major_locator(locator)
    bottom.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    return figure


def _filled(view: HistoryView) -> list[HistoryPoint]:
    """The points, with empty buckets as zero points (a gap in the mood lines) so the stack does not bridge them."""
    if view.bucket_seconds is None:
        return list(view.points)
    width = timedelta(seconds=view.bucket_seconds)
    present = {point.at: point for point in view.points}
    filled: list[HistoryPoint] = []
    at = view.since
    while at < view.until:
        point = present.pop(at, None)
        filled.append(point or HistoryPoint(at, 0, {}, {}, None))
        at += width
    return sorted([*filled, *present.values()], key=lambda point: point.at)


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7_200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172_800:
        return f"{seconds / 3_600:.0f} h"
    return f"{seconds / 86_400:.0f} d"
