"""Memory services and the privacy rights on SQLite and PostgreSQL: capture (and encryption at rest), full-text
retrieval ranked by the Generative Agents formula, search, pins, forgetting, settings, health, optimisation,
forget-me and export-my-data. Expected numbers are worked by hand in the comments."""

from __future__ import annotations

import itertools
import json
import math
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text, update

from bot.clock import utcnow
from bot.core import memory as rules
from bot.core.errors import DomainError, NotFound, PermissionDenied
from bot.db import models
from bot.db.engine import Database
from bot.services import crypto, memories, personas, privacy
from bot.services.memories import candidates
from bot.services.memories.records import memory_item
from bot.services.personas import Actor, PersonaInput

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OWNER = Actor(user_id=1001, guild_id=555)
STRANGER = Actor(user_id=2002, guild_id=555)
KEY = crypto.generate_key()


async def _persona(database: Database, name: str = "Ada", *, actor: Actor = OWNER, **memory: Any) -> int:
    async with database.transaction() as session:
        record = await personas.create(session, actor, PersonaInput(name=name, memory=memory or None), now=NOW)
    return record.id


async def _capture(
    database: Database,
    persona_id: int,
    content: str,
    *,
    importance: int = 5,
    category: str = "conversation",
    source_user_id: int | None = 7,
    subject_user_id: int | None = None,
    sensitive: bool = False,
    key: str | None = None,
    **columns: Any,
) -> int:
    async with database.transaction() as session:
        record = await memories.capture(
            session,
            persona_id,
            content=content,
            category=category,
            importance=importance,
            source_user_id=source_user_id,
            source_channel_id=10,
            source_message_id=20,
            subject_user_id=subject_user_id,
            sensitive=sensitive,
            now=NOW,
            encryption_key=key,
        )
        # Each memory its own conversation (made an hour after the one before, all before NOW), unless a test says
        # otherwise: memories of one conversation lend each other relevance (bot.core.memory.context).
        columns.setdefault("created_at", NOW - timedelta(days=90) + timedelta(hours=next(_HOURS)))
        await session.execute(update(models.Memory).where(models.Memory.id == record.id).values(**columns))
    return record.id


_HOURS = itertools.count()


async def _row(database: Database, memory_id: int) -> Any:
    async with database.session() as session:
        return (await session.execute(select(models.Memory).where(models.Memory.id == memory_id))).scalar_one_or_none()


async def _count(database: Database, *where: Any) -> int:
    async with database.session() as session:
        return int((await session.execute(select(func.count()).select_from(models.Memory).where(*where))).scalar_one())


# ------------------------------------------------------------------------------------------------ capture


async def test_capture_stores_a_hot_memory_with_a_normalised_category(database: Database) -> None:
    persona_id = await _persona(database)
    memory_id = await _capture(database, persona_id, "  Alice has two cats  ", category="  Pets   AND Animals ")
    row = await _row(database, memory_id)
    assert (row.content, row.category, row.tier, row.strength, row.stability) == (
        "Alice has two cats",
        "pets and animals",
        "hot",
        1.0,
        1.0,
    )
    assert row.last_accessed_at == NOW and row.access_count == 0
    with pytest.raises(DomainError):
        await _capture(database, persona_id, "x", importance=11)
    with pytest.raises(DomainError):
        await _capture(database, persona_id, "   ")
    with pytest.raises(NotFound):
        await _capture(database, 999_999, "nobody remembers this")


async def test_sensitive_memories_are_encrypted_at_rest_and_readable_through_the_services(database: Database) -> None:
    persona_id = await _persona(database, encrypt_sensitive=True)
    secret = "Alice's password hint is the name of her first cat"
    memory_id = await _capture(database, persona_id, secret, sensitive=True, key=KEY)

    async with database.session() as session:
        raw = (
            await session.execute(text("SELECT content, encrypted FROM memories WHERE id = :i"), {"i": memory_id})
        ).one()
    assert raw.content != secret and "password" not in raw.content and bool(raw.encrypted)
    assert crypto.decrypt(raw.content, KEY) == secret

    async with database.transaction() as session:
        found = await memories.search(session, persona_id, "password", now=NOW, encryption_key=KEY)
        without_key = await memories.search(session, persona_id, "password", now=NOW)
    assert [r.memory.content for r in found] == [secret]
    assert found[0].memory.readable
    assert without_key[0].memory.readable is False and secret not in without_key[0].memory.content

    # No key configured: a sensitive memory is refused, never stored in the clear.
    with pytest.raises(DomainError):
        await _capture(database, persona_id, "another secret", sensitive=True)
    assert await _count(database, models.Memory.persona_id == persona_id) == 1

    # A persona that does not encrypt keeps sensitive memories as they are (flagged).
    plain_id = await _capture(
        database, await _persona(database, "Bea", encrypt_sensitive=False), "not secret", sensitive=True
    )
    plain = await _row(database, plain_id)
    assert (plain.content, plain.sensitive, plain.encrypted) == ("not secret", True, False)


# ------------------------------------------------------------------------------------------------ retrieval


