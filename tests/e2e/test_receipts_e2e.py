"""Memory receipts and "Why this reply?", end to end (the real bot, the sandbox, the fake model server), on a SQLite
file and on PostgreSQL: a reply records the memories its prompt used; the person it answered sees theirs and the
persona's own (the others counted, never shown), the owner sees all, anyone else is refused; Forget and Correct
from the receipt change the memory (a stranger's press changes nothing); another take replaces the receipt; the
privacy export lists receipts and forget-me removes them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import PersonaHubBot
from bot.clock import utcnow
from bot.cogs.receipts import MENU_NAME
from bot.core.regeneration import REGENERATE_EMOJI
from bot.db import models
from bot.sandbox import Sandbox
from bot.sandbox.harness.results import Posted
from bot.services import memories
from tests.e2e.test_conversation_e2e import answer_from, persona_in, system_prompt
from tests.e2e.test_conversation_records_e2e import _consent
from tests.fakes.model_server import FakeModelServer, reply
from tests.support.bots import bot_on
from tests.support.reading import count
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

ALICES = "Alice's favourite island is Arran, where she learnt to sail."
CAROLS = "Carol's favourite island is Barra, for its beach runway."
ADAS = "Ada's own favourite island is Iona, for its abbey."
ANSWER, ANOTHER = "Arran, I think: you sailed there.", "Iona, for the quiet."


async def _memory(bot: PersonaHubBot, persona_id: int, content: str, person: int | None) -> int:
    async with bot.db.transaction() as session:
        record = await memories.capture(
            session,
            persona_id,
            content=content,
            category="conversation" if person else "fact",
            importance=5,
            source_user_id=person,
            source_channel_id=None,
            source_message_id=None,
            now=utcnow(),
        )
    return record.id


async def _receipt(bot: PersonaHubBot, message_id: int) -> list[int]:
    receipt = models.MemoryReceipt
    async with bot.db.session() as session:
        query = select(receipt.memory_id).where(receipt.reply_message_id == message_id).order_by(receipt.rank)
        return list((await session.execute(query)).scalars())


async def _text(bot: PersonaHubBot, memory_id: int) -> str | None:
    async with bot.db.session() as session:
        row = await session.get(models.Memory, memory_id)
        return row.content if row is not None else None


async def _scene(bot: PersonaHubBot, sandbox: Sandbox, model_server: FakeModelServer) -> tuple[dict[str, int], Posted]:
    """Ada (Bob's) remembers something about Alice, about Carol and of its own; Alice asks about islands and Ada
    answers with the three in its prompt."""
    ada = await persona_in(bot, sandbox, owner_id=sandbox.bob.id)
    carol = sandbox.add_user("carol")
    ids = {
        "ada": ada,
        "alice": await _memory(bot, ada, ALICES, sandbox.alice.id),
        "carol": await _memory(bot, ada, CAROLS, carol.id),
        "own": await _memory(bot, ada, ADAS, None),
    }
    await _consent(bot, sandbox, sandbox.alice)
    model_server.script(reply(ANSWER), reply(ANOTHER))
    said = await sandbox.send(sandbox.general, "Ada, which favourite island would you pick?")
    answer = await answer_from(bot, sandbox, after=said)
    assert answer.content == ANSWER
    prompt = system_prompt(model_server.requests[-1])
    assert ALICES in prompt and CAROLS in prompt and ADAS in prompt
    await eventually(lambda: _receipt_has(bot, answer.id, 3), "the receipt recorded", timeout=10)
    return ids, answer


async def _receipt_has(bot: PersonaHubBot, message_id: int, rows: int) -> bool:
    return len(await _receipt(bot, message_id)) == rows


def _description(message: Posted) -> str:
    return str(message.embeds[0].get("description", ""))


async def _why(sandbox: Sandbox, answer: Posted, user: Any) -> Posted:
    return await (await sandbox.message_command(MENU_NAME, answer, as_user=user)).message(timeout=10)


async def test_a_reply_records_its_receipt_and_the_answered_person_sees_theirs_while_others_are_refused(
    sandbox: Sandbox, bot: PersonaHubBot, model_server: FakeModelServer
) -> None:
    ids, answer = await _scene(bot, sandbox, model_server)
    assert set(await _receipt(bot, answer.id)) == {ids["alice"], ids["carol"], ids["own"]}

    mine = await _why(sandbox, answer, sandbox.alice)
    text = _description(mine)
    assert mine.ephemeral and mine.embeds[0]["title"] == "Why Ada said this"
    assert "Arran" in text and "about you" in text and "Iona" in text and "its own" in text
    assert "Barra" not in text and "1 other not shown" in text
    # Forget and Correct on her memory only (the persona's own is not hers to change).
    labels = sorted(b["label"] for b in mine.buttons())
    assert len(labels) == 2 and labels[0].startswith("Correct ") and labels[1].startswith("Forget ")
    assert all(f":{ids['alice']}:" in b["custom_id"] for b in mine.buttons())

    dave = sandbox.add_user("dave")
    refused = await _why(sandbox, answer, dave)
    assert refused.ephemeral and refused.content.startswith("Only the person this reply answered, or Ada's owner")
    assert not refused.embeds

    owners = await _why(sandbox, answer, sandbox.bob)
    assert owners.ephemeral and all(word in _description(owners) for word in ("Arran", "Barra", "Iona"))
    assert "not shown" not in _description(owners) and len(owners.buttons()) == 6


async def test_forget_and_correct_from_the_receipt_change_only_the_persons_own_memory(
    sandbox: Sandbox, bot: PersonaHubBot, model_server: FakeModelServer
) -> None:
    ids, answer = await _scene(bot, sandbox, model_server)
    mine = await _why(sandbox, answer, sandbox.alice)
    correct = next(b for b in mine.buttons() if b["label"].startswith("Correct"))
    forget = next(b for b in mine.buttons() if b["label"].startswith("Forget"))

    # A press by someone else (a forged custom id on their own receipt view) is refused by the service.
    carols_id = ids["carol"]
    dave = sandbox.add_user("dave")
    sandbox.state.messages[mine.id].visible_to = None  # let dave press the same message's button
    pressed = await (await sandbox.click(mine, custom_id=forget["custom_id"], user=dave)).message(timeout=10)
    assert "only a memory about you" in pressed.content
    assert await _text(bot, ids["alice"]) == ALICES and await _text(bot, carols_id) == CAROLS

    opened = await sandbox.click(mine, custom_id=correct["custom_id"], user=sandbox.alice)
    blank = await (await sandbox.submit_modal(opened, memory="   ")).message(timeout=10)
    assert blank.ephemeral and "needs some words" in blank.content and "Nothing was changed" in blank.content
    assert await _text(bot, ids["alice"]) == ALICES
    opened = await sandbox.click(mine, custom_id=correct["custom_id"], user=sandbox.alice)
    fixed = "Alice's favourite island is Arran; she learnt to sail at Lamlash."
    await (await sandbox.submit_modal(opened, memory=fixed)).message(timeout=10)
    await eventually(lambda: _says(bot, ids["alice"], fixed), "the memory corrected", timeout=10)

    done = await (await sandbox.click(mine, custom_id=forget["custom_id"], user=sandbox.alice)).message(timeout=10)
    assert "Forgotten" in json.dumps(done.embeds) or "Forgotten" in done.content
    assert await _text(bot, ids["alice"]) is None
    assert set(await _receipt(bot, answer.id)) == {ids["carol"], ids["own"]}  # its receipt row went with it
    assert await _text(bot, carols_id) == CAROLS


async def _says(bot: PersonaHubBot, memory_id: int, text: str) -> bool:
    return await _text(bot, memory_id) == text


async def test_another_take_replaces_the_receipt(
    sandbox: Sandbox, bot: PersonaHubBot, model_server: FakeModelServer
) -> None:
    ids, answer = await _scene(bot, sandbox, model_server)
    newer = await _memory(bot, ids["ada"], "Alice's next favourite island is Eigg.", sandbox.alice.id)
    await sandbox.react(answer, REGENERATE_EMOJI, user=sandbox.alice)
    await eventually(lambda: sandbox.state.messages[answer.id].content == ANOTHER, "the new take", timeout=15)
    await eventually(lambda: _receipt_has(bot, answer.id, 4), "the receipt of the new take", timeout=10)
    assert set(await _receipt(bot, answer.id)) == {ids["alice"], ids["carol"], ids["own"], newer}
    mine = await _why(sandbox, answer, sandbox.alice)
    assert "Eigg" in _description(mine) and "1 other not shown" in _description(mine)


async def test_the_privacy_export_lists_receipts_and_forget_me_removes_them(
    sandbox: Sandbox, bot: PersonaHubBot, model_server: FakeModelServer
) -> None:
    ids, answer = await _scene(bot, sandbox, model_server)
    reply_ = await (await sandbox.slash("privacy export-my-data")).message(timeout=15)
    assert reply_.content.startswith("Sent to your DMs:")
    [dm] = [message for message in sandbox.dms(sandbox.alice) if message.attachments]
    export = json.loads(dm.attachments[0].data)
    listed = {(entry["reply_message_id"], entry["memory_id"]) for entry in export["memory_receipts"]}
    assert listed == {(answer.id, ids[key]) for key in ("alice", "carol", "own")}

    confirm = await (await sandbox.slash("privacy forget-me")).message(timeout=10)
    await sandbox.click(confirm, label="Forget me")
    await sandbox.wait_until(lambda: confirm.embeds[0]["title"] == "Forgotten", 15, "the forget-me result")
    receipt = models.MemoryReceipt
    # Every receipt of a reply to her went, the one naming the persona's own memory too (no cascade reaches it).
    assert await count(bot, receipt, receipt.answered_author_id == sandbox.alice.id) == 0
    assert await count(bot, receipt) == 0
    assert await _text(bot, ids["own"]) == ADAS and await _text(bot, ids["carol"]) == CAROLS


async def test_the_receipts_buttons_and_form_work_after_a_restart(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer
) -> None:
    async with bot_on(sandbox, database_file, model_server) as bot:
        ids, answer = await _scene(bot, sandbox, model_server)
        mine = await _why(sandbox, answer, sandbox.alice)
        correct = next(b for b in mine.buttons() if b["label"].startswith("Correct"))
        opened = await sandbox.click(mine, custom_id=correct["custom_id"], user=sandbox.alice)
        await opened.modal(timeout=10)
    fixed = "Alice sailed to Arran twice."
    async with bot_on(sandbox, database_file, model_server) as bot:
        await (await sandbox.submit_modal(opened, memory=fixed)).message(timeout=10)
        assert await _text(bot, ids["alice"]) == fixed
        forget = next(b for b in mine.buttons() if b["label"].startswith("Forget"))
        await (await sandbox.click(mine, custom_id=forget["custom_id"], user=sandbox.alice)).message(timeout=10)
        await eventually(lambda: _gone(bot, ids["alice"]), "the memory forgotten after the restart", timeout=10)


async def _gone(bot: PersonaHubBot, memory_id: int) -> bool:
    return await _text(bot, memory_id) is None
