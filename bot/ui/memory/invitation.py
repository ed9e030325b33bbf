"""The invitation to choose whether personas may remember a person in a server (issue 19): what is remembered
there, and three buttons (yes / not now / never).

It goes by DM; when the person's DMs are closed, a short note goes to the channel instead (no mention, nobody
pinged; the buttons act for whoever clicks, about themselves). The buttons are ``DynamicItem``s whose custom ids
carry the answer and the server (a DM has no server of its own), so an invitation sent before a restart still
works; clicks go to the cog named by :data:`PRIVACY_HANDLER_COG`.
"""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.core.privacy import SERVER_MODE_NAMES
from bot.core.text import clip, one_line
from bot.ui.guards import handler_cog
from bot.ui.memory.common import DESCRIPTION_MAX, MEMORY_COLOUR, PRIVACY_HANDLER_COG, TITLE_MAX, escape

CONSENT_BUTTON_TEMPLATE = r"consent:(?P<answer>yes|later|never):(?P<guild>\d{1,20})"
SERVER_NAME_MAX = 100
NOTE_NAME_MAX = 32

_REMEMBERED = (
    "Personas remember what you tell them (as memories), how they get on with you, and who reacted to them. "
    "The channel's recent messages are shown to a persona's model to answer, and never stored."
)
_MODE_SAYS = {
    "opt-in": "Here personas **remember only people who said yes**: until you do, nothing you say is kept.",
    "opt-out": (
        "Here the server's admins chose that personas **remember people unless they say no**: what you say may "
        "be kept from now on."
    ),
}
_BUTTONS_SAY = (
    "**Yes**: personas here may remember you. **Not now**: nothing changes, and I ask again in a month. "
    "**Never**: nothing about you is remembered here, and I do not ask again. Change your mind any time with "
    "`/privacy consent`; `/privacy forget-me` erases what is kept."
)


def _buttons(guild_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(ConsentButton("yes", guild_id, label="Yes, remember me", style=discord.ButtonStyle.success))
    view.add_item(ConsentButton("later", guild_id, label="Not now"))
    view.add_item(ConsentButton("never", guild_id, label="Never", style=discord.ButtonStyle.danger))
    return view


def invitation(server_mode: str, guild_id: int, guild_name: str) -> tuple[discord.Embed, discord.ui.View]:
    """The DM: what personas remember in ``guild_name``, what the server's mode means for the person, and the
    three buttons."""
    server = escape(clip(one_line(guild_name), SERVER_NAME_MAX)) or "this server"
    description = "\n\n".join([_REMEMBERED, _MODE_SAYS.get(server_mode, _MODE_SAYS["opt-in"]), _BUTTONS_SAY])
    embed = discord.Embed(
        title=clip(f"May personas in {server} remember you?", TITLE_MAX),
        description=clip(description, DESCRIPTION_MAX),
        colour=MEMORY_COLOUR,
    )
    return embed, _buttons(guild_id)


def channel_note(server_mode: str, guild_id: int, display_name: str) -> tuple[str, discord.ui.View]:
    """The note in the channel when the person's DMs are closed: short, naming them without a mention (send it
    with no mentions allowed), with the same buttons (each clicker answers for themselves)."""
    name = escape(clip(one_line(display_name), NOTE_NAME_MAX)) or "Hi"
    mode = "remember only people who say yes" if server_mode == "opt-in" else "remember people unless they say no"
    text = (
        f"{name}, I could not DM you: personas here {mode}. Choose below (only you see the answer), or any time "
        "with `/privacy consent`."
    )
    return text, _buttons(guild_id)


def answer_text(answer: str, server_mode: str) -> str:
    """What a click on the invitation did."""
    if server_mode == "never":
        return "Recorded. This server's admins chose that personas remember no one here, whatever people choose."
    if answer == "yes":
        return "Thank you: personas here may remember what you tell them. Change it with `/privacy consent`."
    if answer == "never":
        return "Recorded: nothing about you is remembered here, and I will not ask again."
    if server_mode == "opt-out":
        return (
            "Nothing changed: this server remembers people unless they say no, so personas may remember you. "
            "I will ask again in a month."
        )
    return "Nothing changed: nothing you say is remembered here. I will ask again in a month."


def mode_text(mode: str, previous: str) -> str:
    """``/admin memory``: the server's memory mode now (and before, when it changed)."""
    now = f"**{SERVER_MODE_NAMES.get(mode, mode)}**"
    if mode == previous:
        return f"Personas on this server {now} ({_MODE_NOTES[mode]})."
    return f"Personas on this server now {now} (was: {SERVER_MODE_NAMES.get(previous, previous)}). {_MODE_NOTES[mode]}."


_MODE_NOTES = {
    "opt-in": "people are invited to choose the first time they talk to a persona; only a yes is remembered",
    "opt-out": "people are told the first time they talk to a persona and remembered unless they say no",
    "never": "nothing anyone says is remembered here, and nobody is asked",
}


class ConsentButton(discord.ui.DynamicItem[discord.ui.Button], template=CONSENT_BUTTON_TEMPLATE):
    """The invitation's buttons: the clicker answers for themselves, for the server in the custom id."""

    def __init__(
        self,
        answer: str,
        guild_id: int,
        *,
        label: str = "",
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
    ):
        custom_id = f"consent:{answer}:{guild_id}"
        super().__init__(discord.ui.Button(label=label or None, style=style, custom_id=custom_id))
        self.answer = answer
        self.guild_id = guild_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ConsentButton:
        return cls(match["answer"], int(match["guild"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        handler = await handler_cog(interaction, PRIVACY_HANDLER_COG, "The privacy commands")
        if handler is None:
            return
        await handler.on_consent_invitation(interaction, self.answer, self.guild_id)
