"""``/persona model``: the owner shows or changes a persona's model settings (bot/services/model_settings.py).

Not a cog (the leading underscore keeps ``bot.app.cog_modules`` from loading it): :class:`bot.cogs.personas.
PersonaCog` declares the command and calls :func:`persona_model`. The owner is checked first; a server address is
then checked (its host resolved, off the event loop, which can take a few seconds: the answer is deferred) before
the transaction that saves the change opens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import discord

from bot.clock import utcnow
from bot.cogs._options import actor_of, resolve_persona
from bot.services import model_servers
from bot.services import model_settings as persona_models
from bot.services.model_settings import ModelUpdate
from bot.ui import models as models_ui

if TYPE_CHECKING:
    from bot.app import PersonaHubBot

CLEAR_WORDS = ("default", "none")


@dataclass(frozen=True)
class ModelOptions:
    """The command's options as typed (None: not given)."""

    model: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    server: str | None = None
    api_key: str | None = None
    vision: bool | None = None
    reset: bool = False

    @property
    def changes_anything(self) -> bool:
        return self.reset or any(value is not None for name, value in vars(self).items() if name != "reset")


def _cleared(text: str | None) -> str | None:
    """A text option: None when not given, "" for a clear word, else the text."""
    if text is None:
        return None
    return "" if text.strip().lower() in CLEAR_WORDS else text


async def persona_model(
    bot: PersonaHubBot, interaction: discord.Interaction, persona: str, options: ModelOptions
) -> None:
    actor = actor_of(interaction)
    async with bot.db.session() as session:
        persona_id = await resolve_persona(session, interaction, persona)
        view = await persona_models.view(session, actor, persona_id)  # only its owner gets further
    default_model = bot.settings.llm_model or bot.model_provider
    if not options.changes_anything:
        embed = models_ui.model_embed(view, default_model, changed=False)
        await interaction.response.send_message(embed=embed, ephemeral=True)
        return
    if options.reset:
        async with bot.db.transaction() as session:
            view = await persona_models.reset(session, actor, persona_id)
        embed = models_ui.model_embed(view, default_model, changed=True)
        await interaction.response.send_message(embed=embed, ephemeral=True)
        return
    server = _cleared(options.server)
    safe = None
    if server:
        await interaction.response.defer(ephemeral=True, thinking=True)
        safe = await model_servers.check_server_url(server, allow_private=bot.settings.allow_private_model_servers)
    change = ModelUpdate(
        model=_cleared(options.model),
        temperature=options.temperature,
        top_p=options.top_p,
        max_tokens=options.max_tokens,
        presence_penalty=options.presence_penalty,
        frequency_penalty=options.frequency_penalty,
        server=safe,
        clear_server=server == "",
        api_key=_cleared(options.api_key),
        vision=options.vision,
    )
    key = bot.settings.memory_encryption_key
    async with bot.db.transaction() as session:
        view = await persona_models.update(
            session,
            actor,
            persona_id,
            change,
            encryption_key=key.get_secret_value() if key is not None else None,
            now=utcnow(),
        )
    embed = models_ui.model_embed(view, default_model, changed=True)
    if interaction.response.is_done():
        await interaction.followup.send(embed=embed, ephemeral=True)
    else:
        await interaction.response.send_message(embed=embed, ephemeral=True)
