"""Reading retrieval's candidates from the database, per dialect: the best full-text matches (SQLite: FTS5's bm25
over ``memories_fts``; PostgreSQL: the summed IDF of the query words each match holds, over the stored
``content_search`` vector), the hot memories when the matches cannot fill the results, and the memories right before
and after the best matches with the conversation context they lend (``bot.core.memory.context``). What is read is
ranked by :mod:`bot.services.memories.retrieval` (docs/retrieval.md)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache, partial
from typing import Any

from sqlalchemy import TextClause, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import memory as rules
from bot.db.sqlite_inline import on_session
from bot.services.memories import records

# Retrieval candidates: the best full-text matches of every tier (cold ones come back to warm when recalled), this
# many, or twice the results asked for (pages included) when that is more (text_limit) ... Each candidate costs some
# 10 us on the chat path (its row, its context, its score); measured on LoCoMo, 70 recall as well as 100 (recall@10
# 0.695 / 0.705 on SQLite / PostgreSQL against 0.695 / 0.707): a prompt's 6 come from the best 39 after context
# (docs/retrieval.md, "bounded reordering": 1 + beta <= 1.5), and a match further down rarely gains that much from
# its conversation.
TEXT_CANDIDATES = 70
# ... and never more than this many, however deep the page (/memory search's last page, 100, needs 1,001 results).
MAX_TEXT_CANDIDATES = 2_002
# ... and, when they are fewer than the results asked for, every hot memory (at most this many, most recently used
# first).
HOT_CANDIDATES = 500


def _fts5_query(words: Sequence[str]) -> str:
    # Each word a quoted phrase (no FTS5 syntax can leak in), any of them may match.
    return " OR ".join('"' + word.replace('"', '""') + '"' for word in words)


# The start of a memory's text read with the candidates: where the speaker's name stands (bot.core.memory.context).
HEAD_CHARS = 64
# PostgreSQL: how many memories at most are read for each query word (beyond it, the word counts as held by this
# many: its weight is then an upper bound, below every rarer word's).
WORD_MATCH_LIMIT = 2000
_CANDIDATE_COLUMNS = ("id", "importance", "strength", "source_channel_id")
_BY_ORDER = "INDEXED BY ix_memories_persona_order "  # SQLite: one index step per neighbour

# Every candidate row, on both databases, starts with these columns in this order: what ranking needs (when each was
# made as minutes since the epoch, the hours since its last access at ``now``, the start of its text) and its text
# score ``rel``. Ranking reads them by position: a Row's attribute costs some 0.2 µs, its index 0.01 µs, and a search
# reads several of each of a hundred candidates. PostgreSQL's rows go on with every other column (by name), then the
# best matches' neighbours.
ID, IMPORTANCE, STRENGTH, CHANNEL, HEAD, MINUTE, HOURS, REL = range(8)
# SQLite: julianday counts days from 4714 BC; 2440587.5 is the epoch.
_SQLITE_HOURS = "(julianday(:now) - julianday(m.last_accessed_at)) * 24.0 AS hours"
_SQLITE_MINUTE = "(julianday(m.created_at) - 2440587.5) * 1440.0 AS minute"
_PG_HOURS = "CAST(EXTRACT(EPOCH FROM (CAST(:now AS TIMESTAMPTZ) - m.last_accessed_at)) / 3600.0 AS DOUBLE PRECISION)"
_PG_MINUTE = "CAST(EXTRACT(EPOCH FROM m.created_at) / 60.0 AS DOUBLE PRECISION)"
_HEAD = f"substr(m.content, 1, {HEAD_CHARS}) AS head"
_LEAD = ", ".join([*(f"m.{name} AS {name}" for name in _CANDIDATE_COLUMNS), _HEAD])
_SELECT_C = f"{_LEAD}, {_SQLITE_MINUTE}, {_SQLITE_HOURS}"
_SELECT_C_PG = f"{_LEAD}, {_PG_MINUTE} AS minute, {_PG_HOURS} AS hours"
_REST_PG = ", ".join(f"m.{name} AS {name}" for name in records.COLUMNS if name not in _CANDIDATE_COLUMNS)


# Candidates by id: (row; its text rank, or -1 / -2 for none); each best match's (before, after) neighbours.
Found = dict[int, tuple[Any, float]]
Neighbours = dict[int, tuple[int | None, int | None]]
# What read_candidates answers: the candidates, whether their rows hold every column, the best matches' neighbours.
Candidates = tuple[Found, bool, Neighbours]


def _sqlite_moment(now: datetime) -> str:
    """``now`` as SQLite keeps a UTC moment (naive, ISO), for julianday."""
    return now.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


@lru_cache(maxsize=64)
def _statement(sql: str, *, ids: bool = False) -> TextClause:
    """``sql`` as a statement, kept, so that each retrieval neither builds it nor its cache key again (the SQL depends
    on the dialect and the number of query words only); ``ids``: an expanding ``:ids``. Untyped: its rows are read by
    position and hold what the driver gives (numbers and text; on PostgreSQL also the UTC datetimes of the whole rows),
    which saves SQLAlchemy a result processor per column (about 0.1 ms for a hundred candidates)."""
    statement = text(sql)
    return statement.bindparams(bindparam("ids", expanding=True)) if ids else statement


def _pg_ranked(words: Sequence[str], params: dict[str, Any]) -> str:
    """PostgreSQL's ranking of the text matches: the inverse document frequency, among the persona's matching
    memories, of each query word a memory holds, summed (``ts_rank`` weighs a name every memory holds as much as a
    rare word, and reads each memory's positions once per word), as CTEs ``q`` (each word's query), ``hits`` (each
    word's matches, at most ``WORD_MATCH_LIMIT`` + 1 of them), ``idf`` (each word's, computed once) and ``ranked``
    (the best ``text_limit``, with ``rel``); ties go to the older memory.

    Each word is searched on its own, so a word most memories hold reads a bounded number of them and never crowds
    out a rarer word's matches; its document frequency then counts as the limit, a lower bound, so every rarer word
    still weighs more."""
    params["word_limit"] = WORD_MATCH_LIMIT + 1
    singles, hits, counts, idfs, terms = [], [], [], [], []
    for n, word in enumerate(words):
        # The word's stems, keyed by the persona (migration 0027): matched in the persona's own posting lists.
        params[f"w{n}"] = word
        singles.append(f"memory_search_query(:p, :w{n}) AS q{n}")
        hits.append(f"(SELECT t.id, {n} AS w FROM memories AS t, q WHERE t.content_search @@ q.q{n} LIMIT :word_limit)")
        counts.append(f"CAST(count(*) FILTER (WHERE w = {n}) AS DOUBLE PRECISION) AS d{n}")
        idfs.append(f"ln(1.0 + (c.n - c.d{n} + 0.5) / (c.d{n} + 0.5)) AS i{n}")
        terms.append(f"WHEN {n} THEN idf.i{n}")
    return (
        f"q AS MATERIALIZED (SELECT {', '.join(singles)}), "
        f"hits AS MATERIALIZED ({' UNION ALL '.join(hits)}), "
        # n: the persona's memories (a cached count: _persona_size), never fewer than the matches counted; every
        # number a double precision (not numeric, which is slow).
        f"idf AS MATERIALIZED (SELECT {', '.join(idfs)} FROM (SELECT "
        f"GREATEST(CAST(:n AS DOUBLE PRECISION), CAST(count(DISTINCT id) AS DOUBLE PRECISION)) AS n, "
        f"{', '.join(counts)} FROM hits) AS c), "
        f"ranked AS (SELECT hits.id, CAST(sum(CASE hits.w {' '.join(terms)} END) AS DOUBLE PRECISION) AS rel "
        "FROM hits, idf GROUP BY hits.id ORDER BY rel DESC, hits.id LIMIT :text_limit)"
    )


# PostgreSQL: each persona's number of memories (the IDF's N), counted at most once per PERSONA_SIZE_TTL of the
# callers' ``now`` per database (counting 100,000 memories takes about 8 ms; the weights hardly move meanwhile).
PERSONA_SIZE_TTL = timedelta(minutes=5)
_PERSONA_SIZES_KEPT = 10_000
_persona_sizes: dict[tuple[int, int], tuple[datetime, int]] = {}


async def _persona_size(session: AsyncSession, persona_id: int, now: datetime) -> int:
    key = (id(session.get_bind()), persona_id)
    kept = _persona_sizes.get(key)
    if kept is not None and abs(now - kept[0]) < PERSONA_SIZE_TTL:
        return kept[1]
    count = await session.execute(text("SELECT count(*) FROM memories WHERE persona_id = :p"), {"p": persona_id})
    size = int(count.scalar_one())
    if len(_persona_sizes) >= _PERSONA_SIZES_KEPT:
        _persona_sizes.clear()
    _persona_sizes[key] = (now, size)
    return size


def text_limit(need: int) -> int:
    """How many full-text matches are read for ``need`` results (the pages before included), bounded whatever the
    page asked for."""
    return min(MAX_TEXT_CANDIDATES, max(TEXT_CANDIDATES, 2 * need))


async def read_candidates(
    session: AsyncSession, persona_id: int, words: Sequence[str], now: datetime, need: int
) -> Candidates:
    """(row; raw text rank, -1 for no match, -2 for a memory read only as a best match's neighbour) for the best text
    matches and, when they are fewer than ``need`` (the results asked for, with the pages before), every hot memory
    (bounded); whether the rows hold every column; and the best matches' (before, after) neighbours. Every row has
    its ``hours`` since its last access at ``now``.

    The hot memories are read only to fill the results: every match ranks above every memory that matches nothing
    (``bot.core.memory.ranking``), so with ``need`` matches no hot memory that does not match can be chosen.

    SQLite (:func:`read_sqlite`): only what ranking needs (id, importance, strength, hours, channel, when made, the
    head of the text), the full rows of the few chosen are read afterwards (a second query costs nothing there).
    PostgreSQL: every column, in one round trip."""
    if session.get_bind().dialect.name == "sqlite":
        return await _sqlite_read(session, persona_id, words, now, need)
    params: dict[str, Any] = {"p": persona_id, "hot_limit": HOT_CANDIDATES, "text_limit": text_limit(need)}
    if not words:
        hot_sql = (
            f"SELECT {_SELECT_C_PG}, CAST(-1 AS DOUBLE PRECISION) AS rel, {_REST_PG} FROM memories AS m "
            "WHERE m.persona_id = :p AND m.tier = 'hot' ORDER BY m.last_accessed_at DESC LIMIT :hot_limit"
        )
        rows = (await session.execute(_statement(hot_sql), params | {"now": now})).all()
        return {row[ID]: (row, -1.0) for row in rows}, True, {}
    params["n"] = await _persona_size(session, persona_id, now)
    found, neighbours = await _pg_candidates(session, words, params | {"need": need, "now": now})
    return found, True, neighbours


async def _sqlite_read(
    session: AsyncSession, persona_id: int, words: Sequence[str], now: datetime, need: int
) -> Candidates:
    """:func:`read_sqlite` on the session's connection, with the word counts kept."""
    database = id(session.get_bind())
    known = _known_counts(database, words, now)
    moment = _sqlite_moment(now)
    work = partial(read_sqlite, persona_id=persona_id, words=words, moment=moment, need=need, known=known)
    read = await on_session(session, work)
    _keep_counts(database, read.counted, now)
    return read.found, False, read.neighbours


# SQLite: at most about this many full-text matches are ranked per search (bm25 reads each one: 50,000 matches of one
# word take some 70 ms). The query's commonest words are left out while its words together match more (among every
# persona's memories: the search reads them all); when even its rarest word matches more, only that word's
# MATCH_BUDGET most recent matches are ranked. PostgreSQL: WORD_MATCH_LIMIT.
MATCH_BUDGET = 2000


@lru_cache(maxsize=32)
def _probe(count: int) -> str:
    """How many memories match each of ``count`` words (:w0, :w1, ...), each counted only up to ``:cap``."""
    each = "(SELECT count(*) FROM (SELECT 1 FROM memories_fts WHERE memories_fts MATCH :w{n} LIMIT :cap))"
    return "SELECT " + ", ".join(each.format(n=n) + f" AS d{n}" for n in range(count))


# How many memories match a word (up to MATCH_BUDGET + 1), kept per database and word for WORD_COUNT_TTL of the
# callers' ``now``: a chat's words come back, and counting them is a statement of its own.
WORD_COUNT_TTL = timedelta(minutes=5)
_WORD_COUNTS_KEPT = 20_000
_word_counts: dict[tuple[int, str], tuple[datetime, int]] = {}


def _known_counts(database: int, words: Sequence[str], now: datetime) -> dict[str, int]:
    known: dict[str, int] = {}
    for word in words:
        kept = _word_counts.get((database, word))
        if kept is not None and abs(now - kept[0]) < WORD_COUNT_TTL:
            known[word] = kept[1]
    return known


def _keep_counts(database: int, counted: Mapping[str, int], now: datetime) -> None:
    """Keep the counts of words some memory holds (a count bounds the search's work). A zero is not kept: a word no
    memory holds is counted again by each search, which then leaves it out of its query; a kept zero could not tell
    it from a word some memory has come to hold since."""
    if counted and len(_word_counts) >= _WORD_COUNTS_KEPT:
        _word_counts.clear()
    for word, count in counted.items():
        if count > 0:
            _word_counts[(database, word)] = (now, count)


def _within_budget(words: Sequence[str], counts: Mapping[str, int]) -> tuple[list[str], bool]:
    """The words to search for, and whether only the most recent matches are to be ranked (every word is common)."""
    rarest_first = sorted(words, key=lambda word: counts[word])
    kept_words: set[str] = set()
    total = 0
    for word in rarest_first:
        total += counts[word]
        if total > MATCH_BUDGET:
            break
        kept_words.add(word)
    if not kept_words:
        return [rarest_first[0]], True
    return [word for word in words if word in kept_words], False


# One search over every tier: it ranks the hot memories that match too (ranking them separately with "rowid IN
# (...)" made FTS5 evaluate the whole match a second time). FTS5's rank column (bm25 by default), computed once per
# match, and the ordering left to FTS5: about 0.8 ms less than ordering by bm25() at 100,000 memories.
_TEXT_SQL = (
    f"SELECT {_SELECT_C}, -memories_fts.rank AS rel FROM memories_fts "
    "JOIN memories AS m ON m.id = memories_fts.rowid "
    "WHERE memories_fts MATCH :q AND m.persona_id = :p "
    "ORDER BY memories_fts.rank LIMIT :text_limit"
)
# Every word common: bm25 for the most recent MATCH_BUDGET matches only.
_RECENT_TEXT_SQL = (
    f"SELECT {_SELECT_C}, -f.rank AS rel FROM (SELECT rowid AS id, rank FROM memories_fts "
    "WHERE memories_fts MATCH :q ORDER BY rowid DESC LIMIT :budget) AS f "
    "JOIN memories AS m ON m.id = f.id WHERE m.persona_id = :p ORDER BY f.rank LIMIT :text_limit"
)
_HOT_SQL = (  # rel -1: not a text match
    # INDEXED BY: without statistics the planner would walk (persona_id, last_accessed_at) for the ORDER BY and read
    # every memory of the persona to find the few hot ones.
    f"SELECT {_SELECT_C}, -1.0 AS rel FROM memories AS m INDEXED BY ix_memories_persona_tier "
    "WHERE m.persona_id = :p AND m.tier = 'hot' "
    "ORDER BY m.last_accessed_at DESC LIMIT :hot_limit"
)


@dataclass(frozen=True)
class SqliteRead:
    """What :func:`read_sqlite` read: the candidates (a memory read only as a best match's neighbour has rank -2),
    each best match's (before, after) neighbours, and how many memories match each word it had to count."""

    found: Found
    neighbours: Neighbours
    counted: dict[str, int]


def read_sqlite(
    connection: sqlite3.Connection,
    persona_id: int,
    words: Sequence[str],
    moment: str,
    need: int,
    known: Mapping[str, int],
) -> SqliteRead:
    """SQLite's candidates, as :func:`read_candidates` describes them, with the best matches' neighbours, in plain
    ``sqlite3`` on the session's own connection (``bot.db.sqlite_inline.on_session``): three or four statements
    and a hundred rows that SQLAlchemy would only pass through (about 0.3 ms less per retrieval, at any size).
    ``moment``: now, as SQLite keeps a moment; ``known``: how many memories match the words already counted."""
    params: dict[str, Any] = {
        "p": persona_id, "now": moment, "hot_limit": HOT_CANDIDATES, "text_limit": text_limit(need)
    }  # fmt: skip
    found: Found = {}
    counted: dict[str, int] = {}
    if words:
        unknown = [word for word in words if word not in known]
        if unknown:
            probe: dict[str, Any] = {f"w{n}": _fts5_query([word]) for n, word in enumerate(unknown)}
            probe["cap"] = MATCH_BUDGET + 1
            row = connection.execute(_probe(len(unknown)), probe).fetchone()
            counted = {word: int(count) for word, count in zip(unknown, row, strict=True)}
        # A word no memory holds adds nothing to any score (bm25 sums over the query's words), but FTS5 would still
        # weigh it for every match: it is left out, and with it the whole search when no word matches. Only a count
        # made now says "none" (a zero is never kept: a memory holding the word may come any moment).
        held = [word for word in words if counted.get(word, 1) > 0]
        if held:
            searched, recent_only = _within_budget(held, {**known, **counted})
            params["q"], params["budget"] = _fts5_query(searched), MATCH_BUDGET
            for row in connection.execute(_RECENT_TEXT_SQL if recent_only else _TEXT_SQL, params):
                found[row[ID]] = (row, max(0.0, float(row[REL])))
    if len(found) < need:
        for row in connection.execute(_HOT_SQL, params):
            found.setdefault(row[ID], (row, -1.0))
    best = _best_matches(found)
    neighbours: Neighbours = {}
    if best:
        neighbours = _read_neighbours(connection, found, best, params)
    return SqliteRead(found, neighbours, counted)


def _best_matches(found: Found) -> list[int]:
    """The ids of the best text matches (highest rank first; ties: the older memory), those whose neighbours lend
    and borrow context (``context_matches`` of them)."""
    matched = sorted((i for i, (_, rank) in found.items() if rank > 0), key=lambda i: (-found[i][1], i))
    return matched[: rules.context_parameters().context_matches]


async def read_listed(session: AsyncSession, persona_id: int, ids: Sequence[int], now: datetime) -> list[Any]:
    """The candidate rows (the layout of :func:`read_candidates`, rel -1) of the persona's memories among ``ids``
    (e.g. an extra candidate list's that full text did not find); other personas' are left out."""
    if not ids:
        return []
    params: dict[str, Any] = {"p": persona_id, "ids": list(ids)}
    if session.get_bind().dialect.name == "sqlite":
        sql = f"SELECT {_SELECT_C}, -1.0 AS rel FROM memories AS m WHERE m.id IN :ids AND m.persona_id = :p"
        statement, params["now"] = _statement(sql, ids=True), _sqlite_moment(now)
    else:
        sql = (
            f"SELECT {_SELECT_C_PG}, CAST(-1 AS DOUBLE PRECISION) AS rel, {_REST_PG} FROM memories AS m "
            "WHERE m.id IN :ids AND m.persona_id = :p"
        )
        statement, params["now"] = _statement(sql, ids=True), now
    return list((await session.execute(statement, params)).all())


async def _pg_candidates(
    session: AsyncSession, words: Sequence[str], params: dict[str, Any]
) -> tuple[Found, Neighbours]:
    """One round trip: the best text matches of every tier (as on SQLite: a hot memory past the HOT_CANDIDATES most
    recent is still found by its words) and, when they are fewer than ``need``, the hot memories, with every column
    (a few hundred short rows at most), so the chosen need no second query. content_search: the stored vector of
    migrations 0007/0026/0027 (its stems keyed by the persona). The neighbours of the best matches come in the same
    round trip (bot.core.memory.context)."""
    params["best"] = rules.context_parameters().context_matches
    sql = (
        f"WITH {_pg_ranked(words, params)}, "
        "r1 AS MATERIALIZED (SELECT id FROM ranked ORDER BY rel DESC, id LIMIT :best), "
        f"b AS MATERIALIZED (SELECT r1.id, ({_neighbour_sql('r1', before=True)}) AS before_id, "
        f"({_neighbour_sql('r1', before=False)}) AS after_id FROM r1), "
        "h AS MATERIALIZED (SELECT h.id FROM memories AS h WHERE h.persona_id = :p AND h.tier = 'hot' "
        "AND (SELECT count(*) FROM ranked) < :need ORDER BY h.last_accessed_at DESC LIMIT :hot_limit), "
        "picked AS (SELECT id FROM h UNION SELECT id FROM ranked UNION SELECT before_id FROM b "
        "UNION SELECT after_id FROM b) "
        # rel: the text score; -1 for a hot candidate; -2 for a memory read only as a best match's neighbour.
        f"SELECT {_SELECT_C_PG}, CAST(COALESCE(ranked.rel, CASE WHEN h.id IS NULL THEN -2 ELSE -1 END) "
        f"AS DOUBLE PRECISION) AS rel, {_REST_PG}, b.before_id AS before_id, b.after_id AS after_id "
        "FROM picked JOIN memories AS m ON m.id = picked.id AND m.persona_id = :p "
        "LEFT JOIN ranked ON ranked.id = picked.id LEFT JOIN b ON b.id = picked.id "
        "LEFT JOIN h ON h.id = picked.id"
    )
    found: Found = {}
    neighbours: Neighbours = {}
    for row in (await session.execute(_statement(sql), params)).all():
        rel = float(row[REL])
        found[row[ID]] = (row, max(0.0, rel) if rel >= 0 else rel)
        before, after = row[-2], row[-1]  # the last two columns
        if before is not None or after is not None:
            neighbours[row[ID]] = (before, after)
    return found, neighbours


def _neighbour_sql(of: str, *, before: bool, index: str = "") -> str:
    """The persona's memory right before (or after) ``of.id``: one step on (persona_id, id), ordered by both columns
    so that PostgreSQL walks that index (by the primary key alone it would step over other personas' memories)."""
    op, order = ("<", "DESC") if before else (">", "ASC")
    return (
        f"SELECT x.id FROM memories AS x {index}WHERE x.persona_id = :p AND x.id {op} {of}.id "
        f"ORDER BY x.persona_id {order}, x.id {order} LIMIT 1"
    )


def with_context(words: Sequence[str], found: Found, neighbours: Neighbours) -> Found:
    """The candidates with their conversation context (``bot.core.memory.context``): the memories right before and
    right after the best text matches (``neighbours``, read with the candidates, rank -2 where read only for this)
    lend and borrow, and every text rank becomes its contextual score (-1 where no rule reached)."""
    params = rules.context_parameters()
    matched = [i for i, (_, rank) in found.items() if rank > 0]
    if not matched or params.context_matches <= 0:  # no best match, so no neighbour was read
        return found
    added = {i for i, (_, rank) in found.items() if rank < -1.5}
    # Only the matches and the best ones' neighbours can gain anything.
    reach = set(matched).union(n for pair in neighbours.values() for n in pair if n is not None and n in found)
    turns = []
    for i in reach:
        row, rank = found[i]
        turns.append(rules.ContextTurn(i, max(0.0, rank), float(row[MINUTE]), row[CHANNEL], row[HEAD] or ""))
    scores = rules.contextual_scores(turns, neighbours, words, params)
    # A neighbour read only for context stays a candidate only when a match lent it something.
    return {
        i: (row, scores[i] if scores.get(i, 0.0) > 0 else -1.0)
        for i, (row, _) in found.items()
        if i not in added or scores.get(i, 0.0) > 0
    }


def _read_neighbours(
    connection: sqlite3.Connection, found: Found, best: Sequence[int], params: Mapping[str, Any]
) -> Neighbours:
    """SQLite: the memories right before and after each of ``best`` (one query, one index step each), added to
    ``found`` (rank -2 where new); each best match's (before, after) ids."""
    read = connection.execute(_NEIGHBOURS_SQL, {"p": params["p"], "now": params["now"], "ids": json.dumps(best)})
    for row in read:
        found.setdefault(row[ID], (row, -2.0))
    # The memory right before / after each best match among those known: its true neighbour, which was just read.
    ordered = sorted(found)
    place = {memory_id: n for n, memory_id in enumerate(ordered)}
    last = len(ordered) - 1
    return {
        i: (ordered[place[i] - 1] if place[i] > 0 else None, ordered[place[i] + 1] if place[i] < last else None)
        for i in best
    }


_BEST = "FROM memories AS c WHERE c.id IN (SELECT value FROM json_each(:ids))"
_NEIGHBOURS_SQL = (
    f"SELECT {_SELECT_C}, -2.0 AS rel FROM ("
    f"SELECT ({_neighbour_sql('c', before=True, index=_BY_ORDER)}) AS id {_BEST} UNION "
    f"SELECT ({_neighbour_sql('c', before=False, index=_BY_ORDER)}) AS id {_BEST}) AS n "
    "JOIN memories AS m ON m.id = n.id WHERE m.persona_id = :p"
)
