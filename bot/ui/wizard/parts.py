"""The wizard's parts: the limits and words every step uses, the persistent components (their custom_ids carry
the draft and the action, and their callbacks hand the click to the cog's ``WizardHandler``), and small pieces of
an embed (trait bars, the step's frame, the navigation row)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

import discord

from bot.core import wizard as rules
from bot.core.text import clip
from bot.core.traits import ALL_TRAITS, label
from bot.services.wizard import Draft
from bot.ui.guards import handler_cog

BRAND_COLOUR = discord.Colour(0x7C5CFF)
HANDLER_COG = "Personas"
CHART_FILENAME = "traits.png"
BUTTON_TEMPLATE = r"wizard:(?P<draft>\d+):(?P<action>[a-z-]+)(?::(?P<arg>[\w.-]+))?"
SELECT_TEMPLATE = r"wizsel:(?P<draft>\d+):(?P<action>[a-z-]+)"
MODAL_PATTERN = re.compile(
    r"wizmodal:(?P<draft>\d+):(?P<kind>basics|memory|traits|character|greetings|describe)(?::(?P<page>\d))?"
)

NAV_ROW = 4
BUTTON_LABEL_MAX = 45  # the product limit for button labels (Discord allows 80)
SELECT_TEXT_MAX = 100
FIELD_VALUE_MAX = 1024
DESCRIPTION_MAX = 4096
EMBED_TOTAL_MAX = 6000
MODAL_TEXT_MAX = 4000

CHATTINESS_WORDS = {0: "never", 5: "rarely", 10: "now and then", 25: "often", 50: "half the time", 75: "mostly"}
VISIBILITY_WORDS = {"owner": "only the owner", "server": "this server", "public": "everyone"}


# --------------------------------------------------------------------------------------------------- dispatch


class WizardHandler(Protocol):
    async def on_wizard_component(
        self, interaction: discord.Interaction, draft_id: int, action: str, arg: str | None, values: list[str] | None
    ) -> None: ...


async def _dispatch(
    interaction: discord.Interaction, draft_id: int, action: str, arg: str | None, values: list[str] | None
) -> None:
    handler = await handler_cog(interaction, HANDLER_COG, "The persona commands")
    if handler is None:
        return
    await handler.on_wizard_component(interaction, draft_id, action, arg, values)


class WizardButton(discord.ui.DynamicItem[discord.ui.Button], template=BUTTON_TEMPLATE):
    """A wizard button that survives restarts: its custom_id says which draft and what to do."""

    def __init__(
        self,
        draft_id: int,
        action: str,
        arg: str | None = None,
        *,
        label: str | None = None,
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
        emoji: str | None = None,
        disabled: bool = False,
        row: int | None = None,
    ) -> None:
        custom_id = f"wizard:{draft_id}:{action}" + (f":{arg}" if arg else "")
        super().__init__(
            discord.ui.Button(
                label=clip(label, BUTTON_LABEL_MAX) if label else None,
                style=style,
                emoji=emoji,
                disabled=disabled,
                custom_id=custom_id,
                row=row,
            )
        )
        self.draft_id = draft_id
        self.action = action
        self.arg = arg

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> WizardButton:
        return cls(int(match["draft"]), match["action"], match["arg"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await _dispatch(interaction, self.draft_id, self.action, self.arg, None)


class WizardSelect(discord.ui.DynamicItem[discord.ui.Select], template=SELECT_TEMPLATE):
    """A wizard select that survives restarts; the chosen values go to the handler."""

    def __init__(
        self,
        draft_id: int,
        action: str,
        options: list[discord.SelectOption] | None = None,
        *,
        placeholder: str | None = None,
        min_values: int = 1,
        max_values: int = 1,
        row: int | None = None,
        item: discord.ui.Select | None = None,
    ) -> None:
        if item is None:
            options = (options or [])[:25]
            item = discord.ui.Select(
                custom_id=f"wizsel:{draft_id}:{action}",
                options=options,
                placeholder=clip(placeholder, 150) if placeholder else None,
                min_values=min_values,
                max_values=min(max_values, len(options)) if options else max_values,
                row=row,
            )
        super().__init__(item)
        self.draft_id = draft_id
        self.action = action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> WizardSelect:
        return cls(int(match["draft"]), match["action"], item=item)  # type: ignore[arg-type]

    async def callback(self, interaction: discord.Interaction) -> None:
        await _dispatch(interaction, self.draft_id, self.action, None, list(self.item.values))


def option(label_: str, value: str, description: str | None = None, *, default: bool = False, emoji: str | None = None):
    """A select option with Discord's 100-character limits applied."""
    return discord.SelectOption(
        label=clip(label_, SELECT_TEXT_MAX),
        value=clip(value, SELECT_TEXT_MAX),
        description=clip(description, SELECT_TEXT_MAX) if description else None,
        default=default,
        emoji=emoji,
    )


# --------------------------------------------------------------------------------------------------- pieces


def bar(value: float, width: int = 10) -> str:
    filled = max(0, min(width, round(value / 100 * width)))
    return "█" * filled + "░" * (width - filled)


def traits_text(traits: Mapping[str, float], highlight: str | None = None) -> str:
    lines = []
    for trait in ALL_TRAITS:
        mark = "▶ " if trait == highlight else ""
        lines.append(f"`{bar(traits[trait])}` {traits[trait]:>3.0f} {mark}{label(trait)}")
    return "\n".join(lines)


def needs_chart(draft: Draft) -> bool:
    """Whether this step's message shows the radar chart (so the cog renders it, off the event loop)."""
    data = draft.data
    if data.get("traits") is None:
        return False
    if draft.step == rules.TOTAL_STEPS:
        return True
    return draft.step == 2 and not data.get("quiz") and not data.get("adjust")


def base_embed(draft: Draft, description: str) -> discord.Embed:
    title = f"Step {draft.step} of {rules.TOTAL_STEPS}: {rules.STEP_TITLES[draft.step - 1]}"
    if draft.editing_persona_id is not None:
        title += " (editing)"
    embed = discord.Embed(title=title, description=clip(description, DESCRIPTION_MAX), colour=BRAND_COLOUR)
    embed.set_footer(text="Only you can use these buttons. Your draft is kept for 24 hours.")
    return embed


def nav(view: discord.ui.View, draft: Draft, *, next_label: str = "Next") -> None:
    view.add_item(WizardButton(draft.id, "back", label="Back", disabled=draft.step == 1, row=NAV_ROW))
    if draft.step < rules.TOTAL_STEPS:
        view.add_item(WizardButton(draft.id, "next", label=next_label, style=discord.ButtonStyle.primary, row=NAV_ROW))
    view.add_item(WizardButton(draft.id, "cancel", label="Cancel", style=discord.ButtonStyle.danger, row=NAV_ROW))


def yes(value: bool) -> str:
    return "yes" if value else "no"
