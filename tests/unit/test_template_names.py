"""Templates are found by the names people see (bot/core/personality.py get_template), not only by hidden ids."""

from __future__ import annotations

import pytest

from bot.core.errors import NotFound
from bot.core.personality import get_template, list_templates
from bot.services.wizard import check_template


@pytest.mark.parametrize("typed", ["Playful Trickster", "playful trickster", "PLAYFUL-TRICKSTER", "playful_trickster"])
def test_a_template_is_found_by_the_name_shown(typed: str) -> None:
    shown = next(t for t in list_templates() if t.name == "Playful Trickster")
    assert get_template(typed).id == shown.id
    assert check_template(typed) == shown.id


def test_every_shown_name_and_emoji_label_works() -> None:
    for template in list_templates():
        assert get_template(template.name).id == template.id
        assert get_template(f"{template.emoji} {template.name}").id == template.id
        assert get_template(template.id).id == template.id


def test_an_unknown_template_names_the_ones_there_are() -> None:
    with pytest.raises(NotFound, match=r"The templates are: .*Playful Trickster"):
        get_template("Grumpy Wizard of Nowhere")
    with pytest.raises(NotFound):
        get_template("🃏")  # nothing left to match once the emoji is set aside
