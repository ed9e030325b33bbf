"""Chat: who answers a message, the reply's context (the prompt), and what an exchange leaves behind.

The cog calls, with no session held across Discord or the model (SQLite runs inline, one connection per process):

1. :func:`cast` (a read, :mod:`~bot.services.conversation.casting`): the personas that speak where the message was
   written (:func:`active_personas`, with what the prompt needs of each) and their custom behaviours. Nothing else
   happens in a channel without one. The cog keeps copies, dropped whenever a table in :data:`CAST_TABLES` changes
   (``bot/db/changes.py``).
2. :func:`plan` (reads only, :mod:`~bot.services.conversation.planning`): who answers
   (:func:`bot.core.conversation.plan_turns`) and, for each persona that speaks, the prompt rendered into a
   :class:`~bot.llm.base.ChatRequest`. Custom behaviours' reactions and emotional triggers are returned; the cog
   adds the reactions and applies the triggers (:func:`apply_behavior_triggers`, a transaction of its own, only
   when there are some).
3. The cog asks the model (or uses a behaviour's reply template) and sends the reply; the tools it offers reach
   memories through :func:`tool_context`. A persona already replying in the channel does not answer now; a message
   that addressed it directly is in the plan's ``waiting``, and when its reply is done :func:`plan_waiting` plans
   one turn answering every message that waited.
4. :func:`record` (transaction 2, :mod:`~bot.services.conversation.recording`): the persona's messages, the
   memories the reply drew on marked recalled (the plan's :class:`~bot.services.memories.Recall`: a write kept off
   the way to the model), the interaction count, the relationship with the author, and the exchange as a memory,
   only when the author consents. Bots and personas are never remembered. How much an exchange matters, and what
   memory search looks for, are in :mod:`~bot.services.conversation.remembering`.
5. Another take (:mod:`~bot.services.conversation.regenerating`): :func:`ask_for_take` finds the reply a message
   belongs to and says whether the person asking may have another take; the cog plans it like a waiting message
   (:func:`plan_waiting`) and, once it is out, :func:`replace_take` makes what was recorded follow it.

The plain data that crosses the service's edge is in :mod:`~bot.services.conversation.data`; everything public is
re-exported here, so ``conversation.plan(...)`` and ``from bot.services.conversation import Incoming`` work.
"""

from __future__ import annotations

from bot.core.conversation import DIRECT_REASONS
from bot.core.prompt_words import POIGNANCY_PROMPT
from bot.services.conversation.casting import active_personas, cast, last_replies
from bot.services.conversation.data import (
    CAST_TABLES,
    BehaviorSideEffects,
    Cast,
    ChannelLine,
    Incoming,
    Plan,
    Recorded,
    ReplyJob,
    RequestOptions,
    Speaker,
)
from bot.services.conversation.memory_tools import tool_context
from bot.services.conversation.planning import MAX_SPEAKERS, plan, plan_waiting
from bot.services.conversation.recalling import MEMORY_K
from bot.services.conversation.recording import record
from bot.services.conversation.regenerating import Replaced, Take, ask_for_take, find_take, replace_take
from bot.services.conversation.remembering import (
    MAX_MEMORY_QUOTE,
    MAX_QUERY_WORDS,
    exchange_text,
    heuristic_importance,
    parse_poignancy,
    poignancy_request,
    retrieval_query,
)
from bot.services.conversation.triggers import apply_behavior_triggers

__all__ = [
    "CAST_TABLES",
    "DIRECT_REASONS",
    "MAX_MEMORY_QUOTE",
    "MAX_QUERY_WORDS",
    "MAX_SPEAKERS",
    "MEMORY_K",
    "POIGNANCY_PROMPT",
    "BehaviorSideEffects",
    "Cast",
    "ChannelLine",
    "Incoming",
    "Plan",
    "Recorded",
    "Replaced",
    "ReplyJob",
    "RequestOptions",
    "Speaker",
    "Take",
    "active_personas",
    "apply_behavior_triggers",
    "ask_for_take",
    "cast",
    "exchange_text",
    "find_take",
    "heuristic_importance",
    "last_replies",
    "parse_poignancy",
    "plan",
    "plan_waiting",
    "poignancy_request",
    "record",
    "replace_take",
    "retrieval_query",
    "tool_context",
]
