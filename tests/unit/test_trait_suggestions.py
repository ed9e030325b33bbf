"""Trait suggestions from a description: the offline lexicon (hand-written expectations), a model's JSON answer
checked against the schema, and the service asking the fake model server and falling back to the lexicon."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.core import catalog
from bot.core import trait_suggestions as rules
from bot.core.errors import DomainError
from bot.core.traits import ALL_TRAITS
from bot.llm import OfflineResponder, OpenAICompatibleProvider
from bot.services import trait_suggestions
from tests.fakes.model_server import FakeModelServer, not_json, reply, status


def by_trait(suggestions: rules.Suggestions) -> dict[str, rules.Suggestion]:
    return {s.trait: s for s in suggestions.suggested}


# --------------------------------------------------------------------------------------------------- the lexicon


def test_a_shy_quiet_bookworm_who_loves_puzzles() -> None:
    found = rules.from_lexicon("A shy, quiet bookworm who loves puzzles.")
    suggested = by_trait(found)
    assert found.source == "lexicon"
    # Introverted: shy, quiet and bookworm all lower extraversion, well below the middle.
    assert suggested["extraversion"].value <= 15
    assert suggested["extraversion"].reasons == ("'shy'", "'quiet'", "'bookworm'")
    # Open and curious, for the reading and the puzzles.
    assert suggested["openness"].value >= 80 and suggested["curiosity"].value >= 80
    assert "'loves puzzles'" in suggested["curiosity"].reasons
    assert suggested["social_orientation"].value < 50
    # The line a person reads.
    assert suggested["curiosity"].line() == f"Curiosity {suggested['curiosity'].value} — 'bookworm'; 'loves puzzles'"
    # Nothing said about conscientiousness: the middle; every trait has a value.
    assert "conscientiousness" not in suggested and found.traits["conscientiousness"] == 50
    assert set(found.traits) == set(ALL_TRAITS)


def test_one_plain_word_gives_73_and_more_words_more() -> None:
    assert by_trait(rules.from_lexicon("She is witty."))["humor"].value == 73
    assert by_trait(rules.from_lexicon("She is very witty."))["humor"].value == 81
    assert by_trait(rules.from_lexicon("witty, funny and playful"))["humor"].value >= 90
    assert by_trait(rules.from_lexicon("grim"))["humor"].value == 27


def test_negation_turns_a_word_round_within_its_clause_only() -> None:
    never_rude = by_trait(rules.from_lexicon("He is never rude"))
    assert never_rude["agreeableness"].value == 73 and never_rude["agreeableness"].reasons == ("'never rude'",)
    # "not shy" says more extraversion; the comma ends the negation, so "quiet" still says less: they cancel.
    cancelled = by_trait(rules.from_lexicon("not shy, quiet"))
    assert "extraversion" not in cancelled
    assert cancelled["assertiveness"].value > 50  # "not shy" alone speaks for assertiveness


def test_plurals_and_phrases_longest_first() -> None:
    explorer = by_trait(rules.from_lexicon("A curious soul who loves to explore old ruins"))
    assert explorer["curiosity"].reasons == ("'curious'", "'loves to explore'")
    assert by_trait(rules.from_lexicon("tells jokes all day"))["humor"].reasons == ("'jokes'",)
    assert by_trait(rules.from_lexicon("solves riddles and mysteries"))["curiosity"].value > 72


def test_words_it_does_not_know_suggest_nothing() -> None:
    found = rules.from_lexicon("A persona called Bob from Leeds.")
    assert found.suggested == () and set(found.traits.values()) == {50.0}


def test_the_shipped_lexicon_names_only_known_traits_and_is_a_few_hundred_words() -> None:
    table = catalog.load(rules.LEXICON_TABLE)
    lexicon = rules.build_lexicon(table)
    assert len(lexicon.phrases) >= 300
    assert set(table) - {"scoring"} == set(ALL_TRAITS)
    with pytest.raises(DomainError, match="not a trait"):
        rules.build_lexicon({"charm": {"up": ["charming"]}})


# --------------------------------------------------------------------------------------------------- a model's answer

GOOD = {
    "traits": [
        {"trait": "curiosity", "value": 78, "reason": "loves to explore"},
        {"trait": "extraversion", "value": 20, "reason": "keeps to herself"},
    ]
}


def test_a_model_answer_in_the_schema_is_taken() -> None:
    found = rules.from_model(GOOD)
    assert found.source == "model"
    assert [s.line() for s in found.suggested] == [
        "Extraversion 20 — 'keeps to herself'",
        "Curiosity 78 — 'loves to explore'",
    ]
    assert found.traits["curiosity"] == 78 and found.traits["openness"] == 50


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ([], "not an object"),
        ({"traits": []}, "0 traits"),
        ({"traits": [{"trait": "charm", "value": 50, "reason": "x"}]}, "unknown"),
        ({"traits": [{"trait": "humor", "value": 150, "reason": "x"}]}, "0 to 100"),
        ({"traits": [{"trait": "humor", "value": True, "reason": "x"}]}, "0 to 100"),
        ({"traits": [{"trait": "humor", "value": 50, "reason": " "}]}, "no reason"),
        ({"traits": [{"trait": "humor", "value": 50}]}, "trait, value, reason"),
        ({"traits": [GOOD["traits"][0], GOOD["traits"][0]]}, "twice"),
        ({"traits": GOOD["traits"], "mood": "x"}, "not an object"),
    ],
)
def test_a_model_answer_outside_the_schema_is_refused(answer: Any, why: str) -> None:
    with pytest.raises(DomainError, match=why):
        rules.from_model(answer)


# --------------------------------------------------------------------------------------------------- the service


@pytest.fixture
async def server() -> AsyncIterator[FakeModelServer]:
    async with FakeModelServer() as running:
        yield running


@pytest.fixture
async def provider(server: FakeModelServer) -> AsyncIterator[OpenAICompatibleProvider]:
    made = OpenAICompatibleProvider(base_url=server.base_url, model="m", timeout_seconds=2.0, max_retries=0)
    yield made
    await made.aclose()


async def test_the_model_is_asked_for_the_schema_and_its_answer_used(
    server: FakeModelServer, provider: OpenAICompatibleProvider
) -> None:
    server.script(reply(json.dumps(GOOD)))
    found = await trait_suggestions.suggest(provider, "A shy explorer")
    assert found.source == "model" and by_trait(found)["curiosity"].value == 78
    sent = server.requests[-1]
    assert sent["response_format"]["type"] == "json_schema"
    schema = sent["response_format"]["json_schema"]
    assert schema["strict"] is True and schema["schema"] == rules.MODEL_SCHEMA
    assert sent["messages"][-1] == {"role": "user", "content": "A shy explorer"}
    system = sent["messages"][0]["content"]
    assert "- technical_focus (technical focus)" in system and "JSON only" in system


@pytest.mark.parametrize(
    "behaviour",
    [
        reply("Sure! Here are the traits: curiosity high."),  # not JSON
        reply(json.dumps({"traits": [{"trait": "charm", "value": 99, "reason": "x"}]})),  # outside the schema
        reply(json.dumps({"traits": [{"trait": "humor", "value": 500, "reason": "x"}]})),
        status(500),
        not_json(),
    ],
)
async def test_a_malformed_or_failed_model_answer_falls_back_to_the_lexicon(
    server: FakeModelServer, provider: OpenAICompatibleProvider, behaviour: Any
) -> None:
    server.script(behaviour)
    found = await trait_suggestions.suggest(provider, "A shy, quiet bookworm who loves puzzles")
    assert found == rules.from_lexicon("A shy, quiet bookworm who loves puzzles")
    assert found.source == "lexicon" and len(server.requests) == 1


async def test_offline_the_lexicon_answers_and_empty_findings_are_explained() -> None:
    found = await trait_suggestions.suggest(OfflineResponder(), "a witty pirate")
    assert found.source == "lexicon" and by_trait(found)["humor"].value == 73
    with pytest.raises(DomainError, match="could not read any traits"):
        await trait_suggestions.suggest(OfflineResponder(), "Bob from Leeds")
    with pytest.raises(DomainError, match="Describe your persona"):
        await trait_suggestions.suggest(OfflineResponder(), "  ")
    # A long description (step 1 holds up to 100,000 characters) is read in part: its beginning.
    long = await trait_suggestions.suggest(OfflineResponder(), "a witty pirate " + "x" * 5000 + " very shy")
    assert by_trait(long)["humor"].value == 73 and "extraversion" not in by_trait(long)
