"""The wizard's pure rules: step validation, transitions, quiz progress and going back, DM text."""

from __future__ import annotations

import pytest

from bot.core import memory as memory_rules
from bot.core import personality, quiz
from bot.core import wizard as rules
from bot.core.errors import DomainError
from bot.core.traits import ALL_TRAITS


def state(step: int = 1, **changes: object) -> rules.WizardState:
    data = rules.new_data()
    data.update(changes)
    return rules.WizardState(step=step, data=data)


def named(step: int = 1, template: str = "calm-listener") -> rules.WizardState:
    data = rules.new_data(template)
    data["name"] = "Ada"
    return rules.WizardState(step=step, data=data)


def test_a_new_wizard_has_defaults_and_the_templates_traits() -> None:
    data = rules.new_data("stoic-mentor")
    assert data["traits"] == personality.get_template("stoic-mentor").traits
    assert data["memory_preset"] == "balanced" and data["memory"] == memory_rules.config_to_dict(
        memory_rules.default_config()
    )
    assert rules.new_data()["traits"] is None
    with pytest.raises(DomainError, match="no template called 'nope'"):
        rules.new_data("nope")


def test_next_validates_the_current_step_and_stays_when_invalid() -> None:
    blank = state(1)
    with pytest.raises(DomainError, match="needs a name"):
        rules.apply(blank, "next")
    assert rules.apply(named(1), "next").step == 2
    no_traits = state(2, name="Ada")
    with pytest.raises(DomainError, match="Choose a personality first"):
        rules.apply(no_traits, "next")
    assert no_traits.step == 2 and no_traits.data["traits"] is None  # the input is never changed


def test_back_and_goto() -> None:
    assert rules.apply(named(1), "back").step == 1
    assert rules.apply(named(4), "back").step == 3
    assert rules.apply(named(6), "goto", "2").step == 2
    assert rules.apply(named(1), "goto", "6").step == 6  # forward over complete steps
    with pytest.raises(DomainError, match="needs a name"):
        rules.apply(state(1), "goto", "3")
    with pytest.raises(DomainError, match="no step 7"):
        rules.apply(named(1), "goto", "7")


def test_basics_are_validated_and_invalid_values_change_nothing() -> None:
    done = rules.apply(state(1), "basics", values={"name": "  Ada   Lovelace ", "avatar_url": "https://x.org/a.png"})
    assert done.data["name"] == "Ada Lovelace" and done.data["avatar_url"] == "https://x.org/a.png"
    for bad, message in (
        ({"name": "Clyde"}, "cannot contain 'clyde'"),
        ({"name": "x" * 201}, "limit is 200"),
        ({"name": "Ada", "avatar_url": "ftp://x"}, "http:// or https://"),
        ({"name": "Ada", "description": "d" * 100_001}, "limit is 100,000"),
    ):
        with pytest.raises(DomainError, match=message):
            rules.apply(done, "basics", values=bad)
    long = rules.apply(done, "basics", values={"name": "x" * 150})  # a card's long name is a typed name too
    assert long.data["name"] == "x" * 150


def test_the_basics_form_holds_a_long_name_and_leaves_out_a_long_description() -> None:
    from datetime import UTC, datetime

    import discord

    from bot.services.wizard import Draft
    from bot.ui.wizard.modals import basics_modal

    data = {"name": "n" * 150, "description": "d" * 20_000, "avatar_url": None}
    draft = Draft(1, 2, 3, None, None, None, 1, data, datetime(2026, 1, 1, tzinfo=UTC))
    inputs = {item.custom_id: item for item in basics_modal(draft).children if isinstance(item, discord.ui.TextInput)}
    name = inputs["name"]
    assert name.default == "n" * 150 and name.max_length is not None and name.max_length >= 150  # Discord takes it
    assert "description" not in inputs  # kept as it is: the form would cut it


def test_quiz_progress_back_and_scoring() -> None:
    running = rules.apply(named(2), "quiz", "mini-ipip")
    progress = rules.quiz_progress(running.data)
    assert progress is not None and (progress.number, progress.total, progress.previous_answer) == (1, 20, None)
    assert progress.text == quiz.questions("mini-ipip")[0].text
    with pytest.raises(DomainError, match="first question"):
        rules.apply(running, "quiz-back")
    with pytest.raises(DomainError, match="Finish the questionnaire first \\(question 1 of 20\\)"):
        rules.apply(running, "next")

    answers = [(i % 5) + 1 for i in range(20)]
    for value in answers[:7]:
        running = rules.apply(running, "answer", str(value))
    assert rules.quiz_progress(running.data).number == 8  # type: ignore[union-attr]
    running = rules.apply(running, "quiz-back")
    progress = rules.quiz_progress(running.data)
    assert progress is not None and progress.number == 7 and progress.previous_answer == answers[6]
    running = rules.apply(running, "answer", "1")  # changed
    answers[6] = 1
    for value in answers[7:]:
        running = rules.apply(running, "answer", str(value))
    assert running.data["quiz"] is None and running.data["personality"]["mode"] == "quiz"
    assert running.data["traits"] == personality.derive_traits(quiz.score("mini-ipip", answers))
    assert rules.apply(running, "next").step == 3
    with pytest.raises(DomainError, match="1 \\(very inaccurate\\) to 5"):
        rules.apply(rules.apply(named(2), "quiz", "ipip-50"), "answer", "6")
    assert rules.quiz_progress(rules.apply(named(2), "quiz", "ipip-50").data).total == 50  # type: ignore[union-attr]


