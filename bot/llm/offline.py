"""The offline responder: the default provider when no model server is configured.

It answers in character without a model, from the templates in ``prompts/offline/``:

- The message falls into one family (:func:`message_family`, first match wins): ``sad``, ``thanks``,
  ``greeting``, ``question``, else ``default``; the family names the template.
- The tone comes from the persona (:func:`tone`): outgoing / reserved (extraversion at least 60 / at most 40),
  warm / blunt (agreeableness), playful (humour at least 60), anxious (neuroticism at least 65), formal / casual
  and brief / detailed (behaviour settings), and the emoji use (none, some: half of the replies, lots: always).
- Phrases are picked by a random generator seeded from the persona id and the message text (SHA-256), so the
  same persona answers the same message with the same words, and different personas differently.

Tools are ignored (``supports_tools`` is false); streaming yields the whole reply as one delta.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.core.personas import BehaviorSettings
from bot.llm.base import ChatReply, ChatRequest, Provider, Usage, Voice
from bot.llm.prompt_files import render_template

FAMILIES = ("sad", "thanks", "greeting", "question", "default")

_SAD = re.compile(
    r"(\b(sad|down|depressed|lonely|upset|unhappy|miserable|crying|cried|heartbroken|grieving|awful day|bad day|"
    r"rough day|hurts?|lost my)\b|:\(|:'\(|😢|😭|☹|😞|😔|💔)",
    re.IGNORECASE,
)
_THANKS = re.compile(r"\b(thanks|thank you|thank u|thx|ty|cheers|much appreciated|appreciate it)\b", re.IGNORECASE)
_GREETING = re.compile(
    r"^\W*(hi|hello|hey|hiya|heya|howdy|yo|hallo|greetings|good (morning|afternoon|evening|day))\b", re.IGNORECASE
)
_QUESTION = re.compile(
    r"(\?\s*$|^\W*(who|what|when|where|why|how|which|can|could|would|should|do|does|did|is|are|will)\b)", re.IGNORECASE
)

_EMOJI = {
    "greeting": ("👋", "😊", "✨"),
    "thanks": ("😊", "🙏", "💛"),
    "sad": ("🫂", "💙", "🌧️"),
    "question": ("🤔", "💭", "🧐"),
    "default": ("🙂", "✨", "💬"),
}


def message_family(text: str) -> str:
    """Which reply family a message calls for: sad, thanks, greeting, question or default."""
    stripped = text.strip()
    if _SAD.search(stripped):
        return "sad"
    if _THANKS.search(stripped):
        return "thanks"
    if _GREETING.search(stripped):
        return "greeting"
    if _QUESTION.search(stripped):
        return "question"
    return "default"


@dataclass(frozen=True)
class Tone:
    outgoing: bool
    reserved: bool
    warm: bool
    blunt: bool
    playful: bool
    anxious: bool
    formal: bool
    casual: bool
    brief: bool
    detailed: bool
    emoji_use: str


def tone(traits: Mapping[str, float], behavior: BehaviorSettings) -> Tone:
    """The tone flags for a persona (thresholds in the module docstring; a missing trait counts as 50)."""

    def trait(name: str) -> float:
        return float(traits.get(name, 50.0))

    return Tone(
        outgoing=trait("extraversion") >= 60,
        reserved=trait("extraversion") <= 40,
        warm=trait("agreeableness") >= 60,
        blunt=trait("agreeableness") <= 40,
        playful=trait("humor") >= 60,
        anxious=trait("neuroticism") >= 65,
        formal=behavior.formality == "formal",
        casual=behavior.formality == "casual",
        brief=behavior.verbosity == "brief",
        detailed=behavior.verbosity == "detailed",
        emoji_use=behavior.emoji_use,
    )


def seed_for(persona_id: int, text: str) -> int:
    """The generator seed: SHA-256 of the persona id and the message text."""
    digest = hashlib.sha256(f"{persona_id}\n{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def compose(voice: Voice, message: str) -> str:
    """The offline reply of ``voice`` to ``message`` (deterministic)."""
    family = message_family(message)
    rng = random.Random(seed_for(voice.persona_id, message))
    flags = tone(voice.traits, voice.behavior)

    def pick(options: Sequence[str]) -> str:
        return options[rng.randrange(len(options))] if options else ""

    def emoji() -> str:
        if flags.emoji_use == "none":
            return ""
        choices = _EMOJI[family]
        if flags.emoji_use == "lots":
            first = pick(choices)
            return f" {first}{pick([c for c in choices if c != first])}"
        return f" {pick(choices)}" if rng.random() < 0.5 else ""

    mood = voice.mood or "neutral"
    text = render_template(
        f"offline/{family}.j2",
        name=voice.name,
        author=voice.author or ("friend" if flags.casual else "there"),
        mood=mood,
        mood_name=mood.split()[-1],
        tone=flags,
        pick=pick,
        emoji=emoji,
    )
    # Templates are laid out for reading; the reply is one paragraph with single spaces.
    return re.sub(r"\s+([,.!?])", r"\1", " ".join(text.split()))


class OfflineResponder(Provider):
    """Answers in character without a model (see the module docstring)."""

    name = "offline responder"
    supports_tools = False

    async def reply(self, request: ChatRequest) -> ChatReply:
        voice = request.voice or Voice(persona_id=0, name="Persona")
        message = voice.message if voice.message is not None else request.last_user_text()
        text = compose(voice, message)
        return ChatReply(text=text, finish_reason="stop", usage=Usage(0, 0))
