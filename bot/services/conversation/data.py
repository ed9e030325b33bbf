"""The conversation service's plain data: who speaks in a channel, the message being answered, the plan for it, and
what an exchange left behind. No database rows or Discord objects cross the service's edge."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.core import behaviors as behavior_rules
from bot.core.conversation import DIRECT_REASONS
from bot.core.images import Attachment
from bot.core.model_settings import ModelChoice
from bot.core.personas import BehaviorSettings
from bot.core.reply_text import Labels
from bot.llm.base import ChatRequest
from bot.llm.tools import ToolRegistry
from bot.services import memories
from bot.services.lore import LoreShelf, LoreTiming
from bot.templating.prompts import DEFAULT_TOKEN_BUDGET, PersonaProfile


@dataclass(frozen=True)
class Speaker:
    """A persona that speaks in the message's channel."""

    persona_id: int
    owner_id: int
    name: str
    avatar_url: str | None
    behavior: BehaviorSettings
    profile: PersonaProfile  # who it is, for the prompt
    plugins: tuple[str, ...] = ()
    model: ModelChoice | None = None  # its own model settings (None: the defaults), before the server's allowances


@dataclass(frozen=True)
class Cast:
    """Who speaks in a channel and the custom behaviours each follows: what every message there needs first, and
    rarely changes, so the cog keeps a copy (:data:`CAST_TABLES`)."""

    speakers: tuple[Speaker, ...] = ()
    behaviors: Mapping[int, Sequence[behavior_rules.Behavior]] = field(default_factory=dict)
    memory_weights: Mapping[int, tuple[float, float, float]] = field(default_factory=dict)
    with_tiers: frozenset[int] = frozenset()  # personas offering subscription tiers (the others give no perks)


# The tables a Cast is read from: a change to any of them drops the cog's copies (bot/db/changes.py).
CAST_TABLES = (
    "channel_bindings",
    "personas",
    "custom_behaviors",
    "memory_configs",
    "subscription_tiers",
    "persona_models",
)


@dataclass(frozen=True)
class ChannelLine:
    """A message earlier in the channel (oldest first), as the cog kept it."""

    author_id: int
    author_name: str
    content: str
    persona_id: int | None = None  # a persona's message
    is_bot: bool = False
    message_id: int | None = None


@dataclass(frozen=True)
class Incoming:
    """The message being answered, as plain data."""

    message_id: int
    guild_id: int
    channel_id: int  # where it was written (a thread or a channel)
    author_id: int
    author_name: str
    content: str
    created_at: datetime
    parent_id: int | None = None  # the thread's channel
    author_is_bot: bool = False
    author_persona_id: int | None = None  # a persona of this bot wrote it
    mentions_bot: bool = False
    reply_to_message_id: int | None = None
    channel_name: str | None = None
    attachments: tuple[Attachment, ...] = ()  # its files (images reach vision models: conversation.images)

    def as_line(self) -> ChannelLine:
        """The message as a line of the channel's history."""
        return ChannelLine(
            self.author_id,
            self.author_name,
            self.content,
            self.author_persona_id,
            self.author_is_bot,
            self.message_id,
        )


@dataclass(frozen=True)
class RequestOptions:
    """How a reply's request is built: the tools on offer (None: the default registry), the memory encryption key,
    whether the provider can call tools at all, the prompt's token budget (``PROMPT_TOKEN_BUDGET``), whether the
    model is shown images, a message whose exchange memory the prompt leaves out (another take of a reply to
    it: that memory holds the old take), and the lore books kept prepared (None: read for each reply)."""

    tools: ToolRegistry | None = None
    encryption_key: str | None = None
    supports_tools: bool = True
    token_budget: int = DEFAULT_TOKEN_BUDGET
    vision: bool = False  # the model is shown images (the LLM_VISION setting): conversation.images.sees_images
    leave_out_exchange: int | None = None
    lore_shelf: LoreShelf | None = None


@dataclass(frozen=True)
class ReplyJob:
    """One persona's reply to plan: the request for the model, or a behaviour's fixed reply."""

    speaker: Speaker
    reason: str
    request: ChatRequest
    tool_names: tuple[str, ...] = ()
    template_reply: str | None = None
    timezone: str = "UTC"
    recall: memories.Recall | None = None  # the retrieved memories, marked recalled when the exchange is recorded
    earlier: tuple[Incoming, ...] = ()  # messages that waited for this turn, answered with the one planned for
    # Whose name labels the reply must not speak with (bot.core.reply_text): the model's text is cleaned with them.
    labels: Labels = field(default_factory=lambda: Labels((), ()))
    # The persona's model settings as the server where it speaks allows them (None: the defaults): the request
    # carries the model and sampling settings; the caller asks the persona's own server when ``base_url`` is set.
    model: ModelChoice | None = None
    lore_timing: LoreTiming | None = None  # timed lore entries that fired: saved when the exchange is recorded
    used: tuple[int, ...] = ()  # the memories that reached the prompt, best first: the reply's receipt

    @property
    def addressed(self) -> bool:
        """Whether the persona was addressed directly (mentioned, named or replied to)."""
        return self.reason in DIRECT_REASONS


@dataclass(frozen=True)
class BehaviorSideEffects:
    """What a persona's matching behaviours do to the message besides the reply: reactions for the cog to add,
    emotional triggers applied, and problems (reply templates that failed) for logs."""

    persona_id: int
    reactions: tuple[str, ...] = ()
    emotion_triggers: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    trigger_behaviors: tuple[str, ...] = ()  # which behaviour fired each of emotion_triggers (by name)


@dataclass(frozen=True)
class Plan:
    """Who answers (in speaking order) and every decision taken, by persona id (for logs and tests)."""

    jobs: tuple[ReplyJob, ...] = ()
    decisions: Mapping[int, str] = field(default_factory=dict)
    effects: tuple[BehaviorSideEffects, ...] = ()
    # Personas addressed directly while busy here, with why they would answer: the message waits for their turn.
    waiting: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Recorded:
    """What :func:`bot.services.conversation.record` stored."""

    persona_messages: int
    memory_id: int | None
    consent_reason: str | None
    affinity: float | None
