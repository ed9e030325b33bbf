"""The offline responder grounded in the persona: its card, its example dialogue, the memories retrieved, jokes.

A fixed persona (Ada, a retired lighthouse keeper) and fixed memories; every expectation is written by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.core import catalog
from bot.core.personas import BehaviorSettings
from bot.llm import ChatMessage, ChatRequest, OfflineResponder, Voice
from bot.llm.offline import FAMILIES, compose, jokes, message_family
from bot.llm.offline_reading import first_person, read_message, stem
from bot.llm.prompt_files import PROMPTS_DIR
from bot.templating.prompts import MemoryNote, PersonaProfile, PromptContext, build_request

DESCRIPTION = (
    "Ada is a retired lighthouse keeper from Cornwall. She tends a greenhouse full of ferns and orchids. "
    "Her old cat Pilot sleeps on the logbook. Ada loves sea shanties and strong tea."
)
SCENARIO = "{{user}} visits {{char}} at the old lighthouse on stormy evenings."
EXAMPLES = ("Alice: What do you do all day?\nAda: I polish the lamp and talk to the gulls.",)
CAT = "Alice said: “My cat Biscuit keeps stealing my socks!” I (Ada) answered: “What a rascal.”"
MEMORIES = (
    "Alice loves sailing on Sundays",
    CAT,
    "Bob said: “I fixed the harbour bell” to me (Ada), and I answered them.",
)

ADA = Voice(
    persona_id=7,
    name="Ada",
    nickname="Addie",
    traits={"extraversion": 50, "agreeableness": 50, "humor": 50},
    mood="slightly content",
    behavior=BehaviorSettings(emoji_use="none"),
    author="Alice",
    description=DESCRIPTION,
    scenario="Alice visits Ada at the old lighthouse on stormy evenings.",
    examples=EXAMPLES,
    memories=MEMORIES,
    seed="1001",
)
BROKEN = ("foggy", "rather not guess", "dig into it", "can't answer", "cannot give a full answer")


def template_voice(template_id: str) -> Voice:
    """ADA's card with the traits of one of the shipped personality templates (data/templates.toml)."""
    template = next(t for t in catalog.load("templates")["template"] if t["id"] == template_id)
    return replace(ADA, traits=dict(template["traits"]))


GRUMPY = template_voice("grumpy-critic")
CHEERLEADER = template_voice("cheerful-cheerleader")


# --------------------------------------------------------------------------------------------------- reading


@pytest.mark.parametrize(
    ("text", "family", "about", "topic"),
    [
        ("what is your favourite plant?", "about", "favourite", "plant"),
        ("What's your favorite kind of tea?", "about", "favourite", "tea"),
        ("who are you?", "about", "who", ""),
        ("tell me about yourself", "about", "who", ""),
        ("what do you like?", "about", "likes", ""),
        ("where are you from?", "about", "origin", ""),
        ("do you like cats?", "about", "opinion", "cats"),
        ("how are you?", "about", "mood", ""),
        ("tell me a joke", "joke", "", ""),
        ("Ada, know any good jokes?", "joke", "", ""),
        ("do you remember my cat?", "remember", "", "cat"),
        ("Ada, hello", "greeting", "", ""),
        ("hello Ada", "greeting", "", ""),
        ("hey there Ada!", "greeting", "", ""),
        ("Addie, hi!", "greeting", "", ""),
        ("@Ada hello :)", "greeting", "", ""),
        ("hi Ada, tell me a joke", "joke", "", ""),
        ("Hello Ada, my name is Alice and I love sailing!", "greeting", "", ""),
        ("what is the capital of France?", "question", "", ""),
        ("I ate soup", "default", "", ""),
    ],
)
def test_a_message_is_read_wherever_the_name_sits(text: str, family: str, about: str, topic: str) -> None:
    reading = read_message(text, ("Ada", "Addie"))
    assert (reading.family, reading.about, reading.topic) == (family, about, topic)
    assert message_family(text, ("Ada", "Addie")) == family


def test_another_name_is_not_taken_for_a_greeting() -> None:
    assert message_family("Grace, hello", ("Ada",)) == "default"


@pytest.mark.parametrize(
    ("sentence", "spoken"),
    [
        ("Ada is a retired lighthouse keeper.", "I am a retired lighthouse keeper."),
        ("She tends a greenhouse full of ferns.", "I tend a greenhouse full of ferns."),
        ("Ada never misses her morning swim.", "I never miss my morning swim."),
        ("Her old cat Pilot sleeps on the logbook.", "My old cat Pilot sleeps on the logbook."),
        ("Ada's lamp is the brightest on the coast.", "My lamp is the brightest on the coast."),
        ("She watches over herself and the ships.", "I watch over myself and the ships."),
        ("Alice visits Ada on stormy evenings.", "Alice visits Ada on stormy evenings."),
        ("I grow orchids.", "I grow orchids."),
    ],
)
def test_a_sentence_about_the_persona_is_said_in_its_own_voice(sentence: str, spoken: str) -> None:
    assert first_person(sentence, ("Ada",)) == spoken


