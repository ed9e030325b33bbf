"""LoCoMo: how well a persona's memory finds what a question needs, against BM25 and recency alone (issue 20).

Each conversation of the data set (``bench/locomo.py``: where to get it, how it is read) becomes one persona
through the native import (``/persona import``'s path: :func:`bot.services.portability.read_upload` then
:func:`~bot.services.portability.import_upload`), each turn one memory ``Speaker: text`` made when its session
took place; then the bot's background work for new memories is done (the embeddings backfill, where the code has
embeddings). Each question (categories 1-4) is then asked as the chat path asks its memories for a message: the query
:func:`bot.services.conversation.remembering.retrieval_query` makes of it, searched by the planner's own retrieval
(``recalling.prompt_memories``, with the persona's weights as the cast reads them, nothing marked recalled) with 25
results instead of the prompt's ``MEMORY_K``, at a fixed moment: a day after the conversation's last session
(``persona``), and a year after it (``persona_year``: what idleness does to recency); and, beside, as ``/memory
search`` finds it when the question is typed there (``search``, a day after). Whatever ranking the code has is what
is measured.

Figures: recall@5, @10 and @25 of the evidence turns, per category and over all scored questions (``all``), for the
persona and, in the same run on the same turns, two baselines: Okapi BM25 (k1 1.2, b 0.75) over the question's
words (``bm25``) and over the chat path's query words (``bm25_query``: what the query keeps), and the newest turns
first (``recency``). Diagnostics of the persona's top 10: the share of slots from each conversation's final two
sessions (against the share of memories and of evidence they hold) and the share showing relevance 0.00.

``python -m bench locomo --data FOLDER`` (or ``PERSONA_HUB_LOCOMO=FOLDER``); without the data set it says how to
get it and measures nothing. SQLite, and PostgreSQL when configured (``bench/common.py``). The memories are embedded
by the embedded default; with ``--embeddings URL --embedding-model NAME`` (an OpenAI-compatible server's base URL,
``.../v1``, and its embedding model; ``--embeddings-timeout SECONDS`` per request, 600 by default) by that server
instead, and the persona's figures are named ``..._server``.
"""

from __future__ import annotations

import importlib
import os
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import col, select

from bench.common import database_kinds, fresh_database, note, percentile, report
from bench.locomo import (
    BM25,
    CATEGORY_NAMES,
    HOW_TO,
    Conversation,
    Slots,
    Tally,
    data_path,
    load,
    native_document,
    persona_name,
    recency_order,
)
from bot.core.ownership import Actor
from bot.db import models
from bot.db.engine import Database
from bot.services import memories, portability
from bot.services.conversation import recalling
from bot.services.conversation.remembering import retrieval_query

OWNER = Actor(user_id=900_000_000_000_000_020, guild_id=200_000_000_000_000_020)
DEPTH = 25  # results asked for: the largest k measured
SLOTS = 10  # the top slots the diagnostics look at
DAY, YEAR = timedelta(days=1), timedelta(days=365)
# The persona's systems: how it is asked (the chat path, or /memory search with the question as typed) and when.
ASKED = {"persona": ("chat", DAY), "persona_year": ("chat", YEAR), "search": ("search", DAY)}
BASELINES = ("bm25", "bm25_query", "recency")


@dataclass
class Results:
    """What one run measured: recall per system, the persona's top-10 slots per system, the chat path's retrieval
    times, and how much of the memories and of the evidence the final two sessions hold."""

    tallies: dict[str, Tally] = field(default_factory=lambda: {s: Tally() for s in (*ASKED, *BASELINES)})
    slots: dict[str, Slots] = field(default_factory=lambda: {s: Slots() for s in ASKED})
    durations_ms: list[float] = field(default_factory=list)
    embedded: int | None = None  # memories the embeddings backfill embedded (None: this code has no embeddings)
    memories: int = 0
    final_two_memories: int = 0
    evidence: int = 0
    final_two_evidence: int = 0


