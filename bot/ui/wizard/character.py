"""The character as a person sees it: a summary for the wizard's review and the profile (what the persona has,
never the texts themselves, which can be long), the creator's notes clipped honestly, and the review's buttons
that open the character forms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import discord

from bot.core import wizard as rules
from bot.core.character import character_summary
from bot.core.text import clip
from bot.services.wizard import Draft
from bot.ui.wizard.parts import FIELD_VALUE_MAX, WizardButton

CHARACTER_ROW = 2
NONE_YET = "*none yet*"


def summary_text(values: Mapping[str, Any]) -> str:
    """What the character holds, in short lines ("Nickname: Ada", "Greeting: 120 characters",
    "Alternate greetings: 3"), within one embed field; ``*none yet*`` when it holds nothing."""
    lines = []
    nickname = str(values.get("nickname") or "")
    if nickname:
        lines.append(f"Nickname: {discord.utils.escape_markdown(clip(nickname, 100))}")
    lines += character_summary(values)
    return clip("\n".join(lines), FIELD_VALUE_MAX) if lines else NONE_YET


def notes_text(notes: str, limit: int = FIELD_VALUE_MAX) -> str:
    """The creator's notes for an embed field: clipped with "…" when longer than ``limit``."""
    return clip(notes.strip(), limit)


def add_character_buttons(view: discord.ui.View, draft: Draft) -> None:
    """The review's buttons that open the character forms (two pages, and the alternate greetings)."""
    greetings = len((draft.data.get("character") or {}).get("alternate_greetings") or [])
    labels = ("Character: story & greeting", "Character: personality & notes")
    for page, label_ in enumerate(labels[: len(rules.CHARACTER_PAGES)]):
        view.add_item(WizardButton(draft.id, "open-character", str(page), label=label_, row=CHARACTER_ROW))
    view.add_item(
        WizardButton(draft.id, "open-greetings", label=f"Alternate greetings ({greetings})", row=CHARACTER_ROW)
    )
