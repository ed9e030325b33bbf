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


def test_labels_of_emotions_close_together_do_not_overlap() -> None:
    from bot.ui.mood_charts import _label_box, _overlap, label_offsets

    labels = [(0.5, 0.5, "joyful 80"), (0.5, 0.5, "excited 60"), (0.52, 0.49, "content 40"), (0.49, 0.5, "calm 30")]
    offsets = label_offsets(labels)
    boxes = [_label_box(x, y, text, *offset) for (x, y, text), offset in zip(labels, offsets, strict=True)]
    assert len(set(offsets)) == 4
    assert not any(_overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    # A box already taken (an octant's name) is kept clear too.
    first = _label_box(0.5, 0.5, "joyful 80", 6, 6)
    assert label_offsets([(0.5, 0.5, "joyful 80")], [first]) != [(6, 6)]


def test_history_counts_are_whole_events_from_zero_over_the_whole_period() -> None:
    from matplotlib.dates import date2num

    from bot.ui.mood_charts import history_figure

    close = tuple(
        HistoryPoint(
            at=T0 + timedelta(minutes=30, milliseconds=400 * n), count=1, by_emotion={"joy": 1},
            intensity_by_emotion={}, mood=None,
        )
        for n in range(3)
    )  # fmt: skip
    view = HistoryView(1, T0, T0 + timedelta(hours=2), None, close, 3, {"joy": 3})
    top, bottom = history_figure(view).axes[:2]
    low, high = top.get_ylim()
    ticks = [t for t in top.get_yticks() if low <= t <= high]
    assert low == 0 and ticks and all(float(t).is_integer() for t in ticks)
    assert bottom.get_xlim() == (date2num(view.since), date2num(view.until))
