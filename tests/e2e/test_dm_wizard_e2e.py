"""The creation wizard as a conversation in a DM, end to end: the real bot against the sandbox, on a SQLite file.

Every field typed (name, description, avatar by attachment, traits suggested from a description and adjusted,
memory, behaviour, privacy, every character field), a bad value answered with the validation sentence and nothing
changed, back / skip / help, the bot restarted half-way on the same database (the conversation goes on), the
questionnaire answered by typing, cancel, the suggestions asked of a model server (the fake one) with a malformed
answer falling back to the lexicon, the Describe… form of a server's wizard, and a server's wizard continued as a
chat in a private thread.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.core import quiz
from bot.db import models
from bot.sandbox import Sandbox
from bot.sandbox.harness import Posted
from bot.services import personas as persona_service
from tests.fakes.model_server import FakeModelServer, reply
from tests.support.bots import bot_on
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def title(message: Posted) -> str:
    return message.embeds[0]["title"]


def fields(message: Posted) -> dict[str, str]:
    return {f["name"]: f["value"] for f in message.embeds[0].get("fields", [])}


async def drafts(bot: Any) -> list[models.WizardDraft]:
    async with bot.db.session() as session:
        return list((await session.execute(select(models.WizardDraft))).scalars())


async def personas(bot: Any) -> list[models.Persona]:
    async with bot.db.session() as session:
        return list((await session.execute(select(models.Persona))).scalars())


class Chat:
    """Alice's DM with the bot: say a line, get the bot's answer."""

    def __init__(self, sandbox: Sandbox, dm: Any) -> None:
        self.sandbox, self.dm = sandbox, dm

    async def say(self, text: str = "", files: list[tuple[str, bytes]] | None = None) -> Posted:
        sent = await self.sandbox.send(self.dm, text, files=files)
        return await self.sandbox.wait_for_message(self.dm, after=sent)


async def start(sandbox: Sandbox) -> Chat:
    dm = await sandbox.open_dm(sandbox.alice)
    first = await (await sandbox.slash("persona create", in_channel=dm)).message()
    assert title(first) == "Step 1 of 6: Basic info" and "`help`" in first.embeds[0]["description"]
    return Chat(sandbox, dm)


async def test_every_field_typed_with_a_refusal_back_skip_and_a_restart(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    database = tmp_path / "bot.db"
    async with bot_on(sandbox, database) as bot:
        chat = await start(sandbox)
        await chat.say("Nova")
        await chat.say("A shy, quiet bookworm who loves puzzles")
        answer = await chat.say(files=[("nova.png", PNG_MAGIC + b"picture")])
        assert fields(answer)["Avatar"].endswith("/nova.png")
        answer = await chat.say("skip")
        assert title(answer) == "Step 2 of 6: Personality"
        assert "'help' lists what this step reads" in answer.embeds[0]["footer"]["text"]
        # The description from step 1, read through the lexicon (no model server): traits with reasons.
        answer = await chat.say("describe")
        why = fields(answer)["Suggested, and why"]
        assert "Suggested from your description." in answer.embeds[0]["description"]
        assert "Extraversion **8** — 'shy'; 'quiet'; 'bookworm'" in why
        assert "Curiosity **86** — 'bookworm'; 'loves puzzles'" in why
        # A bad value: the validator's sentence, and the draft exactly as it was.
        [before] = await drafts(bot)
        answer = await chat.say("curiosity 150")
        assert answer.content == "Curiosity must be from 0 to 100; got 150." and not answer.embeds
        [after] = await drafts(bot)
        assert (after.step, after.data) == (before.step, before.data)
        answer = await chat.say("curiosity 60")
        assert "Curiosity **60** — 'bookworm'; 'loves puzzles'" in fields(answer)["Suggested, and why"]
        answer = await chat.say("help")
        assert answer.content.startswith("**Step 2 of 6: Personality**") and "describe:" in answer.content
        assert title(answer) == "Step 2 of 6: Personality"
        answer = await chat.say("next")
        answer = await chat.say("deep")
        answer = await chat.say("hot memory size: 30")
        answer = await chat.say("encrypt: yes")
        answer = await chat.say("back")
        assert title(answer) == "Step 2 of 6: Personality"
        answer = await chat.say("next")
        answer = await chat.say("next")
        assert title(answer) == "Step 4 of 6: Behaviour"
        answer = await chat.say("reply when: mentioned")
        answer = await chat.say("chattiness: 25")

    # A new process on the same database: the DM conversation goes on where it stopped.
    async with bot_on(sandbox, database) as bot:
        answer = await chat.say("show")
        assert title(answer) == "Step 4 of 6: Behaviour" and "mentioned" in fields(answer)["Replies when"]
        for line in ("verbosity: brief", "formality: formal", "emoji: none", "threads: yes", "cooldown: 30"):
            answer = await chat.say(line)
            assert answer.embeds, answer.content
        answer = await chat.say("next")
        assert title(answer) == "Step 5 of 6: Privacy & consent"
        await chat.say("mood visibility: public")
        await chat.say("shareable: yes")
        answer = await chat.say("next")
        assert title(answer) == "Step 6 of 6: Review"
        for line in (
            "scenario: A lighthouse\nat night",
            "greeting: Welcome, traveller.",
            "example dialogue: {{user}}: hi\n{{char}}: hello",
            "system prompt: Speak softly.",
            "post history instructions: Stay in character.",
            "personality summary: shy and bookish",
            "creator's notes: typed in a DM",
            "nickname: Nov",
            "alternate greetings: Hello there\n---\nAhoy",
        ):
            answer = await chat.say(line)
            assert title(answer) == "Step 6 of 6: Review", answer.content
        answer = await chat.say("create")
        assert title(answer) == "Nova is born"
        [row] = await personas(bot)
        assert await drafts(bot) == []
        async with bot.db.session() as session:
            assert row.id is not None
            persona = await persona_service.get(session, row.id)
    assert (persona.name, persona.description, persona.guild_id) == (
        "Nova",
        "A shy, quiet bookworm who loves puzzles",
        None,
    )
    assert persona.avatar_url is not None and persona.avatar_url.endswith("/nova.png")
    assert persona.traits["curiosity"] == 60 and persona.traits["extraversion"] == 8
    assert persona.memory_config["hot_memory_size"] == 30 and persona.memory_config["encrypt_sensitive"] is True
    behavior = persona.behavior
    assert (behavior["reply_when_mentioned"], behavior["reply_when_named"], behavior["chattiness"]) == (True, False, 25)
    assert (behavior["verbosity"], behavior["formality"], behavior["emoji_use"]) == ("brief", "formal", "none")
    assert behavior["reply_in_threads"] is True and behavior["cooldown_seconds"] == 30
    assert persona.privacy["visibility"]["mood"] == "public" and persona.privacy["shareable"] is True
    assert persona.character == {
        "scenario": "A lighthouse\nat night",
        "greeting": "Welcome, traveller.",
        "example_dialogue": "{{user}}: hi\n{{char}}: hello",
        "system_prompt": "Speak softly.",
        "post_history_instructions": "Stay in character.",
        "personality_text": "shy and bookish",
        "creator_notes": "typed in a DM",
        "nickname": "Nov",
        "alternate_greetings": ["Hello there", "Ahoy"],
    }


async def test_started_by_typing_the_questionnaire_typed_then_cancel(sandbox: Sandbox, running_bot: Any) -> None:
    chat = Chat(sandbox, await sandbox.open_dm(sandbox.alice))
    answer = await chat.say("New persona!")  # no wizard running: these words start one, in this DM
    assert title(answer) == "Step 1 of 6: Basic info"
    [draft] = await drafts(running_bot)
    assert (draft.guild_id, draft.channel_id) == (None, chat.dm.id)
    await chat.say("Quinn")
    await chat.say("next")
    answer = await chat.say("quiz")
    total = len(quiz.questions("mini-ipip"))
    assert f"question 1 of {total}" in answer.embeds[0]["description"]
    answer = await chat.say("5")
    assert f"question 2 of {total}" in answer.embeds[0]["description"]
    answer = await chat.say("back")
    assert f"question 1 of {total}" in answer.embeds[0]["description"]
    answer = await chat.say("6")
    assert answer.content == "Answers go from 1 (very inaccurate) to 5 (very accurate)." and not answer.embeds
    for _ in range(total):
        answer = await chat.say("3")
    assert "From your answers to the questionnaire." in answer.embeds[0]["description"]
    answer = await chat.say("cancel")
    assert title(answer) == "Wizard cancelled"
    assert await drafts(running_bot) == [] and await personas(running_bot) == []


async def test_suggestions_from_the_model_and_a_malformed_answer_falling_back(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    good = {"traits": [{"trait": "humor", "value": 88, "reason": "cracks jokes at sea"}]}
    async with FakeModelServer() as server, bot_on(sandbox, tmp_path / "bot.db", server) as bot:
        server.script(reply(json.dumps(good)), reply("Sure! Humour: very high."))
        chat = await start(sandbox)
        await chat.say("Pip")
        await chat.say("next")
        answer = await chat.say("describe: a witty pirate who cracks jokes at sea")
        assert "by the model" in answer.embeds[0]["description"]
        assert fields(answer)["Suggested, and why"] == "Humor **88** — 'cracks jokes at sea'"
        sent = server.requests[-1]
        assert sent["response_format"]["json_schema"]["strict"] is True
        assert sent["messages"][-1]["content"] == "a witty pirate who cracks jokes at sea"
        # Not JSON: the lexicon answers instead.
        answer = await chat.say("describe: a witty pirate")
        assert "Suggested from your description." in answer.embeds[0]["description"]
        assert fields(answer)["Suggested, and why"] == "Humor **73** — 'witty'"
        [draft] = await drafts(bot)
        assert draft.data["personality"]["source"] == "lexicon" and draft.data["traits"]["humor"] == 73


async def test_the_describe_form_in_a_server_suggests_traits_with_reasons(sandbox: Sandbox, running_bot: Any) -> None:
    started = await (await sandbox.slash("persona create")).message()
    opened = await sandbox.click(started, label="Edit basic info")
    step1 = await (await sandbox.submit_modal(opened, name="Ada", description="A shy bookworm")).message()
    step2 = await (await sandbox.click(step1, label="Next")).message()
    assert title(step2) == "Step 2 of 6: Personality" and step2.ephemeral
    opened = await sandbox.click(step2, label="Describe…")
    assert "A shy bookworm" in json.dumps(await opened.modal())  # the form's box holds the basics' description
    # The model may take a while, so the form is deferred (6) and the step's message edited when the traits are in.
    assert await (await sandbox.submit_modal(opened, description="A witty pirate, never rude")).response() == 6

    def current() -> Posted:
        return sandbox.posted(sandbox.server.state.messages[step2.id])

    await eventually(lambda: "Suggested, and why" in fields(current()), "the suggestions in the step's message")
    described = current()
    assert title(described) == "Step 2 of 6: Personality"
    assert fields(described)["Suggested, and why"].splitlines() == [
        "Agreeableness **73** — 'never rude'",
        "Humor **73** — 'witty'",
    ]
    # Nothing the lexicon knows: the sentence, and the traits stay as they were.
    opened = await sandbox.click(described, label="Describe…")
    [note] = await (await sandbox.submit_modal(opened, description="Bob from Leeds")).followups()
    assert note.ephemeral and note.content.startswith("I could not read any traits from that description.")
    [draft] = await drafts(running_bot)
    assert draft.data["traits"]["humor"] == 73


async def test_a_servers_wizard_goes_on_in_a_private_thread(sandbox: Sandbox, running_bot: Any) -> None:
    started = await (await sandbox.slash("persona create", template="calm-listener")).message()
    moved = await sandbox.click(started, label="Chat in a private thread")
    assert await moved.response() == 6
    await eventually(
        lambda: sandbox.posted(sandbox.server.state.messages[started.id]).embeds[0]["title"].startswith("Continued"),
        "the wizard's message pointing to the thread",
    )
    [thread] = [c for c in sandbox.server.state.channels.values() if c.type == 12]
    assert sandbox.alice.id in thread.thread_members and thread.parent_id == sandbox.general.id
    chat = Chat(sandbox, thread)
    answer = await chat.say("Thea")
    assert fields(answer)["Name"] == "Thea"
    answer = await chat.say("chattiness: 500")
    assert answer.content == "Chattiness must be from 0 to 100; got 500."
    answer = await chat.say("step 6")
    answer = await chat.say("create")
    assert title(answer) == "Thea is born"
    [persona] = await personas(running_bot)
    assert persona.guild_id == sandbox.guild.id and persona.owner_id == sandbox.alice.id
    assert await drafts(running_bot) == []