async def import_conversation(
    database: Database, conversation: Conversation, *, now: datetime, max_per_user: int
) -> tuple[int, list[int]]:
    """The conversation imported as a new persona (``/persona import``'s two steps): the persona's id and its
    memory ids, turn by turn."""
    data = portability.document_to_json(native_document(conversation, exported_at=now))
    upload = await portability.read_upload(data, "locomo.json", now=now)
    async with database.transaction() as session:
        imported = await portability.import_upload(session, OWNER, upload, now=now, max_per_user=max_per_user)
        memory = models.Memory
        query = select(col(memory.id), col(memory.content)).where(col(memory.persona_id) == imported.record.id)
        rows = (await session.execute(query.order_by(col(memory.id)))).all()
    if [content for _, content in rows] != [turn.content for turn in conversation.turns]:
        raise RuntimeError(f"conversation {conversation.name}: the imported memories are not its turns in order")
    return imported.record.id, [memory_id for memory_id, _ in rows if memory_id is not None]


async def settle(database: Database, *, now: datetime) -> int | None:
    """What the bot's background work does for imported memories before anyone asks: their embeddings (the backfill
    job, ``bot.services.memories.vectors.backfill``) where this code has them. How many it embedded; None without
    embeddings."""
    name = "bot.services.memories.vectors"
    try:
        vectors = importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name != name:
            raise
        return None
    backfill = getattr(vectors, "backfill", None)
    return None if backfill is None else int(await backfill(database, now=now))


async def chat_retrieval(
    database: Database, persona_id: int, message: str, *, name: str, now: datetime, k: int = DEPTH
) -> list[memories.RetrievedMemory]:
    """The memories the chat path retrieves for ``message`` to persona ``persona_id`` called ``name``
    (``recalling.prompt_memories`` with the query and weights the planner gives it), ``k`` of them instead of the
    prompt's ``recalling.MEMORY_K``; none for a message with no query words, as in the planner."""
    query = retrieval_query(message, name)
    if not query:
        return []
    async with database.reads() as session:
        weights = (await memories.retrieval_weights(session, [persona_id]))[persona_id]
        prompt_k = recalling.MEMORY_K
        recalling.MEMORY_K = k
        try:
            return await recalling.prompt_memories(session, persona_id, query, now=now, key=None, weights=weights)
        finally:
            recalling.MEMORY_K = prompt_k


async def search_retrieval(
    database: Database, persona_id: int, question: str, *, now: datetime, k: int = DEPTH
) -> list[memories.RetrievedMemory]:
    """What ``/memory search`` finds for ``question`` as typed (its first ``k`` results)."""
    async with database.reads() as session:
        return await memories.search(session, persona_id, question, k=k, now=now)


def _baselines(conversation: Conversation, results: Results) -> None:
    turns = conversation.turns
    dia = [turn.dia_id for turn in turns]
    bm25 = BM25([turn.content for turn in turns])
    newest = [dia[index] for index in recency_order(turns)]
    name = persona_name(conversation)
    for question in conversation.questions:
        results.tallies["bm25"].add(question, [dia[i] for i in bm25.rank(question.text, DEPTH)])
        query = retrieval_query(question.text, name)
        results.tallies["bm25_query"].add(question, [dia[i] for i in bm25.rank(query, DEPTH)])
        results.tallies["recency"].add(question, newest)


def _count_sessions(conversation: Conversation, results: Results) -> None:
    final = conversation.final_sessions()
    session_of = {turn.dia_id: turn.session for turn in conversation.turns}
    results.memories += len(conversation.turns)
    results.final_two_memories += sum(1 for turn in conversation.turns if turn.session in final)
    for question in conversation.questions:
        results.evidence += len(question.evidence)
        results.final_two_evidence += sum(1 for dia_id in question.evidence if session_of[dia_id] in final)


async def _ask(
    database: Database, conversation: Conversation, ids: Sequence[int], persona_id: int, results: Results
) -> None:
    dia_of = {memory_id: turn.dia_id for memory_id, turn in zip(ids, conversation.turns, strict=True)}
    session_of = {turn.dia_id: turn.session for turn in conversation.turns}
    final = conversation.final_sessions()
    name = persona_name(conversation)
    for system, (path, later) in ASKED.items():
        now = conversation.last_session + later
        for question in conversation.questions:
            started = time.perf_counter()
            if path == "chat":
                found = await chat_retrieval(database, persona_id, question.text, name=name, now=now)
                results.durations_ms.append((time.perf_counter() - started) * 1000)
            else:
                found = await search_retrieval(database, persona_id, question.text, now=now)
            ranked = [dia_of[r.memory.id] for r in found]
            results.tallies[system].add(question, ranked)
            slots = results.slots[system]
            for result, dia_id in zip(found[:SLOTS], ranked[:SLOTS], strict=True):
                slots.total += 1
                slots.final_two += session_of[dia_id] in final
                # As /memory search shows it: relevance 0.00. A ranking without this part counts none.
                slots.zero_relevance += getattr(result, "relevance", 1.0) < 0.005


