"""Charts as PNG bytes, drawn with matplotlib's object-oriented API (no pyplot: no global state, thread-safe), and
the one cache of rendered charts (:class:`ChartCache`).

The drawing functions (here, in ``bot/ui/mood_charts.py`` and ``bot/ui/memory/reports.py``) are plain and synchronous;
:meth:`ChartCache.draw` runs them with ``asyncio.to_thread`` and remembers the PNG for the same picture. Colours suit
Discord's dark theme.
"""

from __future__ import annotations

import asyncio
import io
import math
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import Generic, TypeVar

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.projections.polar import PolarAxes

from bot.core.traits import ALL_TRAITS, TRAIT_MAX, TRAIT_MIN, label

BACKGROUND = "#2B2D31"  # Discord's dark theme, the embed background
GRID = "#4E5058"
TEXT = "#DBDEE1"
ACCENT = "#7C5CFF"  # the brand colour (bot/ui/about.py)
SIZE_INCHES = 5.6
DPI = 100
CHART_CACHE_SIZE = 256  # pictures kept per cache

K = TypeVar("K", bound=Hashable)


class ChartCache(Generic[K]):
    """Rendered chart PNGs by the picture they show (a key rounded to what the eye can tell apart); the least
    recently drawn is forgotten past ``size``."""

    def __init__(self, size: int = CHART_CACHE_SIZE) -> None:
        self.size = size
        self._pngs: OrderedDict[K, bytes] = OrderedDict()

    def get(self, key: K) -> bytes | None:
        """The PNG already drawn for ``key``, or None (without drawing)."""
        return self._pngs.get(key)

    async def draw(self, key: K, render: Callable[[], bytes]) -> bytes:
        """The PNG for ``key``: remembered, or ``render``-ed in a worker thread and remembered."""
        png = self._pngs.get(key)
        if png is None:
            png = await asyncio.to_thread(render)
            self._pngs[key] = png
            while len(self._pngs) > self.size:
                self._pngs.popitem(last=False)
        else:
            self._pngs.move_to_end(key)
        return png

    def clear(self) -> None:
        self._pngs.clear()

    def __len__(self) -> int:
        return len(self._pngs)


def _values(traits: Mapping[str, float]) -> list[float]:
    values = []
    for trait in ALL_TRAITS:
        if trait not in traits:
            raise ValueError(f"The radar chart needs all fourteen traits; {trait} is missing.")
        value = float(traits[trait])
        if not math.isfinite(value) or not TRAIT_MIN <= value <= TRAIT_MAX:
            raise ValueError(f"{label(trait)} must be from {TRAIT_MIN:g} to {TRAIT_MAX:g}; got {value!r}.")
        values.append(value)
    return values


def radar_chart(traits: Mapping[str, float], title: str | None = None) -> bytes:
    """A PNG radar (spider) chart of the fourteen built-in traits (0..100), labelled for people.

    ``traits`` maps every name of :data:`bot.core.traits.ALL_TRAITS` to its value (other keys, such as custom
    traits, are ignored); a missing trait or a value outside 0..100 raises ``ValueError``.
    """
    values = _values(traits)
    count = len(ALL_TRAITS)
    # Clockwise from the top; the polygon is closed by repeating the first point.
    angles = [2 * math.pi * index / count for index in range(count)]
    closed_angles = [*angles, angles[0]]
    closed_values = [*values, values[0]]

    figure = Figure(figsize=(SIZE_INCHES, SIZE_INCHES), dpi=DPI, facecolor=BACKGROUND)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(projection="polar", facecolor=BACKGROUND)
    assert isinstance(axes, PolarAxes)
    axes.set_theta_offset(math.pi / 2)
    axes.set_theta_direction(-1)
    axes.set_ylim(TRAIT_MIN, TRAIT_MAX)
    axes.set_yticks([25, 50, 75, 100])
    axes.set_yticklabels(["25", "50", "75", ""], color=GRID, fontsize=7)
    axes.set_rlabel_position(180 / count)
    axes.set_xticks(angles)
    axes.set_xticklabels([label(trait) for trait in ALL_TRAITS], color=TEXT, fontsize=9)
    axes.tick_params(axis="x", pad=6)
    axes.grid(color=GRID, linewidth=0.8)
    axes.spines["polar"].set_color(GRID)

    axes.fill(closed_angles, closed_values, color=ACCENT, alpha=0.35, zorder=2)
    axes.plot(closed_angles, closed_values, color=ACCENT, linewidth=2, zorder=3)
    axes.scatter(angles, values, color=TEXT, s=14, zorder=4)
    if title:
        axes.set_title(title, color=TEXT, fontsize=13, fontweight="bold", pad=22)
    figure.subplots_adjust(left=0.16, right=0.84, bottom=0.1, top=0.84 if title else 0.88)

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", facecolor=BACKGROUND, metadata={"Software": None})
    return buffer.getvalue()
