"""The personality radar chart."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.core.traits import ALL_TRAITS
from bot.ui.charts import BACKGROUND, radar_chart

TRAITS = {trait: 10.0 + 5 * index for index, trait in enumerate(ALL_TRAITS)}


def test_radar_chart_is_a_reasonable_png_on_the_dark_background() -> None:
    png = radar_chart(TRAITS, title="Ada")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    image.load()
    assert 300 <= image.width <= 1200 and 300 <= image.height <= 1200
    assert 5_000 < len(png) < 400_000
    corner = image.convert("RGB").getpixel((2, 2))
    assert corner == tuple(int(BACKGROUND[i : i + 2], 16) for i in (1, 3, 5))


def test_different_traits_draw_different_charts() -> None:
    other = {**TRAITS, "openness": 95.0}
    assert radar_chart(TRAITS) != radar_chart(other)
    assert radar_chart(TRAITS) == radar_chart(dict(TRAITS))  # the same traits, the same picture
    assert radar_chart(TRAITS, title="A") != radar_chart(TRAITS, title="B")


def test_custom_trait_keys_are_ignored_but_a_missing_or_bad_trait_is_refused() -> None:
    assert radar_chart({**TRAITS, "Punctuality": 70}) == radar_chart(TRAITS)
    with pytest.raises(ValueError, match="humor is missing"):
        radar_chart({k: v for k, v in TRAITS.items() if k != "humor"})
    with pytest.raises(ValueError, match="Empathy must be from 0 to 100"):
        radar_chart({**TRAITS, "empathy": 500})