async def _formula_store(database: Database, **memory: Any) -> tuple[int, dict[str, int]]:
    """Three hot memories where recency, importance and relevance disagree:

    A: accessed now, importance 1, no match;  B: 100 h ago, importance 10, no match;
    C: 200 h ago, importance 5, the only match for "cats". Each made when it was last accessed: three
    conversations, so no memory lends its relevance to another (``bot.core.memory.context``).
    """
    persona_id = await _persona(database, **memory)
    ids = {
        "A": await _capture(database, persona_id, "We talked about the weather", importance=1),
        "B": await _capture(
            database,
            persona_id,
            "Bob is getting married in June",
            importance=10,
            last_accessed_at=NOW - timedelta(hours=100),
            created_at=NOW - timedelta(hours=100),
        ),
        "C": await _capture(
            database,
            persona_id,
            "Alice adores her cats",
            importance=5,
            last_accessed_at=NOW - timedelta(hours=200),
            created_at=NOW - timedelta(hours=200),
        ),
    }
    return persona_id, ids


async def test_retrieval_ranks_relevance_first_then_the_adjustments(database: Database) -> None:
    # docs/retrieval.md, weights (1, 1, 1), strength_weight 0.5, every strength 1, max_boost 0.5 -> beta = 1/3.
    # adjustment = (recency + importance/10 + 0.5 strength) / 2.5 with recency = 0.995^hours from now:
    #   A (0 h, 1):    (1 + 0.1 + 0.5) / 2.5 = 0.64
    #   B (100 h, 10): (0.605770 + 1 + 0.5) / 2.5 = 0.842308
    #   C (200 h, 5):  (0.366958 + 0.5 + 0.5) / 2.5 = 0.546783, the only match: relevance 1 (rank 1 of 1 list)
    #   C = 1 + (1 + 0.546783 / 3) / (4 / 3) = 1.886696; A and B are irrelevant: their adjustment -> C, B, A
    persona_id, ids = await _formula_store(database)
    async with database.transaction() as session:
        results = await memories.search(session, persona_id, "Any news on CATS?", now=NOW)
    assert [r.memory.id for r in results] == [ids["C"], ids["B"], ids["A"]]
    by_id = {r.memory.id: r for r in results}
    assert [r.score for r in results] == pytest.approx([1.886696, 0.842308, 0.64], abs=1e-6)
    assert (by_id[ids["B"]].recency, by_id[ids["B"]].importance, by_id[ids["B"]].relevance) == pytest.approx(
        (0.605770, 1.0, 0.0), abs=1e-6
    )
    assert by_id[ids["C"]].relevance == 1.0 and by_id[ids["C"]].text_rank > 0 and by_id[ids["C"]].relevant
    assert by_id[ids["C"]].positions == (1,) and by_id[ids["A"]].positions == (None,)
    assert by_id[ids["C"]].fused == pytest.approx(1 / 61)
    assert by_id[ids["B"]].hours_since_access == pytest.approx(100.0)


async def test_the_personas_weights_reorder_only_within_a_relevance_band(database: Database) -> None:
    # weights (5, 1, 1): A (5 + 0.1 + 0.5) / 6.5 = 0.861538, B (5 * 0.605770 + 1 + 0.5) / 6.5 = 0.696746:
    # recency now puts A before B, and C (the only match) still comes first.
    persona_id, ids = await _formula_store(database, weight_recency=5.0)
    async with database.transaction() as session:
        results = await memories.search(session, persona_id, "cats", now=NOW)
    assert [r.memory.id for r in results] == [ids["C"], ids["A"], ids["B"]]
    assert [r.score for r in results[1:]] == pytest.approx([0.861538, 0.696746], abs=1e-6)


async def test_a_query_of_stop_words_ranks_by_recency_and_importance(database: Database) -> None:
    # "hi, how are you?" has no content word: nothing is relevant, the adjustments alone rank (B, A, C above).
    persona_id, ids = await _formula_store(database)
    async with database.transaction() as session:
        results = await memories.retrieve(session, persona_id, "hi, how are you?", now=NOW, mark_accessed=False)
    assert [r.memory.id for r in results] == [ids["B"], ids["A"], ids["C"]]
    assert not any(r.relevant for r in results)


async def test_recency_is_measured_from_now_so_an_idle_personas_last_session_does_not_swamp(
    database: Database,
) -> None:
    # A persona idle for a year: its last session (ten turns, all hot) is a year old. The question shares words
    # with one older warm memory only; it comes first, and the last session's turns score by their real age.
    persona_id = await _persona(database)
    year_ago = NOW - timedelta(days=365)
    answer = await _capture(
        database,
        persona_id,
        "Alice's cat Tom caught a mouse",
        tier="warm",
        last_accessed_at=year_ago - timedelta(days=30),
    )
    session_turns = [
        await _capture(
            database, persona_id, f"turn {n} about the weather", last_accessed_at=year_ago + timedelta(minutes=n)
        )
        for n in range(10)
    ]
    async with database.transaction() as session:
        results = await memories.search(session, persona_id, "what did Tom catch?", k=11, now=NOW)
    assert results[0].memory.id == answer and results[0].relevant
    assert {r.memory.id for r in results[1:]} == set(session_turns)
    assert all(r.recency < 1e-15 and not r.relevant for r in results[1:])  # 0.995^8760: the year shows
    assert all(r.score < 1 < results[0].score for r in results[1:])


