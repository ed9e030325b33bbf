"""Conversations rolled up into summary memories, and the prompt preferring them for old periods.

:func:`summarize_persona` finds a persona's exchange memories not yet summarised, groups them into sessions (the
rules: :mod:`bot.core.memory.summaries`), and turns each finished session into one summary memory: through the
model when ``writer`` is given (the prompt ``prompts/memory/summary.j2``), extractively otherwise or when the model
fails. The summary is an ordinary memory (category ``summary``): it is retrieved, decays and can be pinned like the
others; it belongs to the person who spoke (``source_user_id``), so their forget-me takes it, and its words are
only theirs (exchanges about someone else, pinned ones and encrypted ones are never summarised). The exchanges
stay; ``memory_summary_members`` links them to their summary, so a session is summarised once.

:func:`prefer_summaries`: among the memories retrieved for a prompt, an exchange older than
:data:`OLD_AFTER` whose summary was retrieved too gives way to it (the summary already says it, in fewer tokens).

:func:`summarize_due` is the scheduled job's body (``bot.runtime.scheduling``): every persona with exchanges waiting,
a persona at a time, one transaction each.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.memory import summaries as rules
from bot.core.prompt_words import date_in_words
from bot.db import models
from bot.db.engine import Database
from bot.llm.base import ChatMessage, ChatRequest, ModelError, Provider
from bot.services.memories.recording import capture
from bot.services.memories.records import RetrievedMemory
from bot.templating.prompts import render_template

log = logging.getLogger(__name__)

OLD_AFTER = timedelta(days=7)
MAX_TURNS_READ = 2_000  # exchanges read per persona per run (the rest wait for the next run)
MAX_PERSONAS = 200  # personas summarised per run

# The model's words for a session, or None to write it extractively: (person, persona, quotes) -> summary.
Writer = Callable[[str, str, Sequence[str]], Awaitable[str | None]]

_M = models.Memory
_L = models.MemorySummaryMember


SUMMARY_TOKENS = 160


def model_writer(llm: Provider) -> Writer:
    """Summaries written by the configured model (``prompts/memory/summary.j2``)."""

    async def write(person: str, persona: str, quotes: Sequence[str]) -> str | None:
        prompt = render_template("memory/summary.j2", person=person, persona=persona, quotes=list(quotes))
        request = ChatRequest(
            system=prompt,
            messages=(ChatMessage(role="user", content=f"Summarise what {person} told you."),),
            max_tokens=SUMMARY_TOKENS,
            temperature=0.2,
        )
        try:
            return (await llm.reply(request)).text
        except ModelError as error:
            log.info("the model could not summarise a conversation: %s", error)
            return None

    return write


async def _waiting_turns(session: AsyncSession, persona_id: int) -> list[rules.Turn]:
    """The persona's exchange memories that may join a summary and have none yet, oldest first."""
    linked = select(col(_L.member_id)).where(col(_L.persona_id) == persona_id)
    query = (
        select(_M)
        .where(
            col(_M.persona_id) == persona_id,
            col(_M.category) == "conversation",
            col(_M.source_user_id).is_not(None),
            col(_M.subject_user_id).is_(None),
            col(_M.pinned).is_(False),
            col(_M.encrypted).is_(False),
            col(_M.id).not_in(linked),
        )
        .order_by(col(_M.created_at), col(_M.id))
        .limit(MAX_TURNS_READ)
    )
    rows = (await session.execute(query)).scalars().all()
    return [
        rules.Turn(
            row.id or 0, row.source_user_id or 0, row.source_channel_id, row.content, row.importance, row.created_at
        )
        for row in rows
    ]


async def _words(turns: Sequence[rules.Turn], persona_name: str, writer: Writer | None, now: datetime) -> str:
    person = rules.person_of(turns)
    when = date_in_words(turns[0].created_at, now)
    if writer is not None:
        try:
            written = await writer(person, persona_name, rules.quotes(turns))
        except Exception as error:  # a model that fails leaves the extractive summary
            log.info("the model could not summarise a conversation (%s); writing it extractively", error)
            written = None
        if written and written.strip():
            return f"Summary of a conversation with {person} {when}: {written.strip()}"
    return rules.extractive_summary(turns, person=person, when=when)


async def summarize_persona(
    session: AsyncSession, persona_id: int, *, now: datetime, writer: Writer | None = None
) -> int:
    """Summarise the persona's finished sessions not summarised yet (module docstring); how many summaries were made."""
    persona = await session.get(models.Persona, persona_id)
    if persona is None:
        return 0
    made = 0
    for group in rules.sessions(await _waiting_turns(session, persona_id)):
        if not rules.ready(group, now):
            continue
        summary = await capture(
            session,
            persona_id,
            content=await _words(group, persona.name, writer, now),
            category=rules.SUMMARY_CATEGORY,
            importance=rules.summary_importance(group),
            source_user_id=group[0].person_id,
            source_channel_id=group[0].channel_id,
            source_message_id=None,
            now=now,
        )
        row = await session.get(_M, summary.id)
        if row is not None:
            row.created_at = group[-1].created_at  # it tells of then (it is fresh: last accessed now)
        session.add_all(_L(member_id=t.memory_id, summary_id=summary.id, persona_id=persona_id) for t in group)
        made += 1
    await session.flush()
    return made


async def personas_waiting(session: AsyncSession, *, now: datetime) -> list[int]:
    """The personas with an exchange old enough to have ended a session and no summary yet (at most a run's worth)."""
    linked = select(col(_L.member_id))
    query = (
        select(col(_M.persona_id))
        .where(
            col(_M.category) == "conversation",
            col(_M.source_user_id).is_not(None),
            col(_M.subject_user_id).is_(None),
            col(_M.created_at) <= now - rules.SESSION_GAP,
            col(_M.id).not_in(linked),
        )
        .distinct()
        .limit(MAX_PERSONAS)
    )
    return [int(pid) for pid in (await session.execute(query)).scalars().all()]


async def summarize_due(database: Database, *, now: datetime, writer: Writer | None = None) -> int:
    """Every waiting persona summarised (one transaction each); how many summaries were made in all."""
    async with database.session() as session:
        waiting = await personas_waiting(session, now=now)
    made = 0
    for persona_id in waiting:
        async with database.transaction() as session:
            made += await summarize_persona(session, persona_id, now=now, writer=writer)
    return made


async def without_summarised(
    session: AsyncSession, found: Sequence[RetrievedMemory], *, now: datetime
) -> list[RetrievedMemory]:
    """:func:`prefer_summaries` for what a prompt retrieved (a query only when a summary is among it)."""
    if not any(r.memory.category == rules.SUMMARY_CATEGORY for r in found):
        return list(found)
    links = await summary_links(session, [r.memory.id for r in found if r.memory.category == "conversation"])
    return prefer_summaries(found, links, now=now)


async def summary_links(session: AsyncSession, member_ids: Sequence[int]) -> dict[int, int]:
    """Exchange memory id -> the id of the summary that stands for it, for those that have one."""
    if not member_ids:
        return {}
    query = select(col(_L.member_id), col(_L.summary_id)).where(col(_L.member_id).in_(list(member_ids)))
    return {int(member): int(summary) for member, summary in (await session.execute(query)).all()}


def prefer_summaries(
    found: Sequence[RetrievedMemory], links: dict[int, int], *, now: datetime
) -> list[RetrievedMemory]:
    """``found`` without the exchanges older than :data:`OLD_AFTER` whose summary is among them (module docstring)."""
    present = {r.memory.id for r in found}
    return [r for r in found if not (links.get(r.memory.id) in present and r.memory.created_at <= now - OLD_AFTER)]
