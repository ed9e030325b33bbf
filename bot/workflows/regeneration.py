"""Another take of a reply, once it is allowed and planned: ask the model again, put the new take where the old
one was, and make what was recorded follow it.

The cog (``bot/cogs/regenerate.py``) checks who asks (:func:`bot.services.conversation.ask_for_take`), holds the
persona's speaking turn in the channel, reads the answered message and the channel before it from Discord, and plans
the reply as for a message that waited (:func:`bot.services.conversation.plan_waiting`): the prompt the first take
had, without the old take (it came after the answered message in the channel, and its exchange memory is left out of
the memories recalled: ``RequestOptions.leave_out_exchange``). Then :func:`another_take`:

1. the model answers (through the tool loop when the persona has plugins and the provider calls tools; a custom
   behaviour's reply template when one applies); a model that cannot answer changes nothing and the person is told
   (:data:`bot.core.regeneration.MODEL_FAILED`);
2. the reply's messages are **edited in place** (:meth:`bot.discord_io.speaker.PersonaSender.replace`: a webhook
   message edit, or the bot's own message for the fallback), so the reply keeps its place, the replies pointing at it
   and its reactions; only when a message cannot be edited any more (its webhook was replaced, it is gone) is the new
   take sent anew and the old one deleted;
3. one transaction: :func:`bot.services.conversation.replace_take` (the messages, the exchange memory, the
   receipt of the memories the new take used; the relationship and counts are not counted again).

No session is held while the model or Discord is awaited.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from bot.core import regeneration as rules
from bot.core.errors import DomainError
from bot.core.reply_text import clean_reply
from bot.db.engine import Database
from bot.discord_io.speaker import Outlet, PersonaSender
from bot.llm.base import ModelError, Provider
from bot.llm.tools import ToolRegistry, run_with_tools
from bot.services import conversation
from bot.services.conversation import Incoming, ReplyJob


async def new_text(
    job: ReplyJob,
    incoming: Incoming,
    *,
    db: Database,
    llm: Provider,
    tools: ToolRegistry,
    clock: Callable[[], datetime],
    encryption_key: str | None,
) -> str:
    """The new take's words (step 1 of the module docstring)."""
    if job.template_reply is not None:
        return job.template_reply
    try:
        if job.tool_names and llm.supports_tools:
            context = conversation.tool_context(
                db, job.speaker.persona_id, incoming=incoming, clock=clock, encryption_key=encryption_key
            )
            result = await run_with_tools(llm, job.request, tools.for_plugins(list(job.tool_names)), context)
            text = result.reply.text
        else:
            text = (await llm.reply(job.request)).text
    except ModelError as error:
        raise DomainError(rules.MODEL_FAILED) from error
    # As for a reply: its own name label gone, cut where it speaks for someone else.
    text, _ = clean_reply(text, job.labels)
    if not text.strip():
        raise DomainError(rules.MODEL_FAILED)
    return text


async def another_take(
    take: conversation.Take,
    incoming: Incoming,
    text: str,
    *,
    db: Database,
    sender: PersonaSender,
    outlet: Outlet,
    now: datetime,
    encryption_key: str | None,
    used: Sequence[int] = (),
) -> conversation.Replaced:
    """Steps 2 and 3 of the module docstring: ``text`` replaces the take's messages, and the records follow
    (``used``: the memories that reached the new take's prompt, its receipt)."""
    ids = await sender.replace(outlet, take.message_ids, text, via_webhook=take.via_webhook)
    edited = ids[:1] == list(take.message_ids[:1])
    async with db.transaction() as session:
        return await conversation.replace_take(
            session,
            take,
            incoming,
            reply_text=text,
            message_ids=ids,
            via_webhook=take.via_webhook if edited else outlet.via_webhook,
            now=now,
            encryption_key=encryption_key,
            used=used,
        )
