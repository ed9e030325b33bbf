"""``/privacy``: consent, the forget-me question and its buttons, what was forgotten, and what an export holds.
The buttons are ``DynamicItem``s answered by the cog named by :data:`PRIVACY_HANDLER_COG`."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import discord

from bot.core.privacy import ConsentDecision
from bot.core.text import clip
from bot.services.consent import ConsentRecordView
from bot.ui.guards import handler_cog
from bot.ui.memory.common import (
    FIELD_VALUE_MAX,
    MEMORY_COLOUR,
    PRIVACY_HANDLER_COG,
    done_embed,
    escape,
    fit,
    stamp,
)

EXPORT_FILENAME = "my-persona-hub-data.json"
CONSENT_PERSONAS_SHOWN = 15
CONSENT_HISTORY_SHOWN = 10
PRIVACY_BUTTON_TEMPLATE = r"privacy:(?P<action>forget-me|keep)(?::(?P<announced>\d{1,19}))?"


# What /privacy consent says the model is shown versus what is stored (issue 15 item 4).
CONSENT_EXPLAINED = (
    "To answer, a persona's model is shown the channel's recent messages, yours included, and what it remembers. "
    "Those recent messages are held in memory for the conversation only, never stored. "
    "What is stored about you needs your consent: what you tell a persona (as its memories), its relationship "
    "with you, and who reacted to it. Without consent your reactions still move its mood but are counted without "
    'your name, and a mention of you in someone else\'s message is not kept (it becomes "someone").'
)


@dataclass(frozen=True)
class PersonaDecision:
    """Whether one persona may remember the caller, for :func:`consent_embed`."""

    persona_id: int
    name: str
    decision: ConsentDecision


def _scope(persona_id: int | None, names: Mapping[int, str]) -> str:
    if persona_id is None:
        return "for every persona here"
    return f"for {escape(names.get(persona_id, f'persona #{persona_id}'))}"


def consent_embed(
    decisions: Sequence[PersonaDecision],
    history: Sequence[ConsentRecordView],
    *,
    recorded: ConsentRecordView | None,
    names: Mapping[int, str],
    more_personas: bool = False,
) -> discord.Embed:
    """``/privacy consent``: what was just recorded, whether each persona here may remember the caller (and
    why), and the caller's consent history (newest first)."""
    if recorded is not None:
        verb = "gave" if recorded.granted else "refused"
        lead = f"Recorded: you {verb} consent to be remembered {_scope(recorded.persona_id, names)}."
    else:
        lead = "Your consent to be remembered. Give or refuse it with the `choice` option."
    embed = discord.Embed(title="What personas may remember about you", description=lead, colour=MEMORY_COLOUR)
    embed.add_field(name="What is shown and what is kept", value=CONSENT_EXPLAINED, inline=False)
    if decisions:
        lines = [
            f"**{escape(item.name)}**: {'may remember you' if item.decision.allowed else 'does not remember you'}"
            f" ({item.decision.reason})"
            for item in decisions
        ]
        # Whole lines only, so every persona shown is named; the first (the one just chosen) always is.
        more = "… and more personas: choose one with the `persona` option to see what applies to it."
        kept = lines[:1]
        for line in lines[1:]:
            if len("\n".join([*kept, line, more])) > FIELD_VALUE_MAX:
                more_personas = True
                break
            kept.append(line)
        if more_personas:
            kept.append(more)
        embed.add_field(name="Personas here", value=clip("\n".join(kept), FIELD_VALUE_MAX), inline=False)
    else:
        embed.add_field(name="Personas here", value="There are no personas here yet.", inline=False)
    if history:
        lines = [
            f"{stamp(entry.recorded_at)} {'given' if entry.granted else 'refused'} {_scope(entry.persona_id, names)}"
            for entry in history[:CONSENT_HISTORY_SHOWN]
        ]
        if len(history) > CONSENT_HISTORY_SHOWN:
            lines.append(f"… and {len(history) - CONSENT_HISTORY_SHOWN} earlier.")
        embed.add_field(name="Your history", value=clip("\n".join(lines), FIELD_VALUE_MAX), inline=False)
    else:
        embed.add_field(name="Your history", value="Nothing recorded yet.", inline=False)
    return fit(embed)


FORGET_ME_PERSONAS_SHOWN = 20


