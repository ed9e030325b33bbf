"""Trait values suggested by a description ("describe your persona in a few sentences"), for the wizard.

With a model server configured, the model is asked for JSON of a strict schema (``response_format`` json_schema,
:data:`bot.core.trait_suggestions.MODEL_SCHEMA`) and its answer is checked; any failure (the server, JSON that does
not parse, an answer outside the schema) falls back to the offline lexicon, so a description always gets an answer.
No session: this runs between transactions (it awaits the model).
"""

from __future__ import annotations

import json
import logging

from bot.core import trait_suggestions as rules
from bot.core.errors import DomainError
from bot.core.inputs import require_storable
from bot.core.traits import ALL_TRAITS, label
from bot.llm import ChatMessage, ChatRequest, ModelError, OfflineResponder, Provider
from bot.templating.prompts import render_template

log = logging.getLogger(__name__)

NOTHING_FOUND = (
    "I could not read any traits from that description. Try words such as curious, shy, organised, witty or calm, "
    "or set the traits by hand (e.g. 'curiosity 80')."
)


def request_for(description: str) -> ChatRequest:
    """The model call: ``prompts/wizard/trait_suggestions_system.j2``, the description as the user's message, and
    the answer's JSON schema."""
    traits = [(t, label(t).lower()) for t in ALL_TRAITS]
    return ChatRequest(
        system=render_template("wizard/trait_suggestions_system.j2", traits=traits),
        messages=(ChatMessage(role="user", content=description),),
        max_tokens=800,
        temperature=0.2,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "trait_suggestions", "strict": True, "schema": rules.MODEL_SCHEMA},
        },
    )


def checked_description(description: str) -> str:
    """The description to read: trimmed, storable, its first :data:`rules.DESCRIBE_MAX` characters (a long one from
    step 1 is read in part); DomainError when there is none."""
    text = require_storable((description or "").strip(), "The description")
    if not text:
        raise DomainError("Describe your persona in a few sentences first (e.g. 'describe: a shy, curious bookworm').")
    return text[: rules.DESCRIBE_MAX]


async def suggest(llm: Provider, description: str) -> rules.Suggestions:
    """Suggested traits for ``description``: the model's (checked), else the lexicon's. DomainError when the text
    is unusable, or when neither source found anything in it."""
    text = checked_description(description)
    suggestions = await _from_model(llm, text) if not isinstance(llm, OfflineResponder) else None
    if suggestions is None:
        suggestions = rules.from_lexicon(text)
    if not suggestions.suggested:
        raise DomainError(NOTHING_FOUND)
    return suggestions


async def _from_model(llm: Provider, text: str) -> rules.Suggestions | None:
    try:
        reply = await llm.reply(request_for(text))
        return rules.from_model(json.loads(reply.text))
    except (ModelError, ValueError, DomainError) as error:
        log.info("trait suggestions: the model's answer was not usable (%s); using the lexicon", error)
        return None
