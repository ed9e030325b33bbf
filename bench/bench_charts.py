"""Chart rendering time (radar, PAD, mood history): each must stay well under Discord's 3-second deadline and is
rendered off the event loop; the figures show how much of a command's time they take."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta

from bench.common import report
from bot.core.pad import PAD
from bot.core.traits import ALL_TRAITS
from bot.services.emotions import ActiveEmotionView, HistoryPoint, HistoryView
from bot.ui.charts import radar_chart
from bot.ui.mood_charts import history_chart, pad_chart


def _median_ms(render, runs: int = 9) -> float:
    render()  # fonts and caches
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        render()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


async def main() -> None:
    traits = {trait: 20 + (index * 37) % 70 for index, trait in enumerate(ALL_TRAITS)}
    report("chart_radar_median", _median_ms(lambda: radar_chart(traits, title="Ada")), "ms")
    now = datetime(2026, 11, 25, tzinfo=UTC)
    active = [
        ActiveEmotionView(
            type="joy",
            word="joy",
            intensity=60.0,
            initial_intensity=80.0,
            started_at=now,
            ends_at=now + timedelta(minutes=12),
            remaining_minutes=12.0,
            cause="praise",
        )
    ]
    report("chart_pad_median", _median_ms(lambda: pad_chart(PAD(0.5, 0.2, -0.3), PAD(0.1, 0.0, 0.1), active)), "ms")
    points = [
        HistoryPoint(
            at=now - timedelta(hours=i),
            count=3,
            by_emotion={"joy": 2, "anger": 1},
            intensity_by_emotion={"joy": 40.0, "anger": 20.0},
            mood=PAD(0.2, 0.1, (i % 7) / 10),
        )
        for i in range(500)
    ]
    view = HistoryView(
        persona_id=1,
        since=now - timedelta(days=21),
        until=now,
        bucket_seconds=3600.0,
        points=tuple(reversed(points)),
        total=1500,
    )
    report("chart_history_median", _median_ms(lambda: history_chart(view)), "ms")