def _persona_list(names: Sequence[str]) -> str:
    shown = ", ".join(f"**{escape(name)}**" for name in names[:FORGET_ME_PERSONAS_SHOWN])
    more = len(names) - FORGET_ME_PERSONAS_SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def forget_me_confirmation(
    in_server: bool, owned_personas: Sequence[tuple[int, str]] = ()
) -> tuple[discord.Embed, discord.ui.View]:
    """The forget-me question: what goes (what ``bot.services.privacy.forget_me`` does), the caller's own
    personas by name (they are deleted), and what stays without them."""
    owned = [name for _, name in owned_personas]
    where = "on this server" if in_server else "in DMs and in your personal personas (made in DMs)"
    lines = [
        f"Everything that names you {where} is erased: every memory from or about you, relationship records, "
        "follows, endorsements, subscriptions, unfinished persona drafts, notifications to or about you, and your "
        "consent history (and the invitations to give it).",
    ]
    if owned:
        count = f"{len(owned)} persona{'s' if len(owned) != 1 else ''}"
        lines.append(
            f"**Your {count} {'are' if len(owned) != 1 else 'is'} deleted, with everything they hold** "
            f"(memories, mood, followers, timeline, legacy): {_persona_list(owned)}."
        )
    lines.append(
        "What belongs to other people's personas stays without you: reactions you gave count anonymously, and "
        "retired personas' legacies keep everything but your memories."
    )
    lines.append(
        "Your consent is then recorded as refused (the one record kept about you), so nothing new is remembered "
        "about you (give it again with `/privacy consent` whenever you like). This cannot be undone."
    )
    embed = discord.Embed(title="Forget me?", description=clip("\n\n".join(lines), 4096), colour=discord.Colour.red())
    view = discord.ui.View(timeout=None)
    newest = max((persona_id for persona_id, _ in owned_personas), default=0)
    view.add_item(PrivacyButton("forget-me", label="Forget me", style=discord.ButtonStyle.danger, announced=newest))
    view.add_item(PrivacyButton("keep", label="Cancel"))
    return embed, view


def forgotten_embed(count: int, personas: Sequence[str] = ()) -> discord.Embed:
    """What forget-me erased: how many memories, and the caller's personas that were deleted."""
    memories = f"{count:,} {'memory' if count == 1 else 'memories'}"
    deleted = ""
    if personas:
        deleted = f" Your persona{'s' if len(personas) != 1 else ''} {_persona_list(personas)} "
        deleted += "were deleted." if len(personas) != 1 else "was deleted."
    return done_embed(
        "Forgotten",
        f"{memories} from or about you were erased, with everything else that named you here.{deleted} Your "
        "consent is recorded as refused: nothing new is remembered about you here.",
    )


EXPORT_SECTIONS = (
    ("memories", "memories"),
    ("archived_memories", "archived memories"),
    ("owned_personas", "personas"),
    ("consent_records", "consent records"),
    ("relationships", "relationship records"),
    ("emotional_events", "reactions"),
    ("follows", "follows"),
    ("endorsements", "endorsements"),
    ("subscriptions", "subscriptions"),
    ("notifications", "notifications"),
    ("wizard_drafts", "drafts"),
)


def export_summary(data: Mapping[str, Any]) -> str:
    """A sentence counting what an export holds (the main sections; the file has every one)."""
    return ", ".join(f"{len(data.get(key) or []):,} {label}" for key, label in EXPORT_SECTIONS)


class PrivacyButton(discord.ui.DynamicItem[discord.ui.Button], template=PRIVACY_BUTTON_TEMPLATE):
    """The forget-me confirmation's buttons. They act for whoever clicks (the message is theirs alone)."""

    def __init__(
        self,
        action: str,
        *,
        label: str = "",
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
        announced: int | None = None,
    ):
        # ``announced``: the newest persona of the caller's that the question named, so a later one is not erased.
        custom_id = f"privacy:{action}" + (f":{announced}" if announced is not None else "")
        super().__init__(discord.ui.Button(label=label or None, style=style, custom_id=custom_id))
        self.action = action
        self.announced = announced

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PrivacyButton:
        announced = match["announced"]
        return cls(match["action"], announced=int(announced) if announced is not None else None)

    async def callback(self, interaction: discord.Interaction) -> None:
        handler = await handler_cog(interaction, PRIVACY_HANDLER_COG, "The privacy commands")
        if handler is None:
            return
        await handler.on_privacy_component(interaction, self.action, self.announced)
