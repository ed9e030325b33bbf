"""/memory end to end: the real bot against the sandbox, on SQLite. Health (numbers from memories captured here),
optimize (near-duplicates merged), search (the ranked order, worked by hand), pin / unpin / forget (owner only,
with autocomplete and a confirmation), config (presets, forms, a validation error that changes nothing)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.clock import utcnow
from bot.core import memory as rules
from bot.db import models
from bot.sandbox import Sandbox
from bot.services import memories, personas
from bot.services.personas import Actor, PersonaInput
from tests.support.reading import fields_of

pytestmark = pytest.mark.e2e


async def make_persona(bot: Any, sandbox: Sandbox, name: str = "Ada", *, owner: Any = None, **memory: Any) -> int:
    actor = Actor(user_id=(owner or sandbox.alice).id, guild_id=sandbox.guild.id)
    async with bot.db.transaction() as session:
        record = await personas.create(session, actor, PersonaInput(name=name, memory=memory or None), now=utcnow())
    return record.id


async def capture(
    bot: Any, persona_id: int, content: str, *, importance: int = 5, now: Any = None, **columns: Any
) -> int:
    async with bot.db.transaction() as session:
        record = await memories.capture(
            session,
            persona_id,
            content=content,
            category="conversation",
            importance=importance,
            source_user_id=4242,
            source_channel_id=1,
            source_message_id=2,
            now=now or utcnow(),
        )
        if columns:
            await session.execute(update(models.Memory).where(models.Memory.id == record.id).values(**columns))
    return record.id


async def memory_rows(bot: Any, persona_id: int) -> list[models.Memory]:
    async with bot.db.session() as session:
        query = select(models.Memory).where(models.Memory.persona_id == persona_id).order_by(models.Memory.id)
        return list((await session.execute(query)).scalars())


async def config_row(bot: Any, persona_id: int) -> dict[str, Any]:
    async with bot.db.session() as session:
        row = await session.get(models.MemoryConfig, persona_id)
        assert row is not None
        return {name: getattr(row, name) for name in rules.CONFIG_FIELDS}


async def test_health_reports_the_stored_memories_with_a_tier_chart(sandbox: Sandbox, running_bot) -> None:
    ada = await make_persona(running_bot, sandbox, hot_memory_size=2, warm_memory_size=4, max_entities=100)
    # 3 hot (over the 2 allowed), 2 warm, 1 cold, one of them pinned; 10 bytes each.
    layout = ["hot", "hot", "hot", "warm", "warm", "cold"]
    for index, tier in enumerate(layout):
        await capture(running_bot, ada, f"memory #{index:02d}", tier=tier, pinned=index == 3)

    reply = await (await sandbox.slash("memory health", persona="Ada")).message()
    fields = fields_of(reply)
    assert reply.ephemeral
    assert fields["Hot (used first)"] == "3 of 2 (150%)"
    assert fields["Warm (searchable)"] == "2 of 4 (50%)"
    assert fields["Cold (archived)"] == "1 (kept 90 days)"
    assert fields["All memories"] == "6 of 100 (6%) · 0.00 of 50 MB · 1 pinned"
    assert fields["Last optimised"] == "never"
    assert "Hot memory is 150% full: run /memory optimize or raise the hot size." in fields["Recommendations"]
    async with running_bot.db.session() as session:
        expected = await memories.health(session, ada, utcnow())
    assert reply.embeds[0]["description"] == f"Overall score **{expected.score:.0f}/100** for 6 memories."
    assert fields["Fragmentation"] == f"{round(expected.fragmentation * 100)}% in the wrong tier"
    [chart] = reply.attachments
    assert chart.data.startswith(b"\x89PNG") and reply.embeds[0]["image"]["url"].endswith("memory-tiers.png")

    refused = await (await sandbox.slash("memory health", persona=str(ada), as_user=sandbox.bob)).message()
    assert refused.ephemeral and refused.content == "Only the persona's owner can see its memory health."
    assert await sandbox.autocomplete("memory health", "persona", "", as_user=sandbox.bob) == []
    assert await sandbox.autocomplete("memory health", "persona", "a") == [{"name": "Ada", "value": str(ada)}]


async def test_optimize_merges_near_duplicates_and_shows_before_and_after(sandbox: Sandbox, running_bot) -> None:
    ada = await make_persona(running_bot, sandbox)
    keep = await capture(running_bot, ada, "Alice has a grey cat named Tom", strength=0.9, access_count=2)
    await capture(running_bot, ada, "alice has a grey cat named tom!", strength=0.6, access_count=3)
    violin = await capture(running_bot, ada, "Bob plays the violin on Sundays")

    handle = await sandbox.slash("memory optimize", persona="Ada")
    assert await handle.response() == 5  # deferred first: optimisation may take a while
    reply = await handle.message()
    fields = fields_of(reply)
    assert reply.ephemeral and fields["Near-duplicates merged"] == "1"
    assert "memories 3 → 2" in reply.embeds[0]["description"]
    assert reply.attachments[0].data.startswith(b"\x89PNG")
    rows = await memory_rows(running_bot, ada)
    assert [row.id for row in rows] == [keep, violin]  # the weaker duplicate went into the stronger
    assert rows[0].access_count == 5

    refused = await (await sandbox.slash("memory optimize", persona=str(ada), as_user=sandbox.bob)).message()
    assert "Only the persona's owner can optimise its memory." in refused.content
    assert len(await memory_rows(running_bot, ada)) == 2


async def test_search_shows_memories_in_the_prompts_order_with_their_scores(sandbox: Sandbox, running_bot) -> None:
    ada = await make_persona(running_bot, sandbox)
    at = utcnow() - timedelta(hours=1)  # one access time for all: recency 0.995^1 = 0.995 each
    # docs/retrieval.md, weights (1, 1, 1): beta = 1/3; adjustment = (recency + importance/10 + 0.5 strength) / 2.5.
    # The two teas match "tea" equally; the full-text list breaks the tie by id: two is #1 (relevance 1), nine #2
    # (61/62). two: adjustment 0.678, score 1 + 1 (1 + 0.678/3) / (4/3) = 1.92; nine: 0.958, 1 + 0.98387 (1.31933)
    # 0.75 = 1.97. Coffee (importance 10) shares no word: its adjustment 0.998 alone, below every match.
    # Each said in its own conversation (days apart): none lends another relevance (bot.core.memory.context).
    two = await capture(running_bot, ada, "green tea two", importance=2, now=at, created_at=at - timedelta(days=3))
    nine = await capture(running_bot, ada, "green tea nine", importance=9, now=at, created_at=at - timedelta(days=2))
    coffee = await capture(
        running_bot, ada, "black coffee now", importance=10, now=at, created_at=at - timedelta(days=1)
    )

    reply = await (await sandbox.slash("memory search", persona="Ada", query="tea", order="prompt")).message()
    names = [field["name"] for field in reply.embeds[0]["fields"]]
    assert names == [f"1. #{nine} · score 1.97", f"2. #{two} · score 1.92", f"3. #{coffee} · score 1.00"]
    first = reply.embeds[0]["fields"][0]["value"]
    assert first.startswith("green tea nine") and "relevance 0.98 (found by words #2; fused 0.0161)" in first
    assert "recency 0.99 (used 1 h ago) · importance 0.90 (9/10) · strength 1.00" in first
    assert "relevance 0 (no content word in common" in reply.embeds[0]["fields"][2]["value"]
    assert reply.embeds[0]["footer"]["text"] == "Page 1 · results 1–3 · query: tea"
    assert not reply.buttons()  # everything fits on one page
    # Searching marks nothing accessed.
    assert all(row.access_count == 0 for row in await memory_rows(running_bot, ada))

    refused = await (await sandbox.slash("memory search", persona=str(ada), query="tea", as_user=sandbox.bob)).message()
    assert refused.content == "Only the persona's owner can search its memories."


async def test_search_finds_the_memories_holding_the_words_and_says_why(sandbox: Sandbox, running_bot) -> None:
    ada = await make_persona(running_bot, sandbox)
    # The birthday is the most important and the most recent: a prompt would take it first for any words.
    cat = await capture(
        running_bot, ada, "Alice has a grey cat named Tom", importance=3, now=utcnow() - timedelta(days=3)
    )
    birthday = await capture(running_bot, ada, "Alice's birthday is on the 4th of May", importance=9)
    kite = await capture(
        running_bot, ada, "Bob flies a red kite with his cat", importance=5, now=utcnow() - timedelta(days=2)
    )

    reply = await (await sandbox.slash("memory search", persona="Ada", query="cat Tom")).message()
    fields = reply.embeds[0]["fields"]
    assert [field["name"].split(" · ")[0] for field in fields] == [f"1. #{cat}", f"2. #{kite}"]  # no birthday
    assert fields[0]["value"].startswith("Alice has a grey cat named Tom")
    assert "matched: cat, tom\n" in fields[0]["value"] and "matched: cat\n" in fields[1]["value"]
    assert "found by words #1" in fields[0]["value"]  # its place in the full-text list, explained
    assert "Only memories that match your words" in reply.embeds[0]["description"]

    nothing = await (await sandbox.slash("memory search", persona="Ada", query="submarine")).message()
    assert not nothing.embeds[0].get("fields")
    assert nothing.embeds[0]["description"].endswith("No memory holds any of these words.")

    # As a prompt ranks them: every candidate, the matches first (relevance first), the birthday last, said to
    # share no content word: importance and recency never lift it over a match.
    prompt = await (await sandbox.slash("memory search", persona="Ada", query="cat", order="prompt")).message()
    fields = prompt.embeds[0]["fields"]
    assert fields[2]["name"].startswith(f"3. #{birthday} · score") and len(fields) == 3
    assert "relevance 0 (no content word in common" in fields[2]["value"]


async def test_pin_unpin_and_forget_are_the_owners_alone(sandbox: Sandbox, running_bot) -> None:
    ada = await make_persona(running_bot, sandbox)
    cat = await capture(running_bot, ada, "Alice has a grey cat named Tom " + "and she loves him " * 10)
    await capture(running_bot, ada, "Bob plays the violin")

    choices = await sandbox.autocomplete("memory pin", "memory", "grey cat", persona=str(ada))
    assert choices[0]["value"] == str(cat) and choices[0]["name"].startswith(f"#{cat} Alice has a grey cat")
    assert len(choices[0]["name"]) <= 100
    assert await sandbox.autocomplete("memory pin", "memory", "grey", persona=str(ada), as_user=sandbox.bob) == []

    for command in ("memory pin", "memory forget"):
        refused = await (await sandbox.slash(command, persona=str(ada), memory=str(cat), as_user=sandbox.bob)).message()
        assert refused.ephemeral and refused.content.startswith("Only the persona's owner can")
    [row, _] = await memory_rows(running_bot, ada)
    assert not row.pinned

    pinned = await (await sandbox.slash("memory pin", persona="Ada", memory=str(cat))).message()
    assert pinned.content.startswith(f"Pinned #{cat}")
    assert (await memory_rows(running_bot, ada))[0].pinned
    choices = await sandbox.autocomplete("memory unpin", "memory", "", persona=str(ada))
    assert choices[0]["name"].startswith(f"#{cat} 📌")
    refused = await (
        await sandbox.slash("memory unpin", persona=str(ada), memory=str(cat), as_user=sandbox.bob)
    ).message()
    assert refused.content == "Only the persona's owner can unpin its memories."
    assert (await memory_rows(running_bot, ada))[0].pinned
    await (await sandbox.slash("memory unpin", persona="Ada", memory=str(cat))).message()
    assert not (await memory_rows(running_bot, ada))[0].pinned

    confirm = await (await sandbox.slash("memory forget", persona="Ada", memory=f"#{cat}")).message()
    assert confirm.ephemeral and "Alice has a grey cat named Tom" in confirm.embeds[0]["description"]
    assert len(await memory_rows(running_bot, ada)) == 2  # asking changed nothing
    kept = await (await sandbox.click(confirm, label="Keep it")).message()
    assert kept.embeds[0]["title"] == "Kept" and len(await memory_rows(running_bot, ada)) == 2

    confirm = await (await sandbox.slash("memory forget", persona="Ada", memory=str(cat))).message()
    done = await (await sandbox.click(confirm, label="Forget it")).message()
    assert done.embeds[0]["title"] == "Forgotten" and "Alice has a grey cat" in done.embeds[0]["description"]
    assert [row.content for row in await memory_rows(running_bot, ada)] == ["Bob plays the violin"]


async def test_config_applies_presets_and_forms_and_refuses_invalid_settings(sandbox: Sandbox, running_bot) -> None:
    ada = await make_persona(running_bot, sandbox)
    message = await (await sandbox.slash("memory config", persona="Ada")).message()
    assert message.ephemeral and "Hot memories (used first): **50**" in fields_of(message)["Capacity and tiers"]

    # Invalid: hot larger than warm. The error is ephemeral and nothing is saved.
    before = await config_row(running_bot, ada)
    opened = await sandbox.click(message, label="Capacity & tiers")
    form = await opened.modal()
    assert form["title"] == "Capacity and tiers"
    refused = await (await sandbox.submit_modal(opened, hot_memory_size="500")).message()
    assert refused.ephemeral
    assert (
        refused.content
        == "The number of hot memories cannot be larger than the number of warm memories. Nothing was changed."
    )
    opened = await sandbox.click(message, label="Decay")
    refused = await (await sandbox.submit_modal(opened, decay_rate="fast")).message()
    assert refused.content == "The decay rate must be a number. Nothing was changed."
    assert "_" not in refused.content  # people read the setting's name, not the stored key
    assert await config_row(running_bot, ada) == before

    opened = await sandbox.click(message, label="Capacity & tiers")
    saved = await (await sandbox.submit_modal(opened, hot_memory_size="40", warm_memory_size="400")).message()
    assert "Hot memories (used first): **40**" in fields_of(saved)["Capacity and tiers"]
    after = await config_row(running_bot, ada)
    assert (after["hot_memory_size"], after["warm_memory_size"]) == (40, 400)
    opened = await sandbox.click(message, label="Weights & exemptions")
    await (await sandbox.submit_modal(opened, exempt_categories="Family, birthdays", weight_relevance="2")).message()
    after = await config_row(running_bot, ada)
    assert after["exempt_categories"] == ["family", "birthdays"] and after["weight_relevance"] == 2.0

    custom = next(s["custom_id"] for s in message.selects())
    chosen = await (await sandbox.select(message, ["deep"], custom_id=custom)).message()
    assert "Preset **deep** applied." in chosen.embeds[0]["description"]
    assert await config_row(running_bot, ada) == rules.config_to_dict(rules.preset("deep"))

    refused = await (await sandbox.slash("memory config", persona=str(ada), as_user=sandbox.bob)).message()
    assert refused.content == "Only the persona's owner can see its memory settings."
