"""What ``/persona model`` and ``/admin models`` answer: a persona's model settings (the API key only as set or not
set), and a server's model allowances."""

from __future__ import annotations

import discord

from bot.core.model_settings import ModelAllowances, ModelChoice
from bot.services.model_settings import ModelView
from bot.ui.wizard import BRAND_COLOUR

DEFAULT = "default"


def _number(value: float | int | None) -> str:
    return f"{value:g}" if value is not None else DEFAULT


def allowances_text(allowed: ModelAllowances) -> str:
    models = ", ".join(allowed.models) if allowed.models else "any model"
    servers = "may" if allowed.own_servers else "may not"
    return f"Models allowed here: {models}. Owners {servers} point a persona at another model server."


def choice_lines(choice: ModelChoice, default_model: str) -> list[str]:
    server = choice.base_url or f"{DEFAULT} (the bot's)"
    key = "set" if choice.has_api_key else "not set"
    vision = DEFAULT if choice.vision is None else ("yes" if choice.vision else "no")
    return [
        f"**Model:** {choice.model or f'{DEFAULT} ({default_model})'}",
        f"**Temperature:** {_number(choice.temperature)} · **Top-p:** {_number(choice.top_p)}",
        f"**Max tokens:** {_number(choice.max_tokens) if choice.max_tokens else 'from its verbosity'}",
        f"**Presence penalty:** {_number(choice.presence_penalty)} · "
        f"**Frequency penalty:** {_number(choice.frequency_penalty)}",
        f"**Server:** {server} · **API key:** {key}",
        f"**Reads images:** {vision}",
    ]


def model_embed(view: ModelView, default_model: str, *, changed: bool) -> discord.Embed:
    """A persona's model settings, for its owner."""
    title = f"{view.persona_name}'s model" + (" (saved)" if changed else "")
    lines = choice_lines(view.choice, default_model)
    embed = discord.Embed(title=title, description="\n".join(lines), colour=BRAND_COLOUR)
    embed.set_footer(text=allowances_text(view.allowances))
    return embed