def test_random_is_seeded_and_honours_leanings() -> None:
    leaning = rules.apply(named(2), "leanings", values=["calmer"])
    rolled = rules.apply(leaning, "random", "42")
    assert rolled.data["traits"] == personality.random_traits(42, ["calmer"])
    assert rolled.data["traits"]["neuroticism"] <= 35
    with pytest.raises(DomainError, match="no leaning called 'grumpier'"):
        rules.apply(named(2), "leanings", values=["grumpier"])


def test_manual_adjustment_nudges_and_typed_values() -> None:
    adjusting = rules.apply(named(2), "adjust")
    adjusting = rules.apply(adjusting, "adjust-trait", values=["humor"])
    before = adjusting.data["traits"]["humor"]
    nudged = rules.apply(rules.apply(adjusting, "nudge", "p10"), "nudge", "m1")
    assert nudged.data["traits"]["humor"] == min(100, before + 10) - 1
    top = rules.apply(adjusting, "traits", values={"humor": "99"})
    assert rules.apply(top, "nudge", "p10").data["traits"]["humor"] == 100  # clamped
    with pytest.raises(DomainError, match="Humor must be from 0 to 100"):
        rules.apply(adjusting, "traits", values={"humor": "150"})
    with pytest.raises(DomainError, match="must be a number"):
        rules.apply(adjusting, "traits", values={"openness": "lots"})
    assert [len(page) for page in rules.TRAIT_PAGES] == [5, 5, 4]
    assert sum(rules.TRAIT_PAGES, ()) == ALL_TRAITS


def test_memory_presets_and_advanced_values() -> None:
    deep = rules.apply(named(3), "memory-preset", "deep")
    assert deep.data["memory_preset"] == "deep"
    assert deep.data["memory"]["hot_memory_size"] == memory_rules.preset("deep").hot_memory_size
    custom = rules.apply(deep, "memory", values={"hot_memory_size": "30", "decay_function": "Linear"})
    assert custom.data["memory"]["decay_function"] == "linear" and custom.data["memory_preset"] == "custom"
    with pytest.raises(DomainError, match="number of hot memories"):
        rules.apply(deep, "memory", values={"hot_memory_size": "999999"})


def test_behaviour_and_privacy_changes() -> None:
    changed = rules.apply(named(4), "reply-when", values=["mentioned"])
    assert changed.data["behavior"]["reply_when_named"] is False
    assert rules.apply(changed, "emoji").data["behavior"]["emoji_use"] == "lots"
    assert rules.apply(changed, "chattiness", values=["50"]).data["behavior"]["chattiness"] == 50
    with pytest.raises(DomainError):
        rules.apply(changed, "verbosity", values=["rambling"])
    private = rules.apply(rules.apply(named(5), "privacy-field", values=["mood"]), "visibility", "public")
    assert private.data["privacy"]["visibility"]["mood"] == "public"
    assert (
        rules.apply(private, "encrypt").data["memory"]["encrypt_sensitive"]
        is not private.data["memory"]["encrypt_sensitive"]
    )


def test_persona_fields_and_edit_data_round_trip() -> None:
    fields = rules.persona_fields(named(6).data)
    assert fields["name"] == "Ada" and set(fields["traits"]) == set(ALL_TRAITS)
    again = rules.data_from_persona(
        name=fields["name"],
        description=fields["description"],
        avatar_url=fields["avatar_url"],
        traits=fields["traits"],
        behavior=fields["behavior"],
        privacy=fields["privacy"],
        memory=fields["memory"],
    )
    assert rules.persona_fields(again) == fields


def test_dm_text() -> None:
    assert rules.interpret_text(state(1), "Nova") == ("basics", None, {"name": "Nova"})
    assert rules.interpret_text(named(1), "a guide") == ("basics", None, {"description": "a guide"})
    assert rules.interpret_text(named(1), "avatar: https://x.org/a.png")[2] == {"avatar_url": "https://x.org/a.png"}
    assert rules.interpret_text(named(2), "Stoic Mentor") == ("template", "stoic-mentor", None)
    assert rules.interpret_text(named(3), "NEXT") == ("next", None, None)
    with pytest.raises(DomainError, match="preset"):
        rules.interpret_text(named(3), "lots please")


def test_pausing_the_questionnaire_keeps_its_answers_until_it_is_resumed() -> None:
    running = rules.apply(named(2), "quiz", "mini-ipip")
    for value in ("5", "4", "3"):
        running = rules.apply(running, "answer", value)
    paused = rules.apply(running, "quiz-stop")
    assert paused.data["quiz"] is None and rules.paused_quiz(paused.data) == ("mini-ipip", 3)
    resumed = rules.apply(paused, "quiz", "mini-ipip")
    progress = rules.quiz_progress(resumed.data)
    assert progress is not None and progress.number == 4 and resumed.data["quiz"]["answers"] == [5, 4, 3]
    assert rules.paused_quiz(resumed.data) is None
    # Another questionnaire starts afresh; going back a step pauses too; a finished one keeps nothing paused.
    other = rules.apply(paused, "quiz", "ipip-50")
    assert rules.quiz_progress(other.data).number == 1  # type: ignore[union-attr]
    assert rules.paused_quiz(rules.apply(running, "back").data) == ("mini-ipip", 3)
    for _ in range(17):
        resumed = rules.apply(resumed, "answer", "3")
    assert resumed.data["quiz"] is None and rules.paused_quiz(resumed.data) is None
    assert resumed.data["personality"]["mode"] == "quiz"
