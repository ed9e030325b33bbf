"""Chat-shaped prompts end to end: the real bot against the sandbox and the fake model server. The request a persona
sends (the whole character, macros resolved, the history as named chat turns, post-history instructions last, stop
sequences, max_tokens by verbosity) and a reply that speaks for someone else cut there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from bot.db import models
from bot.sandbox import Sandbox
from tests.e2e.test_conversation_e2e import answer_from, persona_in
from tests.fakes.model_server import FakeModelServer, reply
from tests.support.bots import bot_on

pytestmark = pytest.mark.e2e

CARD = {
    "nickname": "Addy",
    "personality_text": "Dry wit; loves old machines.",
    "scenario": "{{user}} visits {{char}}'s workshop on a rainy day.",
    "example_dialogue": "<START>\n{{user}}: Fix this?\n{{char}}: With a spanner and a pun.",
    "system_prompt": "{{original}}\nStay in the workshop's world.",
    "post_history_instructions": "{{original}} Mention the rain if it fits.",
}


async def card_persona(bot: Any, sandbox: Sandbox, *, verbosity: str = "brief", **data: Any) -> int:
    persona_id = await persona_in(bot, sandbox, behavior={"verbosity": verbosity}, **data)
    async with bot.db.transaction() as session:
        await session.execute(update(models.Persona).where(models.Persona.id == persona_id).values(**CARD))
    return persona_id


async def test_the_request_is_chat_shaped_and_carries_the_whole_character(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer
) -> None:
    model_server.script(reply("Noted."), reply("Ada: Happy to help, Alice.\nBob: And me?\nAlice: thanks!"))
    async with bot_on(sandbox, database_file, model_server, llm_max_stop_sequences=8) as bot:
        await card_persona(bot, sandbox)
        await sandbox.send(sandbox.general, "Ada, the lathe is broken", author=sandbox.bob)
        first = await answer_from(bot, sandbox)
        assert first.content == "Noted."
        await sandbox.send(sandbox.general, "Ada, can you fix my clock?")
        answer = await answer_from(bot, sandbox, after=first.id)
    # The streamed reply lost its own label and stopped where it spoke for Bob.
    assert answer.content == "Happy to help, Alice."
    body = model_server.requests[-1]
    assert body["stream"] is True and body["max_tokens"] == 120  # brief
    roles = [(m["role"], m.get("name")) for m in body["messages"]]
    assert roles == [("system", None), ("user", "Bob"), ("assistant", None), ("user", "Alice"), ("system", None)]
    contents = [m["content"] for m in body["messages"]]
    assert contents[1] == "Bob: Ada, the lathe is broken" and contents[2] == "Noted."
    assert contents[3] == "Alice: Ada, can you fix my clock?"
    assert contents[4].startswith("Now write your next message as Addy") and "Mention the rain" in contents[4]
    system = contents[0]
    assert system.startswith("You are Ada (Addy to your friends)") and "Stay in the workshop's world." in system
    assert "Alice visits Addy's workshop on a rainy day." in system and "Dry wit" in system
    assert "Alice: Fix this?\nAddy: With a spanner and a pun." in system and "{{" not in system
    assert body["stop"][:3] == ["\nAlice:", "\nUser:", "\n### "] and "\nBob:" in body["stop"]


async def test_a_whole_reply_is_cleaned_too_and_verbosity_sets_max_tokens(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer
) -> None:
    # A persona with tools gets whole (not streamed) replies: cleaned the same way.
    model_server.script(reply("**Addy**: Rolled a six.\n\nAlice (you): great"))
    async with bot_on(sandbox, database_file, model_server) as bot:
        await card_persona(bot, sandbox, verbosity="detailed", plugins=["roll_dice"])
        await sandbox.send(sandbox.general, "Ada, roll a die")
        answer = await answer_from(bot, sandbox)
    assert answer.content == "Rolled a six."
    body = model_server.requests[-1]
    assert "stream" not in body and body["max_tokens"] == 600
    assert body["stop"] == ["\nAlice:", "\nUser:", "\n### "]  # LLM_MAX_STOP_SEQUENCES default: 4
