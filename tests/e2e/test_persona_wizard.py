"""The creation wizard end to end: the real bot against the sandbox, with a real SQLite database.

Paths: by template, by the Mini-IPIP questionnaire (every one of the 20 clicks, and back to change an answer), by
random with a leaning, as a plain chat in DMs; a restart mid-wizard; another user's click; an invalid name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.core import memory as memory_rules
from bot.core import personality, quiz
from bot.db import models
from bot.sandbox import Sandbox
from bot.sandbox.harness import InteractionHandle, Posted
from tests.support.bots import bot_on

pytestmark = pytest.mark.e2e

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------------------------------- helpers


async def answer(handle: InteractionHandle) -> Posted:
    """The message the interaction produced or edited, as it is now."""
    return await handle.message()


async def click(sandbox: Sandbox, message: Posted, label: str, **kwargs: Any) -> Posted:
    return await answer(await sandbox.click(message, label=label, **kwargs))


async def choose(sandbox: Sandbox, message: Posted, action: str, values: list[str]) -> Posted:
    custom_id = next(s["custom_id"] for s in message.selects() if s["custom_id"].endswith(f":{action}"))
    return await answer(await sandbox.select(message, values, custom_id=custom_id))


async def fill_basics(sandbox: Sandbox, message: Posted, **fields: str) -> Posted:
    opened = await sandbox.click(message, label="Edit basic info")
    return await answer(await sandbox.submit_modal(opened, **fields))


def title(message: Posted) -> str:
    return message.embeds[0]["title"]


def refusal_for(sandbox: Sandbox, user: Any) -> str:
    return sandbox.ephemeral_for(user)[-1].content


async def persona_rows(bot: Any) -> list[models.Persona]:
    async with bot.db.session() as session:
        return list((await session.execute(select(models.Persona).order_by(models.Persona.id))).scalars())


async def draft_rows(bot: Any) -> list[models.WizardDraft]:
    async with bot.db.session() as session:
        return list((await session.execute(select(models.WizardDraft))).scalars())


async def to_review_and_create(sandbox: Sandbox, message: Posted) -> Posted:
    """Next through steps 2..5 to the review, then Create."""
    while title(message).split(":")[0] != "Step 6 of 6":
        message = await click(sandbox, message, "Next")
    done = await click(sandbox, message, "Create persona")
    assert done.embeds[0]["title"].endswith("is born") and not done.components
    return done


# --------------------------------------------------------------------------------------------------- paths


async def test_template_path_every_step_creates_the_persona(sandbox: Sandbox, running_bot) -> None:
    # The name /persona templates shows is what people type (the id works too, below).
    start = await answer(await sandbox.slash("persona create", template="Friendly Assistant"))
    assert start.ephemeral and title(start) == "Step 1 of 6: Basic info"
    assert [b["label"] for b in start.buttons()][-3:] == ["Back", "Next", "Cancel"]

    step1 = await fill_basics(
        sandbox, start, name="Ada", description="Helps with homework", avatar_url="https://example.org/ada.png"
    )
    assert {f["name"]: f["value"] for f in step1.embeds[0]["fields"]}["Name"] == "Ada"
    step2 = await click(sandbox, step1, "Next")
    assert title(step2) == "Step 2 of 6: Personality"
    assert "Friendly Assistant" in step2.embeds[0]["description"]
    await chart_of(sandbox, step2)  # the step answers at once; a new chart follows in an edit
    assert step2.attachments[0].filename == "traits.png" and step2.attachments[0].data.startswith(PNG_MAGIC)
    assert "moderately relaxed" in step2.embeds[0]["description"]  # the derived mood in words

    step3 = await click(sandbox, step2, "Next")
    assert title(step3) == "Step 3 of 6: Memory" and not step3.attachments
    step3 = await choose(sandbox, step3, "memory-preset", ["deep"])
    step4 = await click(sandbox, step3, "Next")
    assert title(step4) == "Step 4 of 6: Behaviour"
    step4 = await choose(sandbox, step4, "verbosity", ["detailed"])
    step4 = await choose(sandbox, step4, "reply-when", ["mentioned", "replied"])
    step4 = await click(sandbox, step4, "Threads: no")
    step5 = await click(sandbox, step4, "Next")
    assert title(step5) == "Step 5 of 6: Privacy & consent"
    step5 = await choose(sandbox, step5, "privacy-field", ["traits"])
    step5 = await click(sandbox, step5, "Traits: owner")
    step5 = await click(sandbox, step5, "Encrypt sensitive: yes")  # the presets encrypt; switched off
    review = await click(sandbox, step5, "Next")
    await chart_of(sandbox, review)
    assert title(review) == "Step 6 of 6: Review" and review.attachments[0].data.startswith(PNG_MAGIC)
    assert {f["name"] for f in review.embeds[0]["fields"]} >= {"Name", "Behaviour", "Privacy"}

    # Back to any step from the review, and forward again.
    back_to_1 = await click(sandbox, review, "1. Basic info")
    assert title(back_to_1) == "Step 1 of 6: Basic info"
    await to_review_and_create(sandbox, back_to_1)

    [persona] = await persona_rows(running_bot)
    template = personality.get_template("friendly-assistant")
    assert persona.name == "Ada" and persona.description == "Helps with homework"
    assert persona.avatar_url == "https://example.org/ada.png" and persona.guild_id == sandbox.guild.id
    assert persona.owner_id == sandbox.alice.id and persona.openness == template.traits["openness"]
    assert persona.behavior_settings["verbosity"] == "detailed"
    assert persona.behavior_settings["reply_when_named"] is False and persona.behavior_settings["reply_in_threads"]
    assert persona.privacy_settings["visibility"]["traits"] == "owner"
    async with running_bot.db.session() as session:
        config = await session.get(models.MemoryConfig, persona.id)
    assert config is not None and config.hot_memory_size == memory_rules.preset("deep").hot_memory_size
    assert config.encrypt_sensitive is False
    assert await draft_rows(running_bot) == []


async def test_mini_ipip_path_twenty_clicks_with_back(sandbox: Sandbox, running_bot) -> None:
    message = await answer(await sandbox.slash("persona create"))
    message = await fill_basics(sandbox, message, name="Quinn")
    message = await click(sandbox, message, "Next")
    refused = await sandbox.click(message, label="Next")  # no personality chosen yet: it says why and stays
    await refused.response()
    assert "Choose a personality first" in refusal_for(sandbox, sandbox.alice)
    message = await click(sandbox, message, "Mini-IPIP (20 questions)")

    labels = quiz.answer_labels()
    items = quiz.questions("mini-ipip")
    answers = [(i * 3) % 5 + 1 for i in range(20)]
    for number, value in enumerate(answers, start=1):
        text = message.embeds[0]["description"]
        assert f"question {number} of 20" in text and items[number - 1].text in text
        if number == 7:
            # Answer 7 wrongly, go back to it (the earlier answer is shown), and change it.
            message = await click(sandbox, message, labels[(value % 5)])
            assert "question 8 of 20" in message.embeds[0]["description"]
            message = await click(sandbox, message, "Previous question")
            assert "question 7 of 20" in message.embeds[0]["description"]
            chosen = [b["label"] for b in message.buttons() if b["style"] == 3]
            assert chosen == [labels[value % 5]]
        message = await click(sandbox, message, labels[value - 1])

    await chart_of(sandbox, message)
    assert message.attachments and "From your answers" in message.embeds[0]["description"]
    await to_review_and_create(sandbox, message)
    [persona] = await persona_rows(running_bot)
    expected = personality.derive_traits(quiz.score("mini-ipip", answers))
    assert {t: getattr(persona, t) for t in expected} == pytest.approx(expected)


async def test_random_path_with_a_leaning(sandbox: Sandbox, running_bot) -> None:
    message = await answer(await sandbox.slash("persona create"))
    message = await fill_basics(sandbox, message, name="Rolo")
    message = await click(sandbox, message, "Next")
    message = await choose(sandbox, message, "leanings", ["calmer"])
    message = await click(sandbox, message, "Random")
    await chart_of(sandbox, message)
    assert "Random, leaning calmer" in message.embeds[0]["description"] and message.attachments
    await to_review_and_create(sandbox, message)
    [persona] = await persona_rows(running_bot)
    assert persona.neuroticism <= 35  # the leaning narrows neuroticism to 0..35


async def test_dm_wizard_as_a_plain_chat(sandbox: Sandbox, running_bot) -> None:
    dm = await sandbox.open_dm(sandbox.alice)
    first = await answer(await sandbox.slash("persona create", in_channel=dm))
    assert not first.ephemeral and "just type here" in first.embeds[0]["description"]

    async def say(text: str = "", files: list[tuple[str, bytes]] | None = None) -> Posted:
        sent = await sandbox.send(dm, text, files=files)
        return await sandbox.wait_for_message(dm, after=sent)

    reply = await say("Nova")
    assert {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}["Name"] == "Nova"
    reply = await say("A starry guide")
    reply = await say(files=[("nova.png", PNG_MAGIC + b"picture")])
    fields = {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}
    assert fields["Description"] == "A starry guide" and fields["Avatar"].endswith("/nova.png")
    reply = await say("next")
    assert title(reply) == "Step 2 of 6: Personality"
    reply = await say("no idea")
    assert "type a template's name or 'random'" in reply.content  # explained, nothing changed
    reply = await say("stoic mentor")
    assert "Stoic Mentor" in reply.embeds[0]["description"]
    for _ in range(4):
        reply = await say("next")
    assert title(reply) == "Step 6 of 6: Review"
    reply = await say("create")
    assert reply.embeds[0]["title"] == "Nova is born"
    [persona] = await persona_rows(running_bot)
    assert persona.guild_id is None and persona.description == "A starry guide"
    assert persona.extraversion == personality.get_template("stoic-mentor").traits["extraversion"]


# --------------------------------------------------------------------------------------------------- resilience


async def test_restart_mid_wizard_loses_nothing(sandbox: Sandbox, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # no developer .env
    database_file = tmp_path / "bot.db"
    async with bot_on(sandbox, database_file):
        message = await answer(await sandbox.slash("persona create", template="calm-listener"))
        message = await fill_basics(sandbox, message, name="Sage")
        message = await click(sandbox, message, "Next")
        message = await click(sandbox, message, "Next")
        assert title(message) == "Step 3 of 6: Memory"

    async with bot_on(sandbox, database_file) as second:
        # The old message's buttons work in the new process: all state is in the draft.
        message = await click(sandbox, message, "Next")
        assert title(message) == "Step 4 of 6: Behaviour"
        # /persona create offers to resume.
        prompt = await answer(await sandbox.slash("persona create"))
        assert prompt.embeds[0]["title"] == "Resume your persona?" and "Sage" in prompt.embeds[0]["description"]
        resumed = await click(sandbox, prompt, "Resume")
        assert title(resumed) == "Step 4 of 6: Behaviour"
        await to_review_and_create(sandbox, resumed)
        [persona] = await persona_rows(second)
        assert persona.name == "Sage"


async def test_another_users_click_is_refused_and_changes_nothing(sandbox: Sandbox, running_bot) -> None:
    message = await answer(await sandbox.slash("persona create", template="calm-listener"))
    message = await fill_basics(sandbox, message, name="Mine")
    next_id = next(b["custom_id"] for b in message.buttons() if b["label"] == "Next")
    # Bob cannot see Alice's ephemeral message; a forged click carrying its custom_id is still refused.
    forged = sandbox.server.create_interaction(
        3, sandbox.bob, sandbox.general, {"custom_id": next_id, "component_type": 2}, message=message.message
    )
    refusal = await InteractionHandle(sandbox, forged, sandbox.bob, sandbox.general, source=message.message).message()
    assert refusal.ephemeral and refusal.content == "This wizard belongs to someone else."
    [draft] = await draft_rows(running_bot)
    assert draft.step == 1 and draft.user_id == sandbox.alice.id
    assert title(sandbox.posted(sandbox.state.messages[message.id])) == "Step 1 of 6: Basic info"


async def test_an_invalid_name_is_rejected_and_nothing_is_saved(sandbox: Sandbox, running_bot) -> None:
    message = await answer(await sandbox.slash("persona create"))
    opened = await sandbox.click(message, label="Edit basic info")
    submitted = await sandbox.submit_modal(opened, name="Discord Helper", description="x")
    await submitted.response()
    assert submitted.ephemeral and "cannot contain 'discord'" in refusal_for(sandbox, sandbox.alice)
    [draft] = await draft_rows(running_bot)
    assert draft.data["name"] == "" and draft.data["description"] == "" and draft.step == 1
    refused = await sandbox.click(message, label="Next")
    await refused.response()
    assert refusal_for(sandbox, sandbox.alice) == "A persona needs a name (it cannot be blank)."
    assert (await draft_rows(running_bot))[0].step == 1
    async with running_bot.db.session() as session:
        assert (await session.execute(select(func.count()).select_from(models.Persona))).scalar_one() == 0


async def chart_of(sandbox: Sandbox, posted: Posted) -> None:
    """Wait for the radar chart a step attaches once it is drawn (the step itself answers at once)."""
    await sandbox.wait_until(lambda: posted.attachments, 10, "the radar chart")
