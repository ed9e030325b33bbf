"""The offline responder: deterministic, in character, from prompts/offline/*.j2."""

from __future__ import annotations

import pytest

from bot.core.personas import BehaviorSettings
from bot.llm import ChatMessage, ChatRequest, OfflineResponder, Voice
from bot.llm.offline import compose, message_family, tone

SUNNY = Voice(
    persona_id=1,
    name="Sunny",
    traits={"extraversion": 88, "agreeableness": 85, "humor": 80, "neuroticism": 20},
    mood="moderately exuberant",
    behavior=BehaviorSettings(formality="casual", emoji_use="lots"),
    author="Bob",
)
GRIM = Voice(
    persona_id=2,
    name="Grim",
    traits={"extraversion": 15, "agreeableness": 15, "humor": 10, "neuroticism": 75},
    mood="moderately hostile",
    behavior=BehaviorSettings(verbosity="brief", emoji_use="none"),
    author="Bob",
)
SIR = Voice(
    persona_id=3,
    name="Sir Reginald",
    traits={"extraversion": 50, "agreeableness": 70},
    mood="slightly relaxed",
    behavior=BehaviorSettings(formality="formal", verbosity="detailed", emoji_use="none"),
    author="Bob",
)
MESSAGES = ("hello there", "thanks so much!", "I feel really sad today", "what is your favourite book?", "I ate soup")


@pytest.mark.parametrize(
    ("text", "family"),
    [
        ("Hi Ada!", "greeting"),
        ("good morning everyone", "greeting"),
        ("thanks, that helped", "thanks"),
        ("hey, I'm so sad :(", "sad"),
        ("where did you grow up?", "about"),
        ("How did the match go?", "question"),
        ("How does this work", "question"),
        ("I bought a bike", "default"),
    ],
)
def test_messages_fall_into_families(text: str, family: str) -> None:
    assert message_family(text) == family


def test_tone_follows_traits_and_settings() -> None:
    sunny = tone(SUNNY.traits, SUNNY.behavior)
    assert sunny.outgoing and sunny.warm and sunny.playful and sunny.casual and not sunny.reserved
    grim = tone(GRIM.traits, GRIM.behavior)
    assert grim.reserved and grim.blunt and grim.anxious and grim.brief and not grim.playful


@pytest.mark.parametrize("text", MESSAGES)
def test_same_inputs_same_reply(text: str) -> None:
    assert compose(SUNNY, text) == compose(SUNNY, text)
    assert compose(GRIM, text) == compose(GRIM, text)


def test_different_traits_give_a_different_tone() -> None:
    for text in MESSAGES:
        replies = {compose(SUNNY, text), compose(GRIM, text), compose(SIR, text)}
        assert len(replies) == 3, text
    # Brief, blunt and emoji-free is short; outgoing with lots of emoji is longer and has emoji.
    assert all(len(compose(GRIM, t)) < len(compose(SUNNY, t)) for t in MESSAGES)
    assert all(not any(ord(ch) > 0x2000 for ch in compose(GRIM, t)) for t in MESSAGES)
    assert all(any(ord(ch) > 0x1F000 for ch in compose(SUNNY, t)) for t in MESSAGES)


def test_replies_are_in_character_for_the_family() -> None:
    assert compose(SUNNY, "hello there").endswith(tuple("👋😊✨"))
    assert "Bob" in compose(SUNNY, "hello there")
    assert any(word in compose(SIR, "hello there") for word in ("Good day", "Greetings", "Hello"))
    # The detailed persona mentions its mood in words.
    assert "slightly relaxed" in compose(SIR, "hello there")
    sad = compose(SIR, "I feel really sad today")
    assert "sorry" in sad.lower() or "hard" in sad.lower()
    assert "?" not in compose(GRIM, "thanks so much!")


def test_a_different_persona_id_can_pick_different_words() -> None:
    twins = {compose(Voice(**{**SUNNY.__dict__, "persona_id": pid}), "I ate soup") for pid in range(1, 30)}
    assert len(twins) > 1


def test_user_text_is_never_template_source() -> None:
    voice = Voice(persona_id=4, name="{{ 7*7 }}", author="{% for x in y %}", traits={}, mood="neutral")
    text = compose(voice, "{{ 7*7 }} hello?")
    assert "49" not in text
    assert "{% for x in y %}" in compose(voice, "hello")  # the author's name, verbatim


async def test_the_provider_answers_the_last_user_message() -> None:
    responder = OfflineResponder()
    request = ChatRequest(
        system="ignored",
        messages=(ChatMessage(role="user", content="Bob: hello there"),),
        voice=SUNNY.__class__(**{**SUNNY.__dict__, "message": "hello there"}),
    )
    answer = await responder.reply(request)
    assert answer.text == compose(SUNNY, "hello there")
    assert [d async for d in responder.stream(request)] == [answer.text]
    # Without a voice it still answers, as a neutral persona.
    plain = await responder.reply(ChatRequest(system="", messages=(ChatMessage(role="user", content="hi"),)))
    assert plain.text
