"""Mood charts (bot/ui/mood_charts.py): valid PNGs, different for different inputs, fast enough."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from matplotlib import image

from bot.core.pad import PAD
from bot.services.emotions import ActiveEmotionView, HistoryPoint, HistoryView
from bot.ui.mood_charts import history_chart, pad_chart

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def decoded_shape(png: bytes) -> tuple[int, ...]:
    assert png.startswith(PNG_MAGIC)
    return image.imread(io.BytesIO(png), format="png").shape


def active(kind: str, word: str, level: float) -> ActiveEmotionView:
    return ActiveEmotionView(
        type=kind,
        word=word,
        intensity=level,
        initial_intensity=level + 10,
        started_at=T0,
        ends_at=T0 + timedelta(minutes=30),
        remaining_minutes=20.0,
        cause="praise",
    )


def history(points: int, *, bucket: float | None = 60.0) -> HistoryView:
    kinds = ("joy", "trust", "anger")
    made = tuple(
        HistoryPoint(
            at=T0 + timedelta(minutes=n),
            count=3,
            by_emotion={kinds[n % 3]: 2, "joy": 1} if n % 3 else {"joy": 3},
            intensity_by_emotion={"joy": 40.0},
            mood=PAD((n % 20) / 20, -((n % 7) / 7), 0.1),
        )
        for n in range(points)
    )
    totals: dict[str, int] = {}
    for point in made:
        for kind, count in point.by_emotion.items():
            totals[kind] = totals.get(kind, 0) + count
    return HistoryView(1, T0, T0 + timedelta(minutes=max(points, 1)), bucket, made, 3 * points, totals)


def test_pad_chart_is_a_png_that_depends_on_the_mood() -> None:
    calm = pad_chart(PAD(0.1, -0.2, 0.1), PAD(0.1, -0.2, 0.1), [])
    excited = pad_chart(
        PAD(0.7, 0.6, 0.5), PAD(0.1, -0.2, 0.1), [active("joy", "joy", 60), active("trust", "trust", 30)]
    )
    hostile = pad_chart(PAD(-0.6, 0.5, 0.6), PAD(0.1, -0.2, 0.1), [active("anger", "rage", 90)])
    for png in (calm, excited, hostile):
        height, width, channels = decoded_shape(png)
        assert height >= 400 and width >= 500 and channels in (3, 4)
    assert len({calm, excited, hostile}) == 3


def test_history_chart_is_a_png_that_depends_on_the_history() -> None:
    small = history_chart(history(10, bucket=None))
    large = history_chart(history(500))
    empty = history_chart(history(0))
    for png in (small, large, empty):
        height, width, _ = decoded_shape(png)
        assert height >= 400 and width >= 700
    assert len({small, large, empty}) == 3
