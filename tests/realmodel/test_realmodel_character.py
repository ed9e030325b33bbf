"""A persona's character against the real model: the greeting posted on activation, and a lorebook entry that
fires reaching the model's request. Both personas come in as Character Cards V2 (``first_mes``,
``character_book``) through ``/persona import``, the way users bring them, and speak after ``/persona activate``.

What reached the model is read from the recording proxy in front of it (tests/realmodel/proxy.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.sandbox import Sandbox
from tests.realmodel.conftest import bot_on_real_model
from tests.realmodel.proxy import RecordingProxy
from tests.realmodel.support import (
    FIRST_TOKEN_SECONDS,
    card_json,
    reply_of,
    request_text,
    text_of,
)

pytestmark = [pytest.mark.realmodel, pytest.mark.timeout(600, func_only=True)]

VALE = "Captain Vale"
GREETING = "Ahoy, {{user}}! I am {{char}}, keeper of the Brinemouth light. Mind the rocks."
LORE_LIGHTHOUSE = "The Brinemouth lighthouse is painted in green and crimson stripes and its lamp burns whale oil."
LORE_KRAKEN = "A kraken named Oswin sleeps under the harbour and wakes only for sea shanties."


def vale_card(**data: object) -> bytes:
    return card_json(VALE, description="A retired sky pirate who now keeps a lighthouse.", **data)


async def imported_and_activated(sandbox: Sandbox, card: bytes) -> None:
    imported = await (await sandbox.slash("persona import", file=("vale.json", card))).message(timeout=30)
    assert f"Imported **{VALE}**" in imported.content, imported.content
    activated = await (await sandbox.slash("persona activate", persona=VALE)).message(timeout=30)
    assert activated.ephemeral


async def test_activating_a_persona_posts_its_greeting_once_and_the_model_sees_it(
    sandbox: Sandbox, database_file: Path, proxy: RecordingProxy
) -> None:
    async with bot_on_real_model(sandbox, database_file, proxy) as bot:
        await imported_and_activated(sandbox, vale_card(first_mes=GREETING))
        greeting = await sandbox.wait_for_message(sandbox.general, author=VALE, timeout=30)
        assert greeting.content.startswith("Ahoy, ") and "I am Captain Vale, keeper" in greeting.content
        assert "{{" not in greeting.content and "}}" not in greeting.content
        assert not proxy.chats(), "the greeting is the card's, not the model's"

        again = await (await sandbox.slash("persona activate", persona=VALE)).message(timeout=30)
        assert again.ephemeral
        sent = await sandbox.send(sandbox.general, "Captain Vale, which rocks should I mind?")
        posts = await reply_of(bot, sandbox, VALE, after=sent.id)
    assert text_of(posts).strip()
    # Before the question (the small model may echo the greeting in its answer).
    greetings = [p for p in sandbox.history(sandbox.general) if p.author == VALE and p.id < sent.id]
    assert len(greetings) == 1, "the greeting is posted once per channel"
    [body] = proxy.chats()
    assert "keeper of the Brinemouth light" in request_text(body), "the greeting is part of the conversation"


async def test_a_lorebook_entry_whose_key_is_mentioned_reaches_the_request_and_others_do_not(
    sandbox: Sandbox, database_file: Path, proxy: RecordingProxy
) -> None:
    book = {
        "name": "Brinemouth",
        "extensions": {},
        "entries": [
            _entry(1, ["lighthouse"], LORE_LIGHTHOUSE),
            _entry(2, ["kraken", "Oswin"], LORE_KRAKEN),
        ],
    }
    async with bot_on_real_model(sandbox, database_file, proxy) as bot:
        await imported_and_activated(sandbox, vale_card(character_book=book))
        sent = await sandbox.send(sandbox.general, "Captain Vale, what colour is your lighthouse?")
        posts = await reply_of(bot, sandbox, VALE, after=sent.id)
        assert posts and text_of(posts).strip()
    chats = proxy.chats()
    assert chats, f"no chat request reached the model in {FIRST_TOKEN_SECONDS:.0f} s"
    carried = request_text(chats[-1])
    assert "green and crimson stripes" in carried, "the entry whose key was mentioned is in the request"
    assert "Oswin sleeps" not in carried, "an entry whose keys were not mentioned stays out"


def _entry(entry_id: int, keys: list[str], content: str) -> dict[str, object]:
    """A Character Card V2 lorebook entry (every field the spec has)."""
    return {
        "id": entry_id,
        "keys": keys,
        "secondary_keys": [],
        "content": content,
        "comment": "",
        "name": keys[0],
        "enabled": True,
        "insertion_order": 100,
        "case_sensitive": False,
        "selective": False,
        "constant": False,
        "priority": 10,
        "position": "before_char",
        "extensions": {},
    }
