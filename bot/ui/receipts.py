""" "Why this reply?": the memories that shaped a persona's reply, shown privately to whom may see them, with a
Forget and a Correct button on each memory the viewer may change (:mod:`bot.services.receipts` decides which).

The buttons are ``DynamicItem``s whose custom ids carry the reply's message id and the memory id, so a receipt
shown before a restart still works; the correction form's custom id carries the same, and the cog named by
:data:`RECEIPTS_HANDLER_COG` answers both. Who presses is checked by the service, not here: a button never grants
what its presser may not do.
"""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.core.text import clip, one_line
from bot.services.receipts import Why
from bot.ui.guards import handler_cog
from bot.ui.memory.common import DESCRIPTION_MAX, MEMORY_COLOUR, MODAL_TITLE_MAX, TITLE_MAX, escape, fit, stamp

RECEIPTS_HANDLER_COG = "ReceiptsCog"
RECEIPT_BUTTON_TEMPLATE = r"receipt:(?P<message>\d+):(?P<memory>\d+):(?P<action>forget|correct)"
CORRECT_MODAL_PATTERN = re.compile(r"receipt-fix:(?P<message>\d+):(?P<memory>\d+)")
CORRECT_FIELD = "memory"
PREVIEW_MAX = 300
LINES_RESERVED = 700  # the note, the heading, the count of the others and the hint
LINE_OVERHEAD = 120  # a memory line's number, id, time and mark (escaping may lengthen its words a little)
CORRECT_MAX = 4000  # a text input's limit, and a memory's (bot.services.memories.MAX_CONTENT_CHARS)
BUTTON_ROWS = 5

NOTHING_USED = "No memories shaped this reply: it came from {name}'s character and the conversation."
UNREADABLE = "(an encrypted memory this bot cannot read right now)"


class ReceiptButton(discord.ui.DynamicItem[discord.ui.Button], template=RECEIPT_BUTTON_TEMPLATE):
    """Forget or correct one memory of a reply's receipt; survives restarts."""

    def __init__(
        self,
        message_id: int,
        memory_id: int,
        action: str,
        *,
        label: str = "",
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
        row: int | None = None,
    ) -> None:
        super().__init__(
            discord.ui.Button(
                label=label or None, style=style, custom_id=f"receipt:{message_id}:{memory_id}:{action}", row=row
            )
        )
        self.message_id = message_id
        self.memory_id = memory_id
        self.action = action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ReceiptButton:
        return cls(int(match["message"]), int(match["memory"]), match["action"])

    async def callback(self, interaction: discord.Interaction) -> None:
        handler = await handler_cog(interaction, RECEIPTS_HANDLER_COG, "Memory receipts")
        if handler is None:
            return
        await handler.on_receipt_component(interaction, self.message_id, self.memory_id, self.action)


def _preview(content: str, limit: int) -> str:
    """The memory's words on one line, escaped, at most ``limit`` characters (escaping counted)."""
    text = escape(one_line(content))
    if len(text) <= limit:
        return text
    cut = text[: max(1, limit - 1)]
    return cut[:-1] + "…" if cut.endswith("\\") else cut + "…"


def _line(number: int, used: Any, *, as_owner: bool, preview: int) -> str:
    memory = used.memory
    text = _preview(memory.content, preview) if memory.readable else UNREADABLE
    whose = ""
    if used.yours and not as_owner:
        whose = " · about you"
    elif memory.source_user_id is None and memory.subject_user_id is None:
        whose = " · its own"
    return f"**{number}.** “{text}”\n-# #{memory.id} · remembered {stamp(memory.created_at)}{whose}"


def why_embed(why: Why, *, note: str | None = None) -> discord.Embed:
    """The memories the viewer may see (best first) and how many others the reply used."""
    name = escape(why.persona_name)
    embed = discord.Embed(title=clip(f"Why {why.persona_name} said this", TITLE_MAX), colour=MEMORY_COLOUR)
    lines = [note] if note else []
    if not why.shown and not why.hidden:
        lines.append(NOTHING_USED.format(name=name))
    else:
        lines.append(f"What {name} remembered when it wrote this reply, most relevant first:")
        # Each memory's preview shares the description, so the count of the others and the hint always fit.
        preview = min(PREVIEW_MAX, (DESCRIPTION_MAX - LINES_RESERVED) // max(1, len(why.shown)) - LINE_OVERHEAD)
        lines.extend(
            _line(number, used, as_owner=why.as_owner, preview=preview)
            for number, used in enumerate(why.shown, start=1)
        )
        if why.hidden:
            others = "other" if why.hidden == 1 else "others"
            lines.append(f"…and {why.hidden} {others} not shown: memories about other people are theirs.")
    if any(used.yours for used in why.shown):
        lines.append("-# Forget removes a memory for good; Correct rewrites what it remembers.")
    embed.description = clip("\n".join(lines), DESCRIPTION_MAX)
    return fit(embed)


def why_view(why: Why) -> discord.ui.View | None:
    """Forget and Correct for each memory the viewer may change (None when there is none)."""
    view = discord.ui.View(timeout=None)
    for number, used in enumerate(why.shown, start=1):
        if not used.yours or number > BUTTON_ROWS * 2:
            continue
        row = min((number - 1) // 2, BUTTON_ROWS - 1)
        memory_id = used.memory.id
        view.add_item(
            ReceiptButton(
                why.reply_message_id,
                memory_id,
                "forget",
                label=f"Forget {number}",
                style=discord.ButtonStyle.danger,
                row=row,
            )
        )
        if used.memory.readable:
            view.add_item(ReceiptButton(why.reply_message_id, memory_id, "correct", label=f"Correct {number}", row=row))
    return view if view.children else None


def correct_modal(message_id: int, memory_id: int, current: str) -> discord.ui.Modal:
    """The correction form: the memory's words, to rewrite."""
    modal = discord.ui.Modal(
        title=clip("Correct this memory", MODAL_TITLE_MAX), custom_id=f"receipt-fix:{message_id}:{memory_id}"
    )
    modal.add_item(
        discord.ui.TextInput(
            label="What it should remember",
            custom_id=CORRECT_FIELD,
            style=discord.TextStyle.paragraph,
            default=clip(current, CORRECT_MAX) or None,
            max_length=CORRECT_MAX,
            required=True,
        )
    )
    return modal
