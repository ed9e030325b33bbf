"""The plain data a reply's prompt is rendered from (:class:`PromptContext`): no database rows or Discord objects.
Re-exported by :mod:`bot.templating.prompts`, where the services look for it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.core.lore import LoreText
from bot.core.personas import BehaviorSettings

DEFAULT_TOKEN_BUDGET = 3000


@dataclass(frozen=True)
class PersonaProfile:
    """Who the persona is."""

    id: int
    name: str
    description: str = ""
    traits: Mapping[str, float] = field(default_factory=dict)
    custom_traits: Sequence[tuple[str, float]] = ()  # (name, value 0..100)
    behavior: BehaviorSettings = field(default_factory=BehaviorSettings)
    # The character as a card holds it ("" = none): macros in them are resolved when the prompt is built.
    personality_text: str = ""  # personality
    scenario: str = ""  # scenario
    example_dialogue: str = ""  # mes_example, blocks split at <START> lines
    system_prompt: str = ""  # replaces our main instruction; {{original}} inserts ours
    post_history_instructions: str = ""  # replaces ours after the history; {{original}} inserts ours
    nickname: str = ""  # what {{char}} becomes when set (V3)

    @property
    def char_name(self) -> str:
        """What ``{{char}}`` stands for: the nickname when set, else the name."""
        return self.nickname.strip() or self.name


@dataclass(frozen=True)
class FeltEmotion:
    """An active emotion now: its type and current intensity (0..100)."""

    type: str
    intensity: float


@dataclass(frozen=True)
class PersonPresent:
    """A person in the conversation and the persona's relationship with them."""

    display_name: str
    messages_exchanged: int = 0
    affinity: float = 0.0  # -1..1


@dataclass(frozen=True)
class PersonaTie:
    """Another persona present, and the relationship its owner set."""

    name: str
    kind: str
    strength: float = 0.5  # 0..1


@dataclass(frozen=True)
class MemoryNote:
    """A memory retrieved for this message."""

    content: str
    created_at: datetime
    pinned: bool = False


@dataclass(frozen=True)
class HistoryLine:
    """A message earlier in the channel, oldest first; ``is_self`` marks the persona's own."""

    author: str
    content: str
    is_self: bool = False


@dataclass(frozen=True)
class PromptContext:
    """Everything the prompt is rendered from, for one reply."""

    persona: PersonaProfile
    now: datetime
    author: str  # who wrote the message being answered
    message: str  # the message being answered
    mood: tuple[float, float, float] | None = None  # PAD; None: neutral
    mood_explanation: str | None = None  # bot.core.emotions.explain(...)
    emotions: Sequence[FeltEmotion] = ()
    people: Sequence[PersonPresent] = ()
    personas: Sequence[PersonaTie] = ()
    memories: Sequence[MemoryNote] = ()
    instructions: Sequence[str] = ()  # from matching custom behaviours
    history: Sequence[HistoryLine] = ()
    token_budget: int = DEFAULT_TOKEN_BUDGET  # the whole prompt, estimated tokens (bot.core.prompt_budget)
    channel: str | None = None
    tools: Sequence[str] = ()  # names of the tools offered
    # Messages to the persona that waited while it spoke (author, text), oldest first: answered with ``message``.
    earlier: Sequence[tuple[str, str]] = ()
    seed: str = ""  # varies {{random}} and {{roll}} from one message to the next (the message's id)
    # Lore entries that fired for this reply (bot.core.lore), in prompt order: before or after the character in the
    # system message, or at a depth among the chat turns.
    lore: Sequence[LoreText] = ()
    # What the request carries besides these texts, in estimated tokens (the images and notes of the messages
    # answered, bot.core.images): counted in the budget before anything is trimmed.
    attachment_tokens: int = 0
