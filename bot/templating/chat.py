"""The conversation as chat turns, the stop sequences, and the labels a reply is cleaned with.

- The channel history goes as turns, oldest first: the persona's own messages as ``assistant`` turns (its words
  only), everyone else's (people and other personas) as ``user`` turns with ``name`` (sanitised by
  :func:`bot.llm.base.message_name`) and the content starting with the speaker's name (``"Alice: hi"``: many
  servers, llama.cpp's among them, drop ``name``). The message being answered is the last ``user`` turn (with the
  messages that waited for this turn, one line each and no ``name``: several authors). The post-history
  instructions follow as a ``system`` message, so they are the last thing the model reads.
- Items placed at a depth (a lorebook's "@ depth" entries) are ``system`` messages inserted among the history and the
  message being answered by :func:`bot.core.prompt_parts.insert_at_depth` (depth 0: after the message being
  answered, before the post-history instructions).
- Stop sequences: :func:`bot.core.prompt_parts.stop_sequences` for the author, the recent speakers (newest first)
  and the common role labels. Labels (:class:`bot.core.reply_text.Labels`): everyone named in the conversation.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.prompt_parts import insert_at_depth, stop_sequences
from bot.core.reply_text import Labels
from bot.core.text import clip_line
from bot.llm.base import ChatMessage
from bot.templating.context import HistoryLine, PromptContext

MAX_EARLIER_CHARS = 1000  # of each message that waited, in the turn that answers them together


def current_message(context: PromptContext) -> str:
    """The message being answered, as the model sees it: "Author: text"; after the messages that waited for this
    turn, one line each."""
    lines = [f"{author}: {clip_line(text, MAX_EARLIER_CHARS)}" for author, text in context.earlier]
    return "\n".join([*lines, f"{context.author}: {context.message}"])


def history_turn(line: HistoryLine) -> ChatMessage:
    """One earlier message as a chat turn."""
    if line.is_self:
        return ChatMessage(role="assistant", content=line.content.strip())
    return ChatMessage(role="user", content=f"{line.author}: {line.content.strip()}", name=line.author)


def chat_turns(
    context: PromptContext,
    history: Sequence[HistoryLine],
    *,
    post_history: str,
    at_depth: Sequence[tuple[int, str]] = (),
) -> tuple[ChatMessage, ...]:
    """The messages after the system prompt (module docstring): ``history`` is what the budget kept."""
    turns = [history_turn(line) for line in history]
    turns.append(
        ChatMessage(role="user", content=current_message(context), name=None if context.earlier else context.author)
    )
    inserted = [(depth, ChatMessage(role="system", content=text)) for depth, text in at_depth if text.strip()]
    placed = insert_at_depth(turns, inserted)
    if post_history.strip():
        placed.append(ChatMessage(role="system", content=post_history.strip()))
    return tuple(placed)


def own_names(context: PromptContext) -> tuple[str, ...]:
    persona = context.persona
    return tuple(n for n in (persona.name, persona.nickname.strip()) if n)


def reply_stops(context: PromptContext, history: Sequence[HistoryLine]) -> tuple[str, ...]:
    """The stop sequences of this reply, in priority order."""
    recent = [author for author, _ in reversed(context.earlier)]
    recent += [line.author for line in reversed(history) if not line.is_self]
    return stop_sequences(context.author, recent, own_names(context))


def reply_labels(context: PromptContext) -> Labels:
    """Whose name labels a reply must not speak with: everyone in the conversation but the persona."""
    others = [context.author, *(author for author, _ in context.earlier)]
    others += [line.author for line in context.history if not line.is_self]
    others += [p.display_name for p in context.people] + [t.name for t in context.personas]
    own = own_names(context)
    lowered = {n.lower() for n in own}
    return Labels(own, tuple(dict.fromkeys(n for n in others if n and n.lower() not in lowered)))