def test_words_compare_by_a_light_stem() -> None:
    assert stem("ferns") == stem("fern") and stem("Cats") == "cat" and stem("gardening") == "garden"
    assert stem("glass") == "glass" and stem("cat's") == "cat"


# --------------------------------------------------------------------------------------------------- answers


def test_a_favourite_plant_is_answered_from_the_description() -> None:
    reply = compose(ADA, "what is your favourite plant?")
    # No sentence says "plant": the one naming ferns and orchids (the plant topic in data/offline.toml) is chosen.
    assert "I tend a greenhouse full of ferns and orchids." in reply
    assert not any(broken in reply for broken in BROKEN)


def test_the_word_itself_beats_a_word_of_its_topic() -> None:
    voice = replace(ADA, description=DESCRIPTION + " Her favourite plant is the sea holly on the cliff.")
    assert "My favourite plant is the sea holly on the cliff." in compose(voice, "what's your favourite plant?")


def test_a_favourite_the_card_does_not_name_is_deflected_in_character() -> None:
    reply = compose(ADA, "what is your favourite colour?")
    assert "colour" in reply and not any(broken in reply for broken in BROKEN)
    assert "Cornwall" not in reply and "ferns" not in reply


def test_a_joke_is_told_when_asked() -> None:
    told = [joke for joke in jokes() if joke in compose(ADA, "tell me a joke")]
    assert len(told) == 1
    # Different messages can get different jokes.
    asked = ("tell me a joke", "know any jokes?", "got a joke for me?", "make me laugh", "tell me another joke")
    assert len({next(j for j in jokes() if j in compose(ADA, text)) for text in asked}) > 1


def test_the_shipped_jokes_are_plenty_and_distinct() -> None:
    shipped = jokes()
    assert len(shipped) >= 30 and len(set(shipped)) == len(shipped)
    assert all(20 < len(joke) < 200 for joke in shipped)


def test_a_remembered_cat_is_named() -> None:
    reply = compose(ADA, "do you remember my cat?")
    # The cat's memory is not the first retrieved: the one naming the cat is chosen, and its words are Alice's.
    assert "“My cat Biscuit keeps stealing my socks!”" in reply
    assert "You told me “" in reply or "I remember you saying “" in reply
    assert "rascal" not in reply and "sailing" not in reply


def test_a_memory_of_someone_else_says_who_told_it() -> None:
    assert "Bob" in compose(ADA, "do you remember the harbour bell?") and "fixed the harbour bell" in compose(
        ADA, "do you remember the harbour bell?"
    )


def test_only_what_was_said_to_the_persona_is_matched_in_an_exchange() -> None:
    # The persona's own answer mentions a cat; what Bob said does not: that memory does not answer for the cat.
    answer = "Bob said: “I fixed the harbour bell” I (Ada) answered: “Mind the cat on the stairs.”"
    reply = compose(replace(ADA, memories=(answer,)), "do you remember my cat?")
    assert "your cat" in reply and "harbour" not in reply


def test_a_memory_sharing_the_words_of_a_remark_is_brought_up() -> None:
    reply = compose(ADA, "I went sailing today")
    assert "Alice loves sailing on Sundays." in reply and "Biscuit" not in reply


def test_every_family_has_its_template() -> None:
    assert all((PROMPTS_DIR / "offline" / f"{family}.j2").is_file() for family in FAMILIES)


def test_a_forgotten_cat_is_said_to_be_new_not_a_broken_head() -> None:
    reply = compose(replace(ADA, memories=("Alice loves sailing on Sundays",)), "do you remember my cat?")
    assert "your cat" in reply and "Biscuit" not in reply and "sailing" not in reply
    assert not any(broken in reply for broken in BROKEN)


@pytest.mark.parametrize("text", ["Ada, hello", "hello Ada", "hey there Ada!", "Addie, hi!"])
def test_a_greeting_with_the_name_before_or_after_is_answered_as_one(text: str) -> None:
    reply = compose(ADA, text)
    assert "Alice" in reply
    assert reply.split(",")[0] in ("Hi", "Hello", "Hey")  # the greeting template's plain tone


