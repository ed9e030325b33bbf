"""The character's texts for one reply, macros resolved (:mod:`bot.core.macros`): our main instruction or the card's
system prompt, the description, personality, scenario, example dialogue and the post-history instructions.

Per the V2 card spec a card's ``system_prompt`` replaces our main instruction (``prompts/main.j2``) and its
``post_history_instructions`` replace ours (``prompts/post_history.j2``); ``{{original}}`` in either inserts ours.
``{{char}}`` is the persona's nickname when it has one, else its name; ``{{user}}`` the person being answered (with
messages that waited, the newest's author). People's messages, memories and names are never read for macros: their
words reach the model as written.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core import macros
from bot.core.prompt_parts import example_blocks
from bot.llm.prompt_files import render_template
from bot.templating.context import PromptContext


@dataclass(frozen=True)
class CharacterTexts:
    """The character's texts as the model gets them (before the token budget)."""

    main: str
    description: str
    personality: str
    scenario: str
    examples: tuple[str, ...]
    post_history: str


def character_texts(context: PromptContext) -> CharacterTexts:
    """The persona's texts for this reply, macros resolved (module docstring)."""
    persona = context.persona

    def resolve(text: str, original: str | None = None) -> str:
        return macros.resolve(
            text.strip(), char=persona.char_name, user=context.author, original=original, seed=context.seed
        ).strip()

    ours = render_template("main.j2", name=persona.name, nickname=persona.nickname.strip(), channel=context.channel)
    after = render_template("post_history.j2", name=persona.char_name)
    return CharacterTexts(
        main=resolve(persona.system_prompt, ours) if persona.system_prompt.strip() else ours,
        description=resolve(persona.description),
        personality=resolve(persona.personality_text),
        scenario=resolve(persona.scenario),
        examples=tuple(example_blocks(resolve(persona.example_dialogue))),
        post_history=(
            resolve(persona.post_history_instructions, after) if persona.post_history_instructions.strip() else after
        ),
    )
