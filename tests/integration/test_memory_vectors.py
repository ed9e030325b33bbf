"""Memories found by meaning (issue 20): embeddings stored per memory, searched on SQLite and PostgreSQL, with the
embedded default (WordLlama's shipped weights) and with a model server's ``/v1/embeddings``; a server that fails
or answers wrong leaves the memory to full text; the backfill, a model change and forgetting."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text, update

from bot.core import memory as rules
from bot.db import models, people
from bot.db.engine import Database
from bot.llm.embeddings import MAX_EMBED_CHARS, PER_TOKEN_BATCH, ServerEmbedder, WordLlamaEmbedder
from bot.services import memories, personas, privacy, receipts
from bot.services.memories import held as held_module
from bot.services.memories import vectors
from bot.services.memories.retrieval import query_words
from bot.services.personas import Actor, PersonaInput
from tests.fakes.model_server import EMBEDDING_DIM, FakeModelServer, hashed_words

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OWNER = Actor(user_id=1001, guild_id=555)
DEFAULT = WordLlamaEmbedder().name

OTHERS = [
    "I went to the bank to deposit my salary",
    "the weather was rainy all of last week",
    "my favourite food is a pizza with olives",
    "I work as a software engineer in Lisbon",
    "we watched a football match on Sunday",
    "the train to Porto was two hours late",
]


@pytest.fixture(autouse=True)
def fresh_vectors() -> Iterator[None]:
    vectors.configure(None)
    yield
    vectors.configure(None)


@pytest.fixture
async def server() -> AsyncIterator[FakeModelServer]:
    async with FakeModelServer() as fake:
        yield fake
        embedder = vectors.embedder()
        if isinstance(embedder, ServerEmbedder):
            await embedder.aclose()


async def _persona(database: Database, name: str = "Ada") -> int:
    async with database.transaction() as session:
        return (await personas.create(session, OWNER, PersonaInput(name=name), now=NOW)).id


async def _capture(database: Database, persona_id: int, content: str) -> int:
    async with database.transaction() as session:
        record = await memories.capture(
            session, persona_id, content=content, category="conversation", importance=5,
            source_user_id=7, source_channel_id=10, source_message_id=20, now=NOW,
        )  # fmt: skip
    return record.id


async def _store(database: Database, *contents: str, name: str = "Ada") -> tuple[int, list[int]]:
    persona_id = await _persona(database, name)
    return persona_id, [await _capture(database, persona_id, content) for content in contents]


async def _nearest(database: Database, persona_id: int, query: str, k: int = 3) -> list[tuple[int, float]]:
    async with database.reads() as session:
        return await vectors.vector_candidates(session, persona_id, query, k=k)


async def _embedded(database: Database) -> dict[int, tuple[str, int]]:
    table = models.MemoryEmbedding
    async with database.session() as session:
        rows = (await session.execute(select(table.memory_id, table.model, table.dim))).all()
    return {int(i): (model, int(dim)) for i, model, dim in rows}


async def test_how_is_your_pet_finds_the_cat_through_vectors(database: Database) -> None:
    persona_id, ids = await _store(database, "my cat Tom caught a mouse", *OTHERS)
    assert await vectors.backfill(database, now=NOW) == len(ids)
    found = await _nearest(database, persona_id, "how's your pet?")
    assert found[0][0] == ids[0]
    assert found[0][1] > found[1][1]
    # Full text cannot: the two share no word.
    assert not set(query_words("how's your pet?")) & set(query_words("my cat Tom caught a mouse"))


async def test_a_new_memory_is_embedded_after_its_commit_in_the_background(database: Database) -> None:
    queue = vectors.EmbeddingQueue(database, now=lambda: NOW)
    queue.start()
    try:
        persona_id, ids = await _store(database, "my cat Tom caught a mouse", *OTHERS)
        await asyncio.wait_for(queue.idle.wait(), 10)
        for _ in range(50):
            if len(await _embedded(database)) == len(ids):
                break
            await asyncio.sleep(0.05)
    finally:
        await queue.stop()
    assert await _embedded(database) == {i: (DEFAULT, 256) for i in ids}
    assert (await _nearest(database, persona_id, "how's your pet?"))[0][0] == ids[0]


@pytest.mark.parametrize("path", ["queue", "backfill"])
async def test_the_embedded_model_is_loaded_before_a_transaction_opens(
    database: Database, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """Loading the embedded model reads 18 MB: no transaction is held open meanwhile (the first batch of the
    queue or of the backfill loads it first, then opens its transaction)."""
    persona_id, ids = await _store(database, "my cat Tom caught a mouse")
    model = WordLlamaEmbedder()
    vectors.configure(model)
    open_transactions = 0
    real_transaction, real_read = database.transaction, model._read
    loaded_with: list[int] = []  # the transactions open when the weights were read

    @asynccontextmanager
    async def counted() -> AsyncIterator[Any]:
        nonlocal open_transactions
        open_transactions += 1
        try:
            async with real_transaction() as session:
                yield session
        finally:
            open_transactions -= 1

    def read() -> None:
        loaded_with.append(open_transactions)
        real_read()

    monkeypatch.setattr(database, "transaction", counted)
    monkeypatch.setattr(model, "_read", read)
    if path == "queue":
        queue = vectors.EmbeddingQueue(database, now=lambda: NOW)
        queue.start()
        try:
            queue.offer(ids)
            await asyncio.sleep(0)
            await asyncio.wait_for(queue.idle.wait(), 10)
        finally:
            await queue.stop()
    else:
        assert await vectors.backfill(database, now=NOW) == 1
    assert loaded_with == [0]
    assert await _embedded(database) == {ids[0]: (DEFAULT, 256)}
    assert (await _nearest(database, persona_id, "how's your pet?"))[0][0] == ids[0]


async def test_a_rolled_back_memory_is_not_offered(database: Database) -> None:
    queue = vectors.EmbeddingQueue(database, now=lambda: NOW)
    queue.start()
    persona_id = await _persona(database)
    try:
        with pytest.raises(RuntimeError):
            async with database.transaction() as session:
                await memories.capture(
                    session, persona_id, content="never kept", category="conversation", importance=5,
                    source_user_id=7, source_channel_id=10, source_message_id=20, now=NOW,
                )  # fmt: skip
                raise RuntimeError("rolled back")
        await asyncio.sleep(0.1)
        assert queue.idle.is_set()
    finally:
        await queue.stop()


async def test_the_servers_embeddings_are_used_when_configured(database: Database, server: FakeModelServer) -> None:
    vectors.configure(ServerEmbedder(server.base_url, "fake-embed"))
    persona_id, ids = await _store(database, "my cat Tom caught a mouse", *OTHERS)
    assert await vectors.backfill(database, now=NOW) == len(ids)
    assert await _embedded(database) == {i: ("server:fake-embed", EMBEDDING_DIM) for i in ids}
    assert server.embedding_requests[0]["model"] == "fake-embed"
    found = await _nearest(database, persona_id, "Tom the cat")
    assert found[0][0] == ids[0]
    assert server.embedding_requests[-1]["input"] == ["Tom the cat"]


@pytest.mark.parametrize("fault", ["dimension", "nan", "error"])
async def test_a_failing_server_leaves_the_memory_to_full_text_and_says_so_once(
    database: Database, server: FakeModelServer, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    embedder = ServerEmbedder(server.base_url, "fake-embed", dim=EMBEDDING_DIM)
    vectors.configure(embedder)
    server.embedding_fault = fault
    persona_id, ids = await _store(database, "my cat Tom caught a mouse", *OTHERS)
    with caplog.at_level(logging.WARNING, logger="bot.llm.embeddings"):
        assert await vectors.backfill(database, now=NOW) == 0
        assert await vectors.backfill(database, now=NOW) == 0
        assert await _nearest(database, persona_id, "how's your pet?") == []
        assert await _nearest(database, persona_id, "a mouse") == []
    assert await _embedded(database) == {}
    warnings = [r for r in caplog.records if r.name == "bot.llm.embeddings"]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert f"({'server' if fault == 'error' else fault})" in warnings[0].getMessage()
    async with database.session() as session:
        hits = await memories.search(session, persona_id, "mouse", k=3, now=NOW)
    assert hits[0].memory.id == ids[0]
    assert hits[0].relevance > 0


async def test_a_long_query_is_embedded_by_its_beginning(database: Database, server: FakeModelServer) -> None:
    embedder = ServerEmbedder(server.base_url, "fake-embed")
    vectors.configure(embedder)
    persona_id, _ = await _store(database, "my cat Tom caught a mouse")
    await vectors.backfill(database, now=NOW)
    await _nearest(database, persona_id, "cat " * 2_500)
    assert len(server.embedding_requests[-1]["input"][0]) == MAX_EMBED_CHARS
    await embedder.aclose()
    vectors.configure(None)
    assert await vectors.backfill(database, now=NOW) == 1
    assert len(await _nearest(database, persona_id, "x" * 10_000)) == 1


async def test_the_backfill_embeds_existing_memories_in_batches(database: Database) -> None:
    persona_id, ids = await _store(database, *OTHERS)
    assert await vectors.backfill(database, now=NOW, batch=4, max_batches=1) == 4
    assert set(await _embedded(database)) == set(ids[:4])
    assert await vectors.backfill(database, now=NOW, batch=4) == len(ids) - 4
    assert await vectors.backfill(database, now=NOW) == 0
    assert set(await _embedded(database)) == set(ids)
    assert len(await _nearest(database, persona_id, "rain", k=100)) == len(ids)


async def test_a_model_change_embeds_every_memory_again(database: Database, server: FakeModelServer) -> None:
    persona_id, ids = await _store(database, "my cat Tom caught a mouse", *OTHERS)
    await vectors.backfill(database, now=NOW)
    assert {model for model, _ in (await _embedded(database)).values()} == {DEFAULT}
    assert len(await _nearest(database, persona_id, "pet", k=100)) == len(ids)
    vectors.configure(ServerEmbedder(server.base_url, "fake-embed"))
    # Stale rows (another model) are not candidates until embedded again.
    assert await _nearest(database, persona_id, "pet", k=100) == []
    assert await vectors.backfill(database, now=NOW) == len(ids)
    assert await _embedded(database) == {i: ("server:fake-embed", EMBEDDING_DIM) for i in ids}
    assert len(await _nearest(database, persona_id, "Tom the cat", k=100)) == len(ids)


async def test_forgetting_a_memory_removes_its_embedding(database: Database) -> None:
    persona_id, ids = await _store(database, "my cat Tom caught a mouse", *OTHERS)
    await vectors.backfill(database, now=NOW)
    assert (await _nearest(database, persona_id, "how's your pet?"))[0][0] == ids[0]
    async with database.transaction() as session:
        await memories.forget(session, OWNER, persona_id, ids[0])
    assert ids[0] not in await _embedded(database)
    assert ids[0] not in [i for i, _ in await _nearest(database, persona_id, "how's your pet?", k=100)]
    # Forget-me of the person the memories came from (user 7) takes their vectors with them.
    async with database.transaction() as session:
        report = await privacy.forget_me(session, 7, 555, now=NOW)
    assert report.memories == len(ids) - 1
    assert await _embedded(database) == {}
    assert await _nearest(database, persona_id, "how's your pet?", k=100) == []
    assert "memory_embeddings" in people.TABLES


async def test_an_encrypted_memory_is_never_embedded(database: Database) -> None:
    from bot.services import crypto

    key = crypto.generate_key()
    async with database.transaction() as session:
        persona_id = (
            await personas.create(session, OWNER, PersonaInput(name="Ada", memory={"encrypt_sensitive": True}), now=NOW)
        ).id
        await memories.capture(
            session, persona_id, content="my secret diagnosis", category="conversation", importance=5,
            source_user_id=7, source_channel_id=10, source_message_id=20, sensitive=True, now=NOW, encryption_key=key,
        )  # fmt: skip
    assert await vectors.backfill(database, now=NOW) == 0
    async with database.session() as session:
        count = (await session.execute(select(func.count()).select_from(models.MemoryEmbedding))).scalar_one()
    assert count == 0


async def test_many_vectors_are_read_in_the_background_while_full_text_answers(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    persona_id, ids = await _store(database, "my cat Tom caught a mouse", *OTHERS)
    await vectors.backfill(database, now=NOW)
    vectors.configure(None)
    monkeypatch.setattr(vectors, "LOAD_PAGE", 2)  # 7 vectors: four pages
    assert await _nearest(database, persona_id, "how's your pet?") == []
    await vectors.loaded(persona_id)
    held = vectors.held_vectors(persona_id)
    assert held is not None and held.size == len(ids)
    assert (await _nearest(database, persona_id, "how's your pet?"))[0][0] == ids[0]


async def test_a_large_personas_vectors_get_an_index_built_in_the_background(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    fillers = [f"note {n}: the {word} meeting moved to {day}" for n, (word, day) in enumerate(_FILLER_PAIRS)]
    persona_id, ids = await _store(database, "my cat Tom caught a mouse", *OTHERS, *fillers)
    await vectors.backfill(database, now=NOW)
    monkeypatch.setattr(held_module, "INDEX_MIN_ROWS", len(ids))  # "large": as many as this persona has
    assert (await _nearest(database, persona_id, "how's your pet?"))[0][0] == ids[0]  # exact, starts the index
    await held_module.indexed(persona_id)
    held = vectors.held_vectors(persona_id)
    assert held is not None and held.index is not None and held.index.rows == len(ids)
    scanned: list[int] = []
    real_top_k = held_module.top_k
    monkeypatch.setattr(held_module, "top_k", lambda m, q, k: scanned.append(m.shape[0]) or real_top_k(m, q, k))
    assert (await _nearest(database, persona_id, "how's your pet?"))[0][0] == ids[0]
    assert scanned == [0]  # through the index: only the rows added since it (none) scanned exactly
    newest = await _capture(database, persona_id, "my dog Rex chews slippers")
    await vectors.backfill(database, now=NOW)
    assert newest in {i for i, _ in await _nearest(database, persona_id, "what does your dog chew?")}


_FILLER_PAIRS = [(w, d) for w in ("budget", "design", "hiring", "launch", "review", "travel", "garden") for d in (
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")]  # fmt: skip


async def test_an_embedded_model_that_cannot_load_leaves_memories_to_full_text(
    database: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    broken = WordLlamaEmbedder()
    monkeypatch.setattr(broken, "_read", lambda: (_ for _ in ()).throw(ImportError("No module named 'tokenizers'")))
    vectors.configure(broken)
    persona_id, _ = await _store(database, "my cat Tom caught a mouse")
    with caplog.at_level(logging.WARNING, logger="bot.llm.embeddings"):
        assert await vectors.backfill(database, now=NOW) == 0
        assert await _nearest(database, persona_id, "how's your pet?") == []
    assert await _embedded(database) == {}
    assert [r.getMessage() for r in caplog.records if r.name == "bot.llm.embeddings"] == [
        "Embeddings unavailable (model): the embedded model cannot be loaded (No module named 'tokenizers'). "
        "Memories are kept and found by full text."
    ]


async def test_the_least_recently_searched_personas_vectors_are_let_go_past_the_budget(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, first_ids = await _store(database, "my cat Tom caught a mouse", *OTHERS)
    second, _ = await _store(database, *OTHERS, name="Bea")
    await vectors.backfill(database, now=NOW)
    monkeypatch.setattr(vectors, "HELD_ROWS", len(first_ids) + 1)
    await _nearest(database, first, "pet")
    await _nearest(database, second, "pet")
    assert vectors.held_vectors(first) is None and vectors.held_vectors(second) is not None
    assert (await _nearest(database, first, "how's your pet?"))[0][0] == first_ids[0]  # read again


async def test_a_large_backfill_refreshes_postgresqls_statistics(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    persona_id, ids = await _store(database, "my cat Tom caught a mouse", *OTHERS)
    monkeypatch.setattr(vectors, "ANALYZE_AFTER_ROWS", 2)
    assert await vectors.backfill(database, now=NOW) == len(ids)  # ANALYZE on PostgreSQL; nothing on SQLite
    assert (await _nearest(database, persona_id, "how's your pet?"))[0][0] == ids[0]


# ------------------------------------------------------------------------------------------------ in the ranking


async def _retrieve(database: Database, persona_id: int, query: str, k: int) -> list[memories.RetrievedMemory]:
    async with database.reads() as session:
        return await memories.retrieve(session, persona_id, query, k=k, now=NOW, mark_accessed=False)


async def test_how_is_your_pet_finds_the_cat_for_the_prompt_when_no_word_matches(database: Database) -> None:
    persona_id, ids = await _store(database, *OTHERS, "my cat Tom caught a mouse")
    cat = ids[-1]
    async with database.reads() as session:  # before the vectors: by recency, importance and strength alone
        assert [r.positions for r in await memories.retrieve(
            session, persona_id, "how's your pet?", k=3, now=NOW, mark_accessed=False
        )] == [(None,)] * 3  # fmt: skip
    await vectors.backfill(database, now=NOW)
    found = await _retrieve(database, persona_id, "how's your pet?", k=3)
    # Full text has nothing: the meaning list alone, the cat first in it and in the results.
    assert found[0].memory.id == cat
    assert found[0].positions == (None, 1)
    assert found[0].relevant and found[0].relevance > 0
    # Only what is near enough counts as found by meaning; the rest fills by recency, importance and strength.
    floor = rules.meaning_floor()
    async with database.reads() as session:
        near = dict(await vectors.vector_candidates(session, persona_id, "how's your pet?", k=len(ids)))
    for result in found:
        assert (result.positions[1] is not None) == (near[result.memory.id] >= floor)
    # /memory search by relevance shows it, and only what meaning or words found.
    async with database.reads() as session:
        shown = await memories.search(session, persona_id, "how's your pet?", k=10, now=NOW, order="relevance")
    assert shown[0].memory.id == cat
    assert all(r.relevant for r in shown)


async def test_a_memory_forgotten_by_another_process_is_not_filled_in_by_meaning(database: Database) -> None:
    persona_id, ids = await _store(database, *OTHERS, "my cat Tom caught a mouse")
    cat = ids[-1]
    await vectors.backfill(database, now=NOW)
    assert (await _retrieve(database, persona_id, "how's your pet?", k=3))[0].memory.id == cat
    held = vectors.held_vectors(persona_id)
    assert held is not None and cat in held.rows
    async with database.engine.begin() as connection:  # another process: this one's hooks never hear of it
        await connection.execute(text("DELETE FROM memory_embeddings WHERE memory_id = :id"), {"id": cat})
        await connection.execute(text("DELETE FROM memories WHERE id = :id"), {"id": cat})
    found = await _retrieve(database, persona_id, "how's your pet?", k=3)
    assert cat not in [r.memory.id for r in found] and len(found) == 3
    assert cat not in held.rows  # let go of once the search found it gone


async def test_meaning_fills_only_the_places_full_text_leaves(database: Database) -> None:
    persona_id, ids = await _store(
        database, "my pet rock sits on the shelf", *OTHERS, "my cat Tom caught a mouse", "my dog loves long walks"
    )
    rock, cat, dog = ids[0], ids[-2], ids[-1]
    await vectors.backfill(database, now=NOW)
    # One place, and a memory with the word: no meaning list at all.
    [only] = await _retrieve(database, persona_id, "how's your pet?", k=1)
    assert only.memory.id == rock and only.positions == (1,)
    # More places than full text fills: the nearest in meaning fill them, and every text match stays.
    found = await _retrieve(database, persona_id, "how's your pet?", k=5)
    text_matches = {r.memory.id for r in found if r.positions[0] is not None}
    assert found[0].memory.id == rock and rock in text_matches
    assert {cat, dog} <= {r.memory.id for r in found}


async def test_memories_found_by_meaning_alone_never_push_a_text_match_out(
    database: Database, server: FakeModelServer
) -> None:
    # A server whose vectors put every animal next to the question and the "pet" notes far from it: meaning alone
    # would rank the animals above the notes.
    server.embed = lambda text: [1.0, 0.0] if any(w in text for w in ("cat", "dog", "pup", "pet?")) else [0.0, 1.0]
    vectors.configure(ServerEmbedder(server.base_url, "fake-embed"))
    persona_id = await _persona(database)
    texts = ["pet note one: a rock", "pet note two: a shell", "pet note three: a stamp", "my cat", "my dog", "my pup"]
    ids: list[int] = []
    async with database.transaction() as session:
        for hours, content in enumerate(texts):  # hours apart: each memory a conversation of its own
            record = await memories.capture(
                session, persona_id, content=content, category="conversation", importance=5,
                source_user_id=7, source_channel_id=10, source_message_id=20 + hours,
                now=NOW - timedelta(hours=hours),
            )  # fmt: skip
            ids.append(record.id)
    assert await vectors.backfill(database, now=NOW) == len(texts)
    notes, animals = set(ids[:3]), set(ids[3:])
    words_order = [r.memory.id for r in await _retrieve(database, persona_id, "how's your pet?", k=3)]
    assert set(words_order) == notes
    for k in range(1, 7):
        ranked = [r.memory.id for r in await _retrieve(database, persona_id, "how's your pet?", k=k)]
        found = set(ranked)
        assert len(found) == k
        assert found & notes == notes if k >= 3 else found <= notes, (k, found)
        assert len(found & animals) == max(0, k - 3)
        # The word matches first, in the order they have without meaning; what meaning found after them.
        assert ranked[: min(k, 3)] == words_order[: min(k, 3)], (k, ranked)


async def test_a_slow_embedding_server_never_holds_a_search(
    database: Database, server: FakeModelServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    vectors.configure(ServerEmbedder(server.base_url, "fake-embed"))
    persona_id, ids = await _store(database, *OTHERS, "my cat Tom caught a mouse")
    assert await vectors.backfill(database, now=NOW) == len(ids)
    assert (await _retrieve(database, persona_id, "Tom the cat", k=1))[0].memory.id == ids[-1]
    monkeypatch.setattr(vectors, "QUERY_EMBED_SECONDS", 0.2)
    monkeypatch.setattr(vectors, "_queries_resume_at", 0.0)
    server.embedding_delay = 5.0
    asked = len(server.embedding_requests)
    started = asyncio.get_running_loop().time()
    with caplog.at_level(logging.WARNING, logger="bot.llm.embeddings"):
        found = await _retrieve(database, persona_id, "how's your pet?", k=3)
        await _retrieve(database, persona_id, "a pet mouse?", k=3)
    assert asyncio.get_running_loop().time() - started < 2.0
    assert len(found) == 3 and all(r.positions == (None,) for r in found)  # full text's candidates alone
    assert len(server.embedding_requests) == asked + 1  # after a slow answer, the server is left alone a while
    warnings = [r.getMessage() for r in caplog.records if r.name == "bot.llm.embeddings"]
    assert len(warnings) == 1 and "(slow)" in warnings[0], warnings


async def test_pages_of_a_search_agree_when_meaning_fills_the_later_ones(database: Database) -> None:
    persona_id, ids = await _store(
        database, "my pet rock sits on the shelf", "the pet shop closed early", "pet food costs more each year",
        *OTHERS, "my cat Tom caught a mouse", "my dog loves long walks",
    )  # fmt: skip
    # The cat matters more than the dog, though the dog is nearer the question in meaning: recency, importance and
    # strength must not reorder what meaning found (a longer page would show one twice and the other never).
    async with database.transaction() as session:
        for memory_id, importance in ((ids[-2], 10), (ids[-1], 1)):
            await session.execute(
                update(models.Memory).where(models.Memory.id == memory_id).values(importance=importance)  # type: ignore[arg-type]
            )
    await vectors.backfill(database, now=NOW)
    async with database.reads() as session:
        words_only = [r.memory.id for r in await memories.search(session, persona_id, "how's your pet?", k=3, now=NOW)]
        pages = [
            (await memories.search(session, persona_id, "how's your pet?", k=1, now=NOW, offset=offset))[0]
            for offset in range(6)
        ]
    assert set(words_only) == set(ids[:3])
    # The first pages hold the memories with the word, in the order a search with room for them alone gives; the
    # later ones, asked with more places than words fill, the nearest in meaning; none twice.
    assert [r.memory.id for r in pages[:3]] == words_only
    assert all(r.positions[0] is not None for r in pages[:3])
    assert {ids[-2], ids[-1]} <= {r.memory.id for r in pages[3:]}
    assert len({r.memory.id for r in pages}) == 6


async def test_a_corrected_memory_is_found_by_its_new_meaning_only(database: Database) -> None:
    persona_id, ids = await _store(database, *OTHERS, "my cat Tom caught a mouse")
    cat = ids[-1]
    await vectors.backfill(database, now=NOW)
    assert (await _retrieve(database, persona_id, "how's your pet?", k=1))[0].memory.id == cat
    async with database.transaction() as session:
        await receipts.correct(session, OWNER, cat, "I repaired the old bicycle in the garage")
    # The old words' vector is gone at once, from the store and from the vectors held; the backfill embeds the new.
    assert cat not in await _embedded(database)
    assert cat not in [r.memory.id for r in await _retrieve(database, persona_id, "how's your pet?", k=1)]
    assert await vectors.backfill(database, now=NOW) == 1
    async with database.reads() as session:
        assert (await vectors.vector_candidates(session, persona_id, "fixing a bike", k=1))[0][0] == cat
        pets = await vectors.vector_candidates(session, persona_id, "how's your pet?", k=len(ids))
    assert dict(pets)[cat] < rules.meaning_floor()


async def test_a_server_answering_one_vector_per_token_is_pooled_to_their_mean(
    database: Database, server: FakeModelServer
) -> None:
    """llama.cpp's server answers a model with no pooling of its own (a chat model) with a vector per token: the
    memory's vector is their mean, and meaning then finds it."""
    server.embedding_per_token = True
    embedder = ServerEmbedder(server.base_url, "fake-embed")
    words = "my cat Tom caught a mouse".split()
    (pooled,) = await embedder.embed([" ".join(words)])
    assert pooled == pytest.approx([sum(column) / len(words) for column in zip(*map(hashed_words, words), strict=True)])
    assert embedder.dim == EMBEDDING_DIM
    vectors.configure(embedder)
    persona_id, ids = await _store(database, " ".join(words), *OTHERS)
    assert await vectors.backfill(database, now=NOW) == len(ids)
    assert set((await _embedded(database)).values()) == {("server:fake-embed", EMBEDDING_DIM)}
    assert (await _nearest(database, persona_id, "a mouse"))[0][0] == ids[0]
    # Once the server is known to answer per token, requests are small (each answer is parsed on the loop).
    server.embedding_requests.clear()
    assert len(await embedder.embed(["a cat"] * (PER_TOKEN_BATCH * 2 + 1))) == PER_TOKEN_BATCH * 2 + 1
    assert [len(r["input"]) for r in server.embedding_requests] == [PER_TOKEN_BATCH, PER_TOKEN_BATCH, 1]