async def evaluate(database: Database, conversations: Sequence[Conversation]) -> Results:
    """Every conversation imported into ``database`` and every scored question asked; the baselines beside."""
    results = Results()
    for conversation in conversations:
        imported_at = conversation.last_session + DAY
        persona_id, ids = await import_conversation(
            database, conversation, now=imported_at, max_per_user=len(conversations)
        )
        embedded = await settle(database, now=imported_at)
        if embedded is not None:
            results.embedded = (results.embedded or 0) + embedded
        await _ask(database, conversation, ids, persona_id, results)
        _baselines(conversation, results)
        _count_sessions(conversation, results)
    return results


def _report_recall(prefix: str, tally: Tally, suffix: str = "") -> None:
    for name, value in tally.figures().items():
        report(f"locomo_{prefix}_{name}{suffix}", value, "recall")


def report_results(results: Results, kind: str, *, baselines: bool) -> None:
    """The figures of one run (``BENCH`` lines): the persona's on ``kind``, the baselines' when asked."""
    if baselines:
        for system in BASELINES:
            _report_recall(system, results.tallies[system])
        report("locomo_final_two_memories", 100.0 * results.final_two_memories / max(1, results.memories), "%")
        report("locomo_final_two_evidence", 100.0 * results.final_two_evidence / max(1, results.evidence), "%")
    for system in ASKED:
        _report_recall(system, results.tallies[system], f"_{kind}")
        slots = results.slots[system]
        report(f"locomo_{system}_top{SLOTS}_final_two_{kind}", slots.share(slots.final_two), "%")
        report(f"locomo_{system}_top{SLOTS}_zero_relevance_{kind}", slots.share(slots.zero_relevance), "%")
    bm25 = results.tallies["bm25"].recall(10)
    ratio = results.tallies["persona"].recall(10) / bm25 if bm25 else 0.0
    report(f"locomo_persona_vs_bm25_recall10_{kind}", ratio, "x")
    if results.durations_ms:
        report(f"locomo_retrieve_{kind}_p50", percentile(results.durations_ms, 0.50), "ms")
        report(f"locomo_retrieve_{kind}_p99", percentile(results.durations_ms, 0.99), "ms")


def _server_embeddings(options: Mapping[str, str] | None) -> str:
    """Embed with the model server the options name (``--embeddings URL --embedding-model NAME``): the suffix of
    the persona's figures ("_server"), or "" for the embedded default."""
    url, model = (options or {}).get("embeddings"), (options or {}).get("embedding-model")
    if not url:
        return ""
    if not model:
        raise SystemExit("bench locomo: --embeddings needs --embedding-model NAME (the server's embedding model)")
    from bot.llm.embeddings import ServerEmbedder
    from bot.services.memories import vectors

    # A request embeds up to 256 turns: a small model on this machine's CPU takes about half a minute for that.
    vectors.configure(ServerEmbedder(url, model, timeout_seconds=float((options or {}).get("embeddings-timeout", 600))))
    note(f"embeddings: {model} from the model server at {url}")
    return "_server"


async def main(options: Mapping[str, str] | None = None) -> None:
    suffix = _server_embeddings(options)
    path = data_path(options, os.environ)
    conversations = load(path) if path is not None else []
    if not conversations:
        where = "no data set given" if path is None else f"no LoCoMo conversation in {path}"
        note(f"LoCoMo figures skipped: {where}.")
        note(HOW_TO)
        return
    questions = sum(len(c.questions) for c in conversations)
    turns = sum(len(c.turns) for c in conversations)
    asked = Counter(q.category for c in conversations for q in c.questions)
    counts = ", ".join(f"{name} {asked[category]}" for category, name in CATEGORY_NAMES.items())
    note(f"{len(conversations)} conversations, {turns:,} turns, {questions:,} scored questions ({counts})")
    for index, kind in enumerate(database_kinds()):
        started = time.perf_counter()
        async with fresh_database(kind) as database:
            results = await evaluate(database, conversations)
        note(f"{kind}: imported and asked in {time.perf_counter() - started:.1f} s")
        vectors = "none in this code" if results.embedded is None else f"{results.embedded:,} memories embedded"
        note(f"{kind}: embeddings: {vectors}")
        report_results(results, kind + suffix, baselines=index == 0)
