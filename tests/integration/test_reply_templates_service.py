"""Reply templates through the services, on SQLite and PostgreSQL (issue 15, item 7): refused at save with nothing
stored, compiled once, and a broken behaviour (stored before the budget, or failing when rendered) skipped without
silencing its persona or another persona in the channel."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.core import behaviors as rules
from bot.core.errors import DomainError
from bot.db import models
from bot.db.engine import Database
from bot.services import behaviors, bindings, conversation, personas
from bot.services.conversation import Cast, Incoming
from bot.services.personas import Actor, PersonaInput
from bot.templating import behavior_templates
from bot.templating.behavior_templates import compilations

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GUILD, CHANNEL = 100, 200
ALICE, BOB = 11, 12

FILTER_CHAIN = "{{ persona" + "|upper" * 160 + " }}"
NESTED_NOTS = "{{ " + "not " * 240 + "persona }}"
DEEP_PARENS = "{{ " + "(" * 400 + "persona" + ")" * 400 + " }}"


async def make(database: Database, name: str, owner: int) -> int:
    actor = Actor(owner, GUILD)
    async with database.transaction() as session:
        record = await personas.create(
            session, actor, PersonaInput(name=name, behavior={"cooldown_seconds": 0, "chattiness": 0}), now=NOW
        )
        await bindings.activate(session, actor, record.id, CHANNEL, channel_guild_id=GUILD, now=NOW)
    return record.id


async def add_reply(database: Database, persona_id: int, owner: int, name: str, template: str) -> None:
    async with database.transaction() as session:
        await behaviors.add(
            session, Actor(owner, GUILD), persona_id, name=name, trigger_kind="keywords",
            trigger_config={"words": ["hello"]}, action_kind="reply", action_config={"template": template}, now=NOW,
        )  # fmt: skip


async def store_unchecked(database: Database, persona_id: int, name: str, template: str) -> int:
    """A behaviour row as one saved before the budget existed would be: written as is, not validated."""
    async with database.transaction() as session:
        row = models.CustomBehavior(
            persona_id=persona_id, name=name, trigger_kind="keywords", trigger_config={"words": ["hello"]},
            action_kind="reply", action_config={"template": template}, enabled=True, created_at=NOW,
        )  # fmt: skip
        session.add(row)
        await session.flush()
        assert row.id is not None
        return row.id


def hello(message_id: int = 900) -> Incoming:
    return Incoming(
        message_id=message_id,
        guild_id=GUILD,
        channel_id=CHANNEL,
        author_id=ALICE,
        author_name="Alice",
        content="Hello Ada and Grace!",
        created_at=NOW,
    )


async def plan_hello(database: Database, *, cast: Cast | None = None, message_id: int = 900) -> conversation.Plan:
    async with database.session() as session:
        speakers = await conversation.active_personas(session, CHANNEL)
        return await conversation.plan(
            session, hello(message_id), speakers, history=[], exchange_depth=0, random_value=0.0, now=NOW, cast=cast
        )


@pytest.mark.parametrize("template", [FILTER_CHAIN, NESTED_NOTS, DEEP_PARENS], ids=["filters", "nots", "parens"])
async def test_a_template_over_the_budget_is_refused_at_save_and_nothing_is_stored(
    database: Database, template: str
) -> None:
    ada = await make(database, "Ada", ALICE)
    with pytest.raises(DomainError, match="nested too deeply"):
        await add_reply(database, ada, ALICE, "Loud", template)
    async with database.session() as session:
        stored = (await session.execute(select(func.count()).select_from(models.CustomBehavior))).scalar_one()
    assert stored == 0


async def test_a_stored_template_over_the_budget_is_skipped_when_read_with_a_warning_naming_it(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    ada = await make(database, "Ada", ALICE)
    broken = await store_unchecked(database, ada, "Old and broken", NESTED_NOTS)
    await add_reply(database, ada, ALICE, "Fine", "Hello {{ author }}!")
    with caplog.at_level(logging.INFO):
        async with database.session() as session:
            found = await behaviors.enabled_for(session, [ada])
            listed = await behaviors.list_for(session, Actor(ALICE, GUILD), ada)
    assert [rule.name for rule in found[ada]] == ["Fine"]
    assert [(view.name, view.action_words) for view in listed] == [
        ("Old and broken", "(no longer valid)"),
        ("Fine", "answers with its reply template instead of asking the model"),
    ]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"custom behaviour {broken} of persona {ada} is skipped" in text for text in warnings), warnings
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_broken_stored_behaviour_silences_neither_its_persona_nor_the_others_in_the_channel(
    database: Database,
) -> None:
    ada = await make(database, "Ada", ALICE)
    grace = await make(database, "Grace", BOB)
    await store_unchecked(database, ada, "Old and broken", NESTED_NOTS)
    await add_reply(database, grace, BOB, "Greeting", "Hi {{ author }}, {{ persona }} here.")
    plan = await plan_hello(database)
    answers = {job.speaker.persona_id: job.template_reply for job in plan.jobs}
    assert answers == {ada: None, grace: "Hi Alice, Grace here."}  # Ada asks the model; Grace's template answers


async def test_a_behaviour_failing_when_rendered_is_skipped_and_every_persona_still_answers(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    ada = await make(database, "Ada", ALICE)
    grace = await make(database, "Grace", BOB)
    hello_trigger = rules.KeywordsTrigger(("hello",))
    async with database.session() as session:
        speakers = await conversation.active_personas(session, CHANNEL)
    # A cast as the cog keeps it, holding rules that were never checked: their failure shows only when rendered.
    cast = Cast(
        speakers=tuple(speakers),
        behaviors={
            ada: (
                rules.Behavior("Broken", hello_trigger, rules.ReplyAction(NESTED_NOTS), id=71),
                rules.Behavior("Wave", hello_trigger, rules.ReactionAction("👋"), id=72),
            ),
            grace: (rules.Behavior("Deep", hello_trigger, rules.ReplyAction(DEEP_PARENS), id=73),),
        },
    )
    with caplog.at_level(logging.INFO):
        plan = await plan_hello(database, cast=cast)
    assert sorted(job.speaker.persona_id for job in plan.jobs) == sorted([ada, grace])
    assert all(job.template_reply is None for job in plan.jobs)  # both ask the model instead
    effects = {effect.persona_id: effect for effect in plan.effects}
    assert effects[ada].reactions == ("👋",)  # Ada's other behaviour still acts
    assert [p.split(":")[0] for p in effects[ada].problems] == ["Broken"]
    warned = [
        r.args[0] for r in caplog.records if r.levelno == logging.WARNING and r.name == behavior_templates.__name__
    ]  # type: ignore[index]
    assert sorted(warned) == [71, 73]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_template_is_compiled_when_saved_and_never_again_per_message(database: Database) -> None:
    ada = await make(database, "Ada", ALICE)
    await make(database, "Grace", BOB)
    source = f"Hello {{{{ author }}}}, {{{{ persona }}}} is here ({uuid.uuid4().hex[:8]})."  # new to this process
    before = compilations()
    await add_reply(database, ada, ALICE, "Greeting", source)
    assert compilations() == before + 1
    for message_id in range(900, 910):
        async with database.session() as session:
            cast = await conversation.cast(session, CHANNEL)  # read again, as after a change notice
        plan = await plan_hello(database, cast=cast, message_id=message_id)
        assert [job.template_reply for job in plan.jobs if job.speaker.persona_id == ada] == [
            source.replace("{{ author }}", "Alice").replace("{{ persona }}", "Ada")
        ]
    assert compilations() == before + 1