def test_who_are_you_is_answered_from_the_card() -> None:
    reply = compose(ADA, "who are you?")
    assert reply.startswith("I'm Ada")
    assert "I am a retired lighthouse keeper from Cornwall." in reply


def test_likes_and_origin_come_from_the_card() -> None:
    assert "I love sea shanties and strong tea." in compose(ADA, "what do you like?")
    assert "Cornwall" in compose(ADA, "where are you from?")
    assert "I love sea shanties and strong tea." in compose(ADA, "what's your favourite drink?")
    assert "I love sea shanties and strong tea." in compose(ADA, "do you like tea?")
    # Not on the card: an in-character deflection that names it (the Grumpy Critic's own way).
    assert "about coffee." in compose(replace(ADA, description=""), "do you like coffee?")
    grumpy = compose(replace(GRUMPY, description=""), "do you like coffee?")
    assert grumpy.startswith(("Coffee? Never thought about it. Don't plan to.", "Not especially.")), grumpy


def test_the_example_dialogue_answers_a_line_like_its_own() -> None:
    assert "I polish the lamp and talk to the gulls." in compose(ADA, "So what do you do all day?")


def test_a_question_the_card_cannot_answer_is_deflected_in_character() -> None:
    for voice in (ADA, GRUMPY, CHEERLEADER):
        reply = compose(voice, "what is the capital of France?")
        assert reply and not any(broken in reply for broken in BROKEN), reply


def test_the_mood_is_said_when_asked() -> None:
    assert "slightly content" in compose(ADA, "how are you?")


# --------------------------------------------------------------------------------------------------- tone


def test_the_grumpy_critic_and_the_cheerleader_keep_their_tone() -> None:
    grumpy = compose(GRUMPY, "tell me a joke")
    cheer = compose(CHEERLEADER, "tell me a joke")
    assert grumpy.startswith(("Fine. One joke.", "One. Then we move on.", "Ugh. Fine."))
    assert cheer.startswith(("Ooh, okay, okay, here's one:", "Oh, I've got one!", "Yes! Joke time!"))
    # Both still tell the card's facts, each in its own way.
    assert "ferns" in compose(GRUMPY, "what is your favourite plant?")
    assert "ferns" in compose(CHEERLEADER, "what is your favourite plant?")
    assert compose(GRUMPY, "who are you?") != compose(CHEERLEADER, "who are you?")
    assert "Biscuit" in compose(GRUMPY, "do you remember my cat?")
    assert "Biscuit" in compose(CHEERLEADER, "do you remember my cat?")


# --------------------------------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("text", ["tell me a joke", "what is your favourite plant?", "hello Ada", "I ate soup"])
def test_the_same_message_gets_the_same_reply(text: str) -> None:
    assert compose(ADA, text) == compose(ADA, text)
    assert compose(GRUMPY, text) == compose(GRUMPY, text)


def test_another_message_id_may_pick_other_words() -> None:
    replies = {compose(replace(ADA, seed=str(seed)), "tell me a joke") for seed in range(30)}
    assert len(replies) > 1
    greetings = {compose(replace(CHEERLEADER, seed=str(seed)), "hello Ada") for seed in range(30)}
    assert len(greetings) > 1


# --------------------------------------------------------------------------------------------------- the request


def test_the_request_carries_what_the_offline_voice_needs() -> None:
    now = datetime(2025, 3, 4, 18, 0, tzinfo=UTC)
    context = PromptContext(
        persona=PersonaProfile(
            id=7,
            name="Ada",
            nickname="Addie",
            description=DESCRIPTION,
            scenario=SCENARIO,
            example_dialogue="<START>\n{{user}}: What do you do all day?\n{{char}}: I polish the lamp.",
        ),
        now=now,
        author="Alice",
        message="do you remember my cat?",
        memories=[MemoryNote(CAT, now), MemoryNote("  ", now)],
        seed="1001",
    )
    request = build_request(context)
    voice = request.voice
    assert voice is not None
    assert voice.description == DESCRIPTION and voice.nickname == "Addie" and voice.seed == "1001"
    assert voice.scenario == "Alice visits Addie at the old lighthouse on stormy evenings."  # macros resolved
    assert voice.examples == ("Alice: What do you do all day?\nAddie: I polish the lamp.",)
    assert voice.memories == (CAT,)


async def test_the_provider_answers_from_the_voice() -> None:
    request = ChatRequest(
        system="ignored",
        messages=(ChatMessage(role="user", content="Alice: do you remember my cat?"),),
        voice=replace(ADA, message="do you remember my cat?"),
    )
    answer = await OfflineResponder().reply(request)
    assert "Biscuit" in answer.text