async def test_a_relevant_old_memory_beats_irrelevant_recent_important_ones(database: Database) -> None:
    persona_id = await _persona(database)
    old = await _capture(
        database, persona_id, "the lighthouse keeper retired", importance=1, strength=0.05,
        last_accessed_at=NOW - timedelta(days=900),
    )  # fmt: skip
    recent = [await _capture(database, persona_id, f"news number {n}", importance=10) for n in range(12)]
    async with database.transaction() as session:
        results = await memories.retrieve(session, persona_id, "who kept the lighthouse", now=NOW, mark_accessed=False)
    assert results[0].memory.id == old
    assert {r.memory.id for r in results[1:]} <= set(recent) and len(results) == 10


async def test_extra_candidate_lists_are_fused_with_full_text(database: Database) -> None:
    persona_id = await _persona(database)
    pet = await _capture(database, persona_id, "my cat Tom caught a mouse", tier="warm")
    kite = await _capture(database, persona_id, "a red kite over the pet shop", tier="warm")
    other = await _capture(database, persona_id, "nothing in common", tier="warm")
    foreign = await _capture(database, await _persona(database, "Bea"), "Bea's own pet", tier="warm")
    async with database.transaction() as session:
        plain = await memories.search(session, persona_id, "how's your pet?", now=NOW)
        fused = await memories.search(
            session,
            persona_id,
            "how's your pet?",
            now=NOW,
            extra=[[(foreign, 0.99), (pet, 0.9), (kite, 0.5), (other, 0.1)]],
        )
    assert [r.memory.id for r in plain] == [kite]  # full text alone: only the word "pet"
    # The other persona's memory is dropped from the list; then pet is its rank 1 (1/61), kite rank 2 (1/62) and
    # the text list's rank 1 (1/61), other rank 3 (1/63). Two lists: relevance = fused / (2/61).
    assert [r.memory.id for r in fused] == [kite, pet, other]
    assert [r.positions for r in fused] == [(1, 2), (None, 1), (None, 3)]
    assert [r.relevance for r in fused] == pytest.approx([0.5 + 61 / 124, 0.5, 61 / 126])
    assert foreign not in {r.memory.id for r in fused}


async def test_search_pages_past_the_first_ten(database: Database) -> None:
    persona_id = await _persona(database)
    ids = [await _capture(database, persona_id, f"kite number {n} " + "kite " * n, tier="warm") for n in range(25)]
    async with database.transaction() as session:
        everything = await memories.search(session, persona_id, "kite", k=30, now=NOW)
        pages = [await memories.search(session, persona_id, "kite", k=10, offset=o, now=NOW) for o in (0, 10, 20)]
    assert [len(page) for page in pages] == [10, 10, 5]
    assert [r.memory.id for page in pages for r in page] == [r.memory.id for r in everything]
    assert sorted(r.memory.id for r in everything) == ids
    assert [r.place for page in pages for r in page] == list(range(1, 26))


