"""The offline responder: the default provider when no model server is configured.

It answers in character without a model, from the templates in ``prompts/offline/``:

- The message falls into one family (:func:`bot.llm.offline_reading.read_message`, first match wins): ``sad``,
  ``thanks``, ``greeting`` (the persona's name anywhere), ``joke``, ``remember``, ``about`` (the persona itself),
  ``question``, else ``default``; the family names the template.
- The reply draws on the persona (:func:`ground`): a joke from ``data/jokes.toml``; the retrieved memory that
  names what "do you remember ..." asks about; for questions about the persona, a sentence of its description,
  scenario or personality (its first for "who are you?", one saying what it loves, where it is from, or the
  sentence naming X or a word of X's topic for "your favourite X"), else its example dialogue's answer to a
  similar line; else an in-character deflection. The wording stays in the templates.
- The tone comes from the persona (:func:`tone`): outgoing / reserved (extraversion at least 60 / at most 40),
  warm / blunt (agreeableness), playful (humour at least 60), anxious (neuroticism at least 65), formal / casual
  and brief / detailed (behaviour settings), and the emoji use (none, some: half of the replies, lots: always).
- Phrases are picked by a random generator seeded from the persona id, the message's id (``Voice.seed``, when
  given) and its text (SHA-256), so the same persona answers the same message with the same words, and different
  personas (or messages) differently.

Tools are ignored (``supports_tools`` is false); streaming yields the whole reply as one delta.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from bot.core import catalog
from bot.core.personas import BehaviorSettings
from bot.core.text import clip
from bot.llm.base import ChatReply, ChatRequest, Provider, Usage, Voice
from bot.llm.offline_reading import (
    Reading,
    Recall,
    card_fact,
    content_stems,
    example_answer,
    first_person,
    names_in,
    read_message,
    recall,
    sentences,
    stem,
)
from bot.llm.prompt_files import render_template

FAMILIES = ("sad", "thanks", "greeting", "joke", "remember", "about", "question", "default")

_EMOJI = {
    "greeting": ("👋", "😊", "✨"),
    "thanks": ("😊", "🙏", "💛"),
    "sad": ("🫂", "💙", "🌧️"),
    "joke": ("😄", "😂", "🙃"),
    "remember": ("💭", "😊", "🧠"),
    "about": ("🙂", "✨", "💭"),
    "question": ("🤔", "💭", "🧐"),
    "default": ("🙂", "✨", "💬"),
}
_LIKES = re.compile(r"\b(lov(e|es|ed|ing)|enjoy(s|ed|ing)?|likes|fond|adores?|favou?rite|passion|hobb(y|ies))\b", re.I)
_ORIGIN = re.compile(r"\b(from|born|grew up|raised|lives?|home|hometown|native)\b", re.IGNORECASE)


MAX_QUOTE = 300  # characters of a card sentence or a memory quoted in a reply


def message_family(text: str, names: Sequence[str] = ()) -> str:
    """Which reply family a message to a persona called ``names`` calls for (:func:`read_message`)."""
    return read_message(text, names).family


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


def seed_for(persona_id: int, text: str, seed: str = "") -> int:
    """The generator seed: SHA-256 of the persona id, the message's seed (its id, when given) and its text."""
    key = f"{persona_id}\n{seed}\n{text}" if seed else f"{persona_id}\n{text}"
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "big")


@dataclass(frozen=True)
class Grounding:
    """What the reply draws on besides its tone: a sentence of the card or example dialogue (``fact``), a memory
    (``recall``) and a joke."""

    fact: str = ""
    recall: Recall | None = None
    joke: str = ""


def jokes() -> list[str]:
    """The shipped jokes (``data/jokes.toml``)."""
    return [str(joke) for joke in catalog.load("jokes")["jokes"]]


def _card_sentence(voice: Voice, pattern: re.Pattern[str], names: Sequence[str]) -> str:
    for text in (voice.description, voice.scenario, voice.personality):
        for sentence in sentences(text):
            if pattern.search(sentence):
                return first_person(sentence, names)
    return ""


def _about_fact(voice: Voice, reading: Reading, names: Sequence[str]) -> str:
    card = (voice.description, voice.scenario, voice.personality)
    if reading.about == "who":
        return next((first_person(s, names) for text in card for s in sentences(text)[:1]), "")
    if reading.about == "likes":
        return _card_sentence(voice, _LIKES, names)
    if reading.about == "origin":
        return _card_sentence(voice, _ORIGIN, names)
    if reading.about in ("favourite", "opinion"):
        return card_fact(card, [stem(w) for w in reading.topic.split()], names)
    return ""


def ground(voice: Voice, message: str, reading: Reading, pick: Callable[[Sequence[str]], str]) -> Grounding:
    """What the reply to ``message`` draws on, by its family (the module docstring of :mod:`.offline_reading`)."""
    names = names_in(voice.name, voice.nickname)
    card = (voice.description, voice.scenario, voice.personality)
    asked = content_stems(message, names)
    if reading.family == "joke":
        return Grounding(joke=pick(jokes()))
    if reading.family == "remember":
        return Grounding(recall=recall(voice.memories, message, names, voice.author))
    if reading.family == "about":
        fact = _about_fact(voice, reading, names) or example_answer(voice.examples, message, names)
        return Grounding(fact=fact)
    if reading.family in ("question", "default"):
        fact = example_answer(voice.examples, message, names)
        if not fact and reading.family == "question":
            fact = card_fact(card, asked, names, related=False)
        remembered = recall(voice.memories, message, names, voice.author) if asked else None
        return Grounding(fact=fact, recall=remembered)
    return Grounding()


def compose(voice: Voice, message: str) -> str:
    """The offline reply of ``voice`` to ``message`` (deterministic)."""
    reading = read_message(message, names_in(voice.name, voice.nickname))
    family = reading.family
    rng = random.Random(seed_for(voice.persona_id, message, voice.seed))
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

    grounding = ground(voice, message, reading, pick)
    remembered = grounding.recall
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
        about=reading.about,
        topic=reading.topic,
        fact=clip(grounding.fact, MAX_QUOTE),
        recall=(
            {"who": remembered.who, "said": clip(remembered.said, MAX_QUOTE), "text": clip(remembered.text, MAX_QUOTE)}
            if remembered
            else None
        ),
        joke=grounding.joke,
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
