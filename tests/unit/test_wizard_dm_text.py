"""The wizard typed in a DM (pure): every field by name on the rules alone, with the validators' own sentences."""

from __future__ import annotations

import pytest

from bot.core import wizard as rules
from bot.core.errors import DomainError
from bot.core.personas import BehaviorSettings


def say(state: rules.WizardState, text: str, image: str | None = None) -> rules.WizardState:
    action, arg, values = rules.interpret_text(state, text, image)
    assert action not in ("help", "describe", "cancel", "create", "show"), action
    return rules.apply(state, action, arg or ("7" if action == "random" else None), values)


def test_every_field_by_typing() -> None:
    state = rules.WizardState(1, rules.new_data())
    state = say(state, "Nova")
    state = say(state, "A starry guide")
    state = say(state, "", "https://cdn.example/nova.png")
    state = say(state, "skip")
    assert state.step == 2
    state = say(state, "template: Calm Listener")
    state = say(state, "curiosity 80, humour 30")
    state = say(state, "Empathy: 64")
    state = say(state, "leanings: bolder, warmer")
    state = say(state, "next")
    state = say(state, "deep")
    state = say(state, "hot memory size: 30")
    state = say(state, "encrypt: yes")
    state = say(state, "next")
    state = say(state, "reply when: mentioned and replied")
    for line in ("chattiness: 25%", "verbosity: brief", "formality: Formal", "emoji: none", "threads: yes"):
        state = say(state, line)
    state = say(state, "cooldown: 30")
    state = say(state, "exchange depth: 2")
    state = say(state, "mood reactions: on")
    state = say(state, "step 5")
    state = say(state, "mood visibility: public")
    state = say(state, "remember people: no")
    state = say(state, "shareable: yes")
    state = say(state, "go to step 6")
    state = say(state, "scenario: A lighthouse\nat night")
    for line in (
        "greeting: Welcome, traveller.",
        "example dialogue: {{user}}: hi\n{{char}}: hello",
        "system prompt: Speak softly.",
        "post-history instructions: Stay in character.",
        "personality summary: calm, kind",
        "creator's notes: made for testing",
        "nickname: Nov",
        "alternate greetings: Hello there\n---\nAhoy",
    ):
        state = say(state, line)
    fields = rules.persona_fields(state.data)
    assert (fields["name"], fields["description"], fields["avatar_url"]) == (
        "Nova",
        "A starry guide",
        "https://cdn.example/nova.png",
    )
    assert fields["traits"]["curiosity"] == 80 and fields["traits"]["humor"] == 30
    assert fields["traits"]["empathy"] == 64
    assert state.data["personality"]["leanings"] == ["bolder", "warmer"]
    assert fields["memory"]["hot_memory_size"] == 30 and fields["memory"]["encrypt_sensitive"] is True
    assert fields["behavior"] == {
        **BehaviorSettings().to_dict(),
        "reply_when_named": False,
        "chattiness": 25,
        "verbosity": "brief",
        "formality": "formal",
        "emoji_use": "none",
        "reply_in_threads": True,
        "cooldown_seconds": 30,
        "max_persona_exchange_depth": 2,
        "react_with_mood": True,
    }
    assert fields["privacy"]["visibility"]["mood"] == "public"
    assert fields["privacy"]["remember_people"] is False and fields["privacy"]["shareable"] is True
    assert fields["scenario"] == "A lighthouse\nat night" and fields["nickname"] == "Nov"
    assert fields["example_dialogue"] == "{{user}}: hi\n{{char}}: hello"
    assert fields["post_history_instructions"] == "Stay in character."
    assert fields["personality_text"] == "calm, kind" and fields["creator_notes"] == "made for testing"
    assert fields["alternate_greetings"] == ["Hello there", "Ahoy"]


@pytest.mark.parametrize(
    ("step", "text", "sentence"),
    [
        (2, "curiosity 150", "Curiosity must be from 0 to 100; got 150."),
        (2, "template: nonsense", "template"),
        (3, "hot memory size: lots", "Hot memory size must be a number; got 'lots'."),
        (3, "encrypt: perhaps", "The memory setting encrypt_sensitive must be yes or no."),
        (4, "chattiness: 101", "Chattiness must be from 0 to 100; got 101."),
        (4, "verbosity: epic", "Verbosity must be one of: brief, balanced, detailed; 'epic' is not."),
        (4, "threads: maybe", "Reply in threads must be yes or no."),
        (4, "cooldown: 99999", "Cooldown must be from 0 to 3600; got 99999."),
        (4, "reply when: always", "'always' is not a time to reply."),
        (5, "mood visibility: all", "Visibility of mood must be one of: owner, server, public; 'all' is not."),
        (6, "nickname: " + "n" * 201, "nickname"),
    ],
)
def test_a_bad_value_is_refused_with_the_validators_sentence(step: int, text: str, sentence: str) -> None:
    state = rules.WizardState(step, {**rules.new_data("calm-listener"), "name": "Nova"})
    with pytest.raises(DomainError) as refused:
        say(state, text)
    assert sentence in str(refused.value)


def test_the_questionnaire_by_typing_with_back_and_stop() -> None:
    state = say(rules.WizardState(2, {**rules.new_data(), "name": "Nova"}), "quiz")
    progress = rules.quiz_progress(state.data)
    assert progress is not None and progress.number == 1
    assert rules.interpret_text(state, "back") == ("quiz-stop", None, None)  # nothing before the first question
    state = say(state, "4")
    for wrong in ("-1", "0", "6", "12"):
        with pytest.raises(DomainError, match="Answers go from 1"):
            say(state, wrong)
    assert rules.interpret_text(state, "back") == ("quiz-back", None, None)
    assert rules.interpret_text(state, "stop") == ("quiz-stop", None, None)
    while rules.quiz_progress(state.data) is not None:
        state = say(state, "3")
    assert state.data["personality"]["mode"] == "quiz" and state.data["traits"] is not None


def test_words_for_the_service_and_help_for_every_step() -> None:
    state = rules.WizardState(2, rules.new_data())
    assert rules.interpret_text(state, "describe: a shy bookworm") == ("describe", None, "a shy bookworm")
    assert rules.interpret_text(state, "describe") == ("describe", None, None)
    for word, action in (("help", "help"), ("Skip", "next"), ("quit", "cancel"), ("save", "create"), ("show", "show")):
        assert rules.interpret_text(state, word)[0] == action
    for step in range(1, 7):
        text = rules.dm_help(rules.WizardState(step, rules.new_data()))
        assert text.startswith(f"**Step {step} of 6: ")
    assert "scenario" in rules.dm_help(rules.WizardState(6, rules.new_data()))
    with pytest.raises(DomainError, match="'help' lists everything"):
        rules.interpret_text(rules.WizardState(4, rules.new_data()), "something else")


def test_suggestions_are_kept_until_the_traits_come_from_elsewhere() -> None:
    values = {
        "traits": {**rules.new_data("calm-listener")["traits"], "curiosity": 78.0},
        "suggestions": [{"trait": "curiosity", "value": 78, "reason": "'loves to explore'"}],
        "source": "lexicon",
    }
    state = rules.apply(rules.WizardState(2, rules.new_data()), "suggested", None, values)
    assert state.data["traits"]["curiosity"] == 78 and state.data["personality"]["mode"] == "described"
    state = say(state, "curiosity 60")
    assert state.data["suggestions"] and state.data["traits"]["curiosity"] == 60
    state = say(state, "stoic mentor")
    assert "suggestions" not in state.data
    with pytest.raises(DomainError):
        rules.apply(state, "suggested", None, {**values, "traits": {"curiosity": 500}})