async def test_search_pages_past_the_text_candidates_of_one_prompt(database: Database) -> None:
    """A prompt reads TEXT_CANDIDATES matches; a page further down reads twice its depth, so every match is reached."""
    persona_id = await _persona(database)
    total = memories.TEXT_CANDIDATES + 15
    ids = [await _capture(database, persona_id, f"kite number {n}", tier="warm") for n in range(total)]
    async with database.session() as session:
        pages = [
            await memories.search(session, persona_id, "kite", k=10, offset=o, now=NOW, order="relevance")
            for o in range(0, total + 10, 10)
        ]
    assert [len(page) for page in pages] == [10] * (total // 10) + [total % 10, 0]
    assert sorted(r.memory.id for page in pages for r in page) == ids


async def test_a_page_however_deep_reads_a_bounded_number_of_matches(database: Database) -> None:
    """A page far past the end (a crafted button) answers nothing and reads at most MAX_TEXT_CANDIDATES matches."""
    assert candidates.text_limit(10**9) == candidates.MAX_TEXT_CANDIDATES
    assert candidates.text_limit(6) == candidates.TEXT_CANDIDATES
    persona_id = await _persona(database)
    await _capture(database, persona_id, "kite day", tier="warm")
    async with database.session() as session:
        found, _, _ = await candidates.read_candidates(session, persona_id, ["kite"], NOW, 10**9)
        deep = await memories.search(session, persona_id, "kite", k=10, offset=10**9, now=NOW, order="relevance")
    assert len(found) == 1 and deep == []


async def test_candidate_rows_hold_when_each_was_made_and_last_used_as_the_rules_count_them(
    database: Database,
) -> None:
    """Both databases compute a candidate's minute (bot.core.memory.minute_of) and hours since its last access in
    SQL; they must be the numbers the rules would compute from the stored moments."""
    persona_id = await _persona(database)
    made, used = NOW - timedelta(days=3, minutes=17), NOW - timedelta(hours=5, minutes=30)
    memory_id = await _capture(database, persona_id, "kite day", created_at=made, last_accessed_at=used)
    async with database.session() as session:
        found, _, _ = await candidates.read_candidates(session, persona_id, ["kite"], NOW, 1)
    row = found[memory_id][0]
    assert float(row[candidates.MINUTE]) == pytest.approx(rules.minute_of(made), abs=1e-3)
    assert float(row[candidates.HOURS]) == pytest.approx(rules.hours_between(NOW, used), abs=1e-5)


async def test_relevance_orders_text_matches_among_warm_memories(database: Database) -> None:
    persona_id = await _persona(database)
    # Equal recency and importance: only relevance separates them. Both words match the first, one the second.
    both = await _capture(database, persona_id, "red kite over the hill", tier="warm")
    one = await _capture(database, persona_id, "a kite in the shop window", tier="warm")
    unrelated = await _capture(database, persona_id, "nothing to do with it", tier="warm")
    async with database.transaction() as session:
        results = await memories.search(session, persona_id, "red kite", now=NOW)
    # Warm memories are candidates only by a text match: the unrelated one is not among them.
    assert [r.memory.id for r in results] == [both, one]
    # Reciprocal rank fusion of one list: rank 1 -> 1, rank 2 -> (1/62) / (1/61).
    assert results[0].relevance == 1.0 and results[1].relevance == pytest.approx(61 / 62)
    assert unrelated not in {r.memory.id for r in results}


async def test_retrieve_marks_the_results_accessed_with_the_recall_rule(database: Database) -> None:
    persona_id = await _persona(database)
    later = NOW + timedelta(days=3)
    hot = await _capture(database, persona_id, "Alice adores her cats", strength=0.4, stability=2.0, access_count=3)
    cold = await _capture(
        database, persona_id, "cats once knocked over a vase", tier="cold", cold_since=NOW, strength=0.05
    )
    untouched = await _capture(database, persona_id, "dogs bark", tier="warm", strength=0.5)

    async with database.transaction() as session:
        searched = await memories.search(session, persona_id, "cats", now=later)
    assert {r.memory.id for r in searched} == {hot, cold}
    assert (await _row(database, hot)).access_count == 3  # search changes nothing

    async with database.transaction() as session:
        results = await memories.retrieve(session, persona_id, "cats", k=10, now=later)
    assert {r.memory.id for r in results} == {hot, cold}
    first, second, other = await _row(database, hot), await _row(database, cold), await _row(database, untouched)
    # recall: strength back to 1, stability + 1, one more access, t restarts; cold comes back to warm.
    assert (first.strength, first.stability, first.access_count, first.last_accessed_at) == (1.0, 3.0, 4, later)
    assert (second.strength, second.stability, second.access_count, second.tier, second.cold_since) == (
        1.0,
        2.0,
        1,
        "warm",
        None,
    )
    assert (other.strength, other.access_count) == (0.5, 0)


async def test_full_text_index_follows_content_changes_and_deletions(database: Database) -> None:
    persona_id = await _persona(database)
    memory_id = await _capture(database, persona_id, "the lighthouse keeper", tier="warm")
    async with database.transaction() as session:
        await session.execute(
            update(models.Memory).where(models.Memory.id == memory_id).values(content="the harbour master")
        )
    async with database.transaction() as session:
        assert await memories.search(session, persona_id, "lighthouse", now=NOW) == []
        assert [r.memory.id for r in await memories.search(session, persona_id, "harbour", now=NOW)] == [memory_id]
        await memories.forget(session, OWNER, persona_id, memory_id)
    async with database.transaction() as session:
        assert await memories.search(session, persona_id, "harbour", now=NOW) == []
    if database.kind == "sqlite":
        async with database.session() as session:
            left = await session.execute(text("SELECT count(*) FROM memories_fts WHERE memories_fts MATCH 'harbour'"))
            assert left.scalar_one() == 0


async def test_search_is_owner_only_when_an_actor_is_given(database: Database) -> None:
    persona_id = await _persona(database)
    await _capture(database, persona_id, "Alice adores her cats")
    async with database.transaction() as session:
        with pytest.raises(PermissionDenied):
            await memories.search(session, persona_id, "cats", now=NOW, actor=STRANGER)
        assert len(await memories.search(session, persona_id, "cats", now=NOW, actor=OWNER)) == 1


# ------------------------------------------------------------------------------------------- pins, forget, settings


async def test_pin_unpin_and_forget_are_for_the_owner_of_that_persona(database: Database) -> None:
    persona_id = await _persona(database)
    other_persona = await _persona(database, "Bea")
    memory_id = await _capture(database, persona_id, "an old memory", tier="cold", cold_since=NOW)
    foreign = await _capture(database, other_persona, "someone else's memory")

    async with database.transaction() as session:
        with pytest.raises(PermissionDenied):
            await memories.pin(session, STRANGER, persona_id, memory_id)
        with pytest.raises(NotFound):
            await memories.pin(session, OWNER, persona_id, foreign)
        pinned = await memories.pin(session, OWNER, persona_id, memory_id)
    assert pinned.pinned and pinned.tier == "warm"
    row = await _row(database, memory_id)
    assert (row.pinned, row.tier, row.cold_since) == (True, "warm", None)

    async with database.transaction() as session:
        await memories.unpin(session, OWNER, persona_id, memory_id)
    assert (await _row(database, memory_id)).pinned is False

    async with database.session() as session:
        with pytest.raises(PermissionDenied):
            await memories.get(session, STRANGER, persona_id, memory_id)
        with pytest.raises(NotFound):
            await memories.get(session, OWNER, persona_id, foreign)
        assert (await memories.get(session, OWNER, persona_id, memory_id)).content == "an old memory"

    async with database.transaction() as session:
        with pytest.raises(PermissionDenied):
            await memories.forget(session, STRANGER, persona_id, memory_id)
        with pytest.raises(NotFound):
            await memories.forget(session, OWNER, persona_id, foreign)
        forgotten = await memories.forget(session, OWNER, persona_id, memory_id)
    assert forgotten.content == "an old memory"
    assert await _count(database, models.Memory.id == memory_id) == 0
    assert await _count(database, models.Memory.id == foreign) == 1


async def test_memory_settings_are_validated_and_owner_only(database: Database) -> None:
    persona_id = await _persona(database)
    async with database.transaction() as session:
        assert await memories.config_get(session, persona_id) == rules.default_config()
        with pytest.raises(PermissionDenied):
            await memories.config_update(session, STRANGER, persona_id, {"decay_rate": 0.2})
        with pytest.raises(DomainError):
            await memories.config_update(session, OWNER, persona_id, {"hot_memory_size": 400})  # above warm 300
        updated = await memories.config_update(
            session, OWNER, persona_id, {"preset": "deep", "decay_schedule": "Weekly", "exempt_categories": [" Pets "]}
        )
    assert (updated.decay_function, updated.decay_schedule, updated.exempt_categories) == (
        "logarithmic",
        "weekly",
        ("pets",),
    )
    async with database.session() as session:
        assert await memories.config_get(session, persona_id) == updated
        row = await session.get(models.MemoryConfig, persona_id)
        assert (row.decay_schedule, row.max_entities) == ("weekly", 10_000)


# ------------------------------------------------------------------------------------------------ health, optimize


async def _items(database: Database, persona_id: int) -> list[rules.MemoryItem]:
    async with database.session() as session:
        rows = (await session.execute(select(models.Memory).where(models.Memory.persona_id == persona_id))).scalars()
        return [memory_item(row) for row in rows]  # the conversion the service uses


async def test_health_from_sql_aggregates_equals_core_health(database: Database) -> None:
    persona_id = await _persona(database, hot_memory_size=2, warm_memory_size=3, max_entities=10)
    # Nine memories, deliberately misplaced: weak ones hot, strong ones cold, one pinned cold.
    layout = [
        ("hot", 0.1, 2, False),
        ("hot", 0.2, 3, False),
        ("hot", 0.9, 9, False),
        ("warm", 1.0, 10, False),
        ("warm", 0.5, 5, False),
        ("warm", 0.5, 5, False),
        ("cold", 0.95, 8, False),
        ("cold", 0.05, 1, True),
        ("cold", 0.3, 4, False),
    ]
    for index, (tier, strength, importance, pinned) in enumerate(layout):
        await _capture(
            database,
            persona_id,
            f"memory number {index} é",
            importance=importance,
            tier=tier,
            strength=strength,
            pinned=pinned,
            cold_since=NOW if tier == "cold" else None,
            last_accessed_at=NOW - timedelta(hours=index),
            created_at=NOW - timedelta(days=40),
        )
    async with database.session() as session:
        report = await memories.health(session, persona_id, NOW)
        config = await memories.config_get(session, persona_id)
    expected = rules.health(await _items(database, persona_id), config, NOW, None)

    assert (report.hot_count, report.warm_count, report.cold_count, report.total_count) == (3, 3, 3, 9)
    assert report.pinned_count == 1
    # "memory number N é" is 17 characters and 18 bytes (é is two bytes in UTF-8).
    assert report.total_bytes == 9 * 18
    assert report.hot_usage == pytest.approx(1.5) and report.entities_usage == pytest.approx(0.9)
    for name in ("hot_usage", "warm_usage", "entities_usage", "size_usage", "fragmentation", "score"):
        assert getattr(report, name) == pytest.approx(getattr(expected, name)), name
    assert report.recommendations == expected.recommendations
    assert report.time_since_optimization is None and expected.time_since_optimization is None
    assert report.fragmentation > 0.2  # the layout is wrong, and health says so


async def test_optimize_merges_evicts_retiers_expires_and_records_it(database: Database) -> None:
    persona_id = await _persona(
        database, hot_memory_size=1, warm_memory_size=1, max_entities=4, cold_memory_retention_days=30
    )
    keep = await _capture(database, persona_id, "Alice has a grey cat named Tom", strength=0.9, access_count=2)
    duplicate = await _capture(database, persona_id, "alice has a grey cat named tom!", strength=0.6, access_count=3)
    # The same words from someone else: never merged into another person's memory.
    other_author = await _capture(database, persona_id, "Alice has a grey cat named Tom", source_user_id=8)
    expired = await _capture(
        database, persona_id, "an ancient memory", tier="cold", cold_since=NOW - timedelta(days=31), strength=0.01
    )
    weak = [
        await _capture(database, persona_id, f"weak memory {n}", strength=0.05, importance=1, tier="warm")
        for n in range(2)
    ]
    report = await memories.optimize_store(database, persona_id, NOW)

    # Values (w_rec = w_imp = 1): (strength + (importance - 1) / 9) / 2
    #   other_author (1 + 4/9)/2 = 0.722, keep (0.9 + 4/9)/2 = 0.672, expired (0.01 + 4/9)/2 = 0.227,
    #   weak 0.05/2 = 0.025 each.
    # 1. merge: duplicate into keep (stronger), access counts 2 + 3 = 5.
    # 2. capacity: 5 left, max 4 -> the lowest value goes: weak[0] (tie with weak[1]: same access time, lower id).
    # 3. tiers (hot 1, warm 1): other_author hot, keep warm (was hot), expired cold, weak[1] cold (was warm).
    # 4. expired: cold 31 days > 30 -> deleted; weak[1] has just entered cold (cold_since = now).
    assert (report.merged, report.evicted, report.expired, report.retiered) == (1, 1, 1, 2)
    assert await _count(database, models.Memory.id.in_([duplicate, weak[0], expired])) == 0
    assert (await _row(database, keep)).access_count == 5
    assert [(await _row(database, i)).tier for i in (other_author, keep, weak[1])] == ["hot", "warm", "cold"]
    assert (await _row(database, weak[1])).cold_since == NOW
    assert (report.before.total_count, report.after.total_count) == (6, 3)
    assert report.before.fragmentation > 0 and report.after.fragmentation == 0.0

    async with database.session() as session:
        event = (
            await session.execute(
                select(models.TimelineEvent).where(
                    models.TimelineEvent.persona_id == persona_id, models.TimelineEvent.kind == "optimization"
                )
            )
        ).scalar_one()
        config_row = await session.get(models.MemoryConfig, persona_id)
    assert event.details["before"]["memories"] == 6 and event.details["after"]["memories"] == 3
    assert event.details["merged"] == 1
    assert config_row.last_optimization_at == NOW
    assert report.after.time_since_optimization == timedelta(0)
    assert report.database_optimized is (database.kind == "sqlite")


async def test_optimize_puts_cold_memories_on_a_countdown_and_expires_them_later(database: Database) -> None:
    persona_id = await _persona(database, hot_memory_size=1, warm_memory_size=1, cold_memory_retention_days=10)
    strong = await _capture(database, persona_id, "strong one", importance=8)
    middle = await _capture(database, persona_id, "middle one", importance=5)
    weak = await _capture(database, persona_id, "weak one", importance=1)
    first = await memories.optimize_store(database, persona_id, NOW)
    assert first.retiered == 2  # middle hot -> warm, weak hot -> cold
    assert [(await _row(database, i)).tier for i in (strong, middle, weak)] == ["hot", "warm", "cold"]
    assert (await _row(database, weak)).cold_since == NOW

    ten_days = await memories.optimize_store(database, persona_id, NOW + timedelta(days=10))
    assert ten_days.expired == 0  # cold for exactly 10 days: not strictly longer
    later = await memories.optimize_store(database, persona_id, NOW + timedelta(days=10, seconds=1))
    assert later.expired == 1 and await _count(database, models.Memory.id == weak) == 0


# ------------------------------------------------------------------------------------------------ privacy


async def test_forget_me_erases_every_memory_from_or_about_the_caller_on_that_server(database: Database) -> None:
    me, someone = 4242, 7
    first = await _persona(database, "Ada")
    second = await _persona(database, "Bea", actor=Actor(user_id=3003, guild_id=555))
    elsewhere = await _persona(database, "Cy", actor=Actor(user_id=1001, guild_id=777))
    for persona_id in (first, second, elsewhere):
        await _capture(database, persona_id, "I said this", source_user_id=me)
        await _capture(database, persona_id, "they said this about me", source_user_id=someone, subject_user_id=me)
        await _capture(database, persona_id, "unrelated", source_user_id=someone)
    async with database.transaction() as session:
        for persona_id in (first, second, elsewhere):
            session.add(models.PersonRelationship(persona_id=persona_id, user_id=me, messages_exchanged=3))

    async with database.transaction() as session:
        report = await privacy.forget_me(session, me, 555, now=utcnow())
    assert report.memories == 4 and report.personas == ()
    mine = (models.Memory.source_user_id == me) | (models.Memory.subject_user_id == me)
    assert await _count(database, mine, models.Memory.persona_id.in_([first, second])) == 0
    assert await _count(database, mine, models.Memory.persona_id == elsewhere) == 2  # another server
    assert await _count(database, models.Memory.persona_id.in_([first, second])) == 2  # others' memories stay
    async with database.session() as session:
        relationships = (
            await session.execute(
                select(models.PersonRelationship.persona_id).where(models.PersonRelationship.user_id == me)
            )
        ).scalars()
        assert list(relationships) == [elsewhere]
    if database.kind == "sqlite":  # and nothing of it is left in the full-text index
        async with database.session() as session:
            hits = await session.execute(text("SELECT count(*) FROM memories_fts WHERE memories_fts MATCH 'said'"))
            assert hits.scalar_one() == 2  # only the other server's two


async def test_export_my_data_gathers_everything_about_the_caller(database: Database) -> None:
    me = 4242
    persona_id = await _persona(database, "Ada", encrypt_sensitive=True)
    await _capture(database, persona_id, "I like tea", source_user_id=me)
    await _capture(database, persona_id, "my secret", source_user_id=me, sensitive=True, key=KEY)
    await _capture(database, persona_id, "about me", source_user_id=9, subject_user_id=me)
    await _capture(database, persona_id, "not mine", source_user_id=9)
    async with database.transaction() as session:
        session.add_all(
            [
                models.ConsentRecord(
                    guild_id=555, user_id=me, persona_id=persona_id, scope="memory", granted=True, recorded_by=me
                ),
                models.Follow(persona_id=persona_id, user_id=me, guild_id=555),
                models.Endorsement(persona_id=persona_id, user_id=me, text="great"),
                models.EmotionalEvent(persona_id=persona_id, trigger="praise", user_id=me, intensity=0.5),
                models.PersonRelationship(persona_id=persona_id, user_id=me, messages_exchanged=12, affinity=0.4),
            ]
        )
        await session.flush()
        tier = models.SubscriptionTier(persona_id=persona_id, name="Friends")
        session.add(tier)
        await session.flush()
        session.add(models.Subscription(persona_id=persona_id, tier_id=tier.id, user_id=me))

    async with database.session() as session:
        data = await privacy.export_my_data(session, me, encryption_key=KEY)
        locked = await privacy.export_my_data(session, me)
    json.dumps(data)  # JSON-able as it is
    assert sorted(m["content"] for m in data["memories"]) == ["I like tea", "about me", "my secret"]
    assert {m["persona_name"] for m in data["memories"]} == {"Ada"}
    assert [m["about_you"] for m in data["memories"] if m["content"] == "about me"] == [True]
    assert [m["readable"] for m in locked["memories"] if m["sensitive"]] == [False]
    for key in ("consent_records", "follows", "endorsements", "subscriptions", "emotional_events", "relationships"):
        assert len(data[key]) == 1, key
        assert data[key][0]["persona_name"] == "Ada"
    assert data["relationships"][0]["messages_exchanged"] == 12
    assert data["endorsements"][0]["text"] == "great"
    assert isinstance(data["follows"][0]["followed_at"], str)
    assert not math.isnan(data["emotional_events"][0]["intensity"])


async def test_search_by_relevance_keeps_only_the_matches_best_first(database: Database) -> None:
    # The formula's store: the prompt takes C, B, A for "cats"; only C holds the word.
    persona_id, ids = await _formula_store(database)
    async with database.transaction() as session:
        ranked = await memories.search(session, persona_id, "cats", now=NOW, order="relevance")
        nothing = await memories.search(session, persona_id, "submarine", now=NOW, order="relevance")
        prompt = await memories.search(session, persona_id, "submarine", now=NOW, order="prompt")
    assert [r.memory.id for r in ranked] == [ids["C"]] and ranked[0].text_rank > 0
    assert nothing == [] and len(prompt) == 3  # the prompt's order shows every hot memory, matching or not
    with pytest.raises(DomainError):
        async with database.transaction() as session:
            await memories.search(session, persona_id, "cats", now=NOW, order="random")


async def test_a_hot_memory_past_the_most_recent_ones_is_still_found_by_its_words(database: Database) -> None:
    """Both databases search every tier by words: a hot memory older than the HOT_CANDIDATES most recently used is
    found when it matches (PostgreSQL used to look for text matches among the other tiers only)."""
    pid = await _persona(database)
    old = NOW - timedelta(days=400)
    async with database.transaction() as session:
        session.add(models.Memory(persona_id=pid, content="We flew a zeppelin over the bay", tier="hot",
                                  created_at=old, last_accessed_at=old))  # fmt: skip
        session.add_all(
            models.Memory(
                persona_id=pid,
                content=f"an ordinary day {n}",
                tier="hot",
                created_at=NOW,
                last_accessed_at=NOW - timedelta(minutes=n),
            )
            for n in range(memories.HOT_CANDIDATES + 5)
        )
    async with database.session() as session:
        found = await memories.retrieve(session, pid, "the zeppelin", k=3, now=NOW, mark_accessed=False)
    assert found and found[0].memory.content == "We flew a zeppelin over the bay"


async def test_the_reply_to_a_match_is_found_through_its_conversation_below_the_match(database: Database) -> None:
    # bot.core.memory.context: "what did Caroline research?" finds the question's turn by its words and the answer
    # right after it (same channel, same minute) through it; a turn of another channel right after gets nothing.
    persona_id = await _persona(database)
    asked = await _capture(
        database, persona_id, "Melanie: What have you been researching lately, Caroline?", created_at=NOW
    )
    answer = await _capture(
        database, persona_id, "Caroline: Adoption agencies, it has been a dream of mine.", created_at=NOW
    )
    elsewhere = await _capture(database, persona_id, "Dana: The harbour was busy.", created_at=NOW - timedelta(days=3))
    async with database.transaction() as session:
        results = await memories.search(session, persona_id, "researching", now=NOW, order="relevance")
    assert [r.memory.id for r in results] == [asked, answer]
    assert elsewhere not in {r.memory.id for r in results}


async def test_a_rare_word_outweighs_a_word_every_memory_holds(database: Database) -> None:
    # SQLite's bm25 and PostgreSQL's IDF-weighted ts_rank: "Caroline" is in every memory, "pottery" in one.
    persona_id = await _persona(database)
    ids = []
    for n, topic in enumerate(["the weather", "her garden", "pottery class", "a long drive", "the news"]):
        when = NOW - timedelta(days=10 * (n + 1))  # five conversations
        ids.append(
            await _capture(database, persona_id, f"Caroline talked about {topic}, Caroline said.", created_at=when)
        )
    async with database.transaction() as session:
        results = await memories.search(session, persona_id, "caroline pottery", now=NOW, order="relevance")
    assert results[0].memory.id == ids[2]
    assert len(results) == 5


async def test_a_neighbour_read_for_context_that_gains_nothing_is_not_a_candidate(database: Database) -> None:
    # The best match's neighbours are read for context (bot.core.memory.context). One said in another channel gains
    # nothing and must not stay a candidate, even when it is hot but past the HOT_CANDIDATES most recently used.
    persona_id = await _persona(database)
    old = NOW - timedelta(days=30)
    kite = await _capture(database, persona_id, "a red kite", created_at=old, last_accessed_at=old)
    elsewhere = await _capture(
        database, persona_id, "another channel", created_at=old, last_accessed_at=old, source_channel_id=99
    )
    filler = [
        {"persona_id": persona_id, "content": f"filler {n}", "category": "conversation", "tier": "hot",
         "created_at": NOW - timedelta(days=60), "last_accessed_at": NOW, "source_channel_id": 10}
        for n in range(memories.HOT_CANDIDATES)
    ]  # fmt: skip
    async with database.transaction() as session:
        await session.execute(insert(models.Memory), filler)
        results = await memories.search(session, persona_id, "kite", k=1000, now=NOW)
    ids = {r.memory.id for r in results}
    assert kite in ids and elsewhere not in ids
    assert len(results) == memories.HOT_CANDIDATES + 1  # the recent hot ones and the match


@pytest.fixture
async def sqlite_database(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Database]:
    path = tmp_path / "bounded.db"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite+aiosqlite:///{path}")
    try:
        yield database
    finally:
        await database.dispose()


async def test_sqlite_ranks_a_bounded_number_of_matches_leaving_out_the_commonest_words(
    sqlite_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite ranks the matches inline on the event loop: a word most memories hold would make every search rank
    them all. Past MATCH_BUDGET matches the commonest words are left out; when even the rarest word matches more,
    only its most recent matches are ranked. (PostgreSQL reads at most WORD_MATCH_LIMIT + 1 matches per word, on its
    server.)"""
    database = sqlite_database
    monkeypatch.setattr(candidates, "MATCH_BUDGET", 20)
    monkeypatch.setattr(candidates, "_word_counts", {})
    persona_id = await _persona(database)
    fillers = [await _capture(database, persona_id, f"Alice said: filler number {n}") for n in range(40)]
    lighthouse = await _capture(database, persona_id, "Alice said: the lighthouse keeper waved")
    async with database.session() as session:
        both = await memories.search(session, persona_id, "Alice and the lighthouse", k=5, now=NOW)
        common = await memories.search(session, persona_id, "Alice", k=50, now=NOW, order="relevance")
    assert both[0].memory.id == lighthouse and both[0].relevant
    assert len(both) == 5 and not any(r.relevant for r in both[1:])  # "alice" (41 matches) was left out
    newest = set(sorted([*fillers, lighthouse])[-20:])
    assert len(common) == 20 and {r.memory.id for r in common} == newest and all(r.relevant for r in common)


async def test_a_word_most_memories_hold_never_crowds_out_a_rarer_words_match(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both databases bound the matches they read for a common word (SQLite leaves it out past MATCH_BUDGET
    matches, PostgreSQL reads at most WORD_MATCH_LIMIT + 1 per word): the one memory with the rare word, made last,
    is still found, first."""
    monkeypatch.setattr(candidates, "MATCH_BUDGET", 20)
    monkeypatch.setattr(candidates, "WORD_MATCH_LIMIT", 20)
    monkeypatch.setattr(candidates, "_word_counts", {})
    persona_id = await _persona(database)
    for n in range(60):
        await _capture(database, persona_id, f"Alice said: filler number {n}")
    lighthouse = await _capture(database, persona_id, "Alice said: the lighthouse keeper waved")
    async with database.session() as session:
        results = await memories.search(session, persona_id, "Alice, the lighthouse?", k=5, now=NOW)
    assert results[0].memory.id == lighthouse and results[0].relevant
    assert results[0].score > max(r.score for r in results[1:])


async def test_a_word_no_memory_holds_yet_is_found_as_soon_as_one_does(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite leaves a word no memory holds out of the search (it adds nothing to any score), and keeps no count of
    zero: the memory that first holds the word is found by the very next search, within the counts' lifetime. The
    other words' matches rank as they would without the absent word."""
    monkeypatch.setattr(candidates, "_word_counts", {})
    persona_id = await _persona(database)
    kite = await _capture(database, persona_id, "a red kite over the hill", tier="warm")
    async with database.session() as session:
        before = await memories.search(session, persona_id, "kite Tom", k=5, now=NOW, order="relevance")
        alone = await memories.search(session, persona_id, "kite", k=5, now=NOW, order="relevance")
    assert [r.memory.id for r in before] == [kite]
    assert before[0].text_rank == pytest.approx(alone[0].text_rank)
    tom = await _capture(database, persona_id, "Tom is the cat", tier="warm")
    async with database.session() as session:
        after = await memories.search(session, persona_id, "kite Tom", k=5, now=NOW, order="relevance")
    assert {r.memory.id for r in after} == {kite, tom}
