"""The character's rules (bot.core.character) and the wizard's character actions: limits, the text rule,
alternate greetings typed in a form, and what saving a draft gives the persona."""

from __future__ import annotations

import pytest

from bot.core import card_reading, character
from bot.core import wizard as rules
from bot.core.errors import DomainError
from bot.core.personas import DESCRIPTION_MAX, validate_description


def test_every_text_field_holds_up_to_the_limit_and_refuses_one_more() -> None:
    for name in character.TEXT_FIELDS:
        limit = character.NICKNAME_MAX if name == "nickname" else character.TEXT_MAX
        assert character.validate_text(name, "a" * limit) == "a" * limit
        with pytest.raises(DomainError, match=f"{limit + 1:,} characters long; the limit is {limit:,}"):
            character.validate_text(name, "a" * (limit + 1))
    assert character.TEXT_MAX == DESCRIPTION_MAX == card_reading.TEXT_MAX == 100_000  # one set, typed or imported
    assert validate_description("d" * 100_000) == "d" * 100_000
    with pytest.raises(DomainError, match="The description is 100,001 characters long; the limit is 100,000"):
        validate_description("d" * 100_001)


def test_text_keeps_its_lines_and_is_trimmed_and_the_nickname_is_one_line() -> None:
    dialogue = "  <START>\n{{user}}: Hi!\n\n{{char}}:   Well met.  \n"
    assert character.validate_text("example_dialogue", dialogue) == "<START>\n{{user}}: Hi!\n\n{{char}}:   Well met."
    assert character.validate_text("nickname", "  Ada \n  L. ") == "Ada L."
    assert character.validate_text("scenario", None) == ""


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("scenario", "a\x00b", "The scenario contains a NUL character"),
        ("greeting", "\ud800", "The greeting contains text that is not valid Unicode"),
        ("creator_notes", 5, "The creator's notes must be text"),
    ],
)
def test_text_that_cannot_be_kept_is_refused_with_its_name(name: str, value: object, message: str) -> None:
    with pytest.raises(DomainError, match=message):
        character.validate_text(name, value)


def test_alternate_greetings_limits() -> None:
    hundred = [f"Hello {n}" for n in range(100)]
    assert character.validate_alternate_greetings([*hundred, "  ", ""]) == hundred  # blank ones are dropped
    with pytest.raises(DomainError, match="101 alternate greetings; a persona can have at most 100"):
        character.validate_alternate_greetings([*hundred, "one more"])
    assert character.validate_alternate_greetings(["g" * 20_000] * 5) == ["g" * 20_000] * 5  # as real cards carry
    with pytest.raises(DomainError, match="Alternate greeting 2 is 100,001 characters long; the limit is 100,000"):
        character.validate_alternate_greetings(["hi", "g" * 100_001])
    with pytest.raises(DomainError, match="100,001 characters long together; the limit is 100,000"):
        character.validate_alternate_greetings(["g" * 50_000, "g" * 50_001])
    with pytest.raises(DomainError, match="Alternate greeting 1 contains a NUL"):
        character.validate_alternate_greetings(["\x00"])
    for bad in ("just text", [1], {"a": 1}):
        with pytest.raises(DomainError, match="must be"):
            character.validate_alternate_greetings(bad)


def test_as_written_checks_the_same_limits_and_keeps_the_text() -> None:
    given = {"scenario": "  A tavern\n", "nickname": " Ada  L. ", "alternate_greetings": [" hi ", ""]}
    assert character.validate_character(given, as_written=True) == given
    with pytest.raises(DomainError, match="The scenario is 100,001 characters long"):
        character.validate_character({"scenario": "s" * 100_001}, as_written=True)
    with pytest.raises(DomainError, match="The nickname is 201 characters long"):
        character.validate_character({"nickname": "n" * 201}, as_written=True)


def test_validate_character_leaves_out_none_and_refuses_unknown_fields() -> None:
    assert character.validate_character({"scenario": " A tavern ", "greeting": None}) == {"scenario": "A tavern"}
    with pytest.raises(DomainError, match="Unknown character field: first_mes"):
        character.validate_character({"first_mes": "hi"})
    assert set(character.CHARACTER_FIELDS) == set(character.empty_character())


def test_greetings_in_a_form_split_on_lines_of_three_dashes_only() -> None:
    typed = "Hello there.\n\nSecond paragraph.\n---\n  Hi!  \r\n ---  \n\n---\nA --- in a line stays"
    assert character.split_greetings(typed) == ["Hello there.\n\nSecond paragraph.", "Hi!", "A --- in a line stays"]
    greetings = ["One\n\ntwo", "Three"]
    assert character.split_greetings(character.join_greetings(greetings)) == greetings


def test_pack_greetings_fills_boxes_in_order_and_says_when_they_do_not_fit() -> None:
    assert character.pack_greetings([], 5, 4000) == []
    assert character.pack_greetings(["a", "b"], 5, 4000) == ["a\n---\nb"]
    big = ["x" * 3000, "y" * 3000, "z" * 10]
    assert character.pack_greetings(big, 5, 4000) == ["x" * 3000, "y" * 3000 + "\n---\n" + "z" * 10]
    assert character.pack_greetings(["x" * 3000] * 6, 5, 4000) is None
    assert character.pack_greetings(["x" * 4001], 5, 4000) is None


def test_summary_says_what_the_character_has() -> None:
    values = {**character.empty_character(), "greeting": "Hi", "scenario": "s" * 1200, "alternate_greetings": ["a"]}
    assert character.character_summary(values) == [
        "Scenario: 1,200 characters",
        "Greeting: 2 characters",
        "Alternate greetings: 1",
    ]
    assert character.character_summary(character.empty_character()) == []


# --------------------------------------------------------------------------------------------------- the wizard


def review(**character_values: object) -> rules.WizardState:
    data = rules.new_data("calm-listener")
    data["name"] = "Ada"
    data["character"] = {**data["character"], **character_values}
    return rules.WizardState(step=rules.TOTAL_STEPS, data=data)


def test_the_character_form_changes_only_what_it_sent() -> None:
    before = review(nickname="Addy", alternate_greetings=["Hey"])
    after = rules.apply(before, "character", values={"scenario": " A lighthouse ", "greeting": "Welcome!"})
    assert after.data["character"] == {
        **before.data["character"],
        "scenario": "A lighthouse",
        "greeting": "Welcome!",
    }
    assert after.step == rules.TOTAL_STEPS and before.data["character"]["scenario"] == ""  # the input is kept
    cleared = rules.apply(after, "character", values={"greeting": ""})
    assert cleared.data["character"]["greeting"] == "" and cleared.data["character"]["scenario"] == "A lighthouse"


def test_a_refused_character_form_changes_nothing() -> None:
    before = review(scenario="Kept")
    with pytest.raises(DomainError, match="The nickname is 201 characters long; the limit is 200"):
        rules.apply(before, "character", values={"scenario": "New", "nickname": "n" * 201})
    with pytest.raises(DomainError, match="no character field called name"):
        rules.apply(before, "character", values={"name": "Bea"})
    assert before.data["character"]["scenario"] == "Kept"


def test_the_greetings_form_replaces_all_greetings_in_box_order() -> None:
    before = review(alternate_greetings=["Old"])
    boxes = {f"greetings_{n}": "" for n in range(1, 6)}
    after = rules.apply(before, "greetings", values={**boxes, "greetings_1": "One\n---\nTwo", "greetings_3": "Three"})
    assert after.data["character"]["alternate_greetings"] == ["One", "Two", "Three"]
    emptied = rules.apply(after, "greetings", values=boxes)
    assert emptied.data["character"]["alternate_greetings"] == []
    too_many = "\n---\n".join(f"Hi {n}" for n in range(101))
    with pytest.raises(DomainError, match="101 alternate greetings"):
        rules.apply(after, "greetings", values={**boxes, "greetings_1": too_many})
    with pytest.raises(DomainError, match="does not hold alternate greetings"):
        rules.apply(after, "greetings", values={"scenario": "x"})


def test_saving_gives_the_character_and_an_older_draft_keeps_the_personas() -> None:
    state = rules.apply(review(), "character", values={"scenario": "A lighthouse", "nickname": "Addy"})
    fields = rules.persona_fields(state.data)
    assert fields["scenario"] == "A lighthouse" and fields["nickname"] == "Addy"
    assert fields["alternate_greetings"] == [] and set(character.CHARACTER_FIELDS) <= set(fields)
    older = dict(state.data)
    del older["character"]  # a draft saved before the character existed: saving leaves the persona's alone
    assert not set(character.CHARACTER_FIELDS) & set(rules.persona_fields(older))


def test_an_edit_wizard_starts_from_the_personas_character() -> None:
    current = {**character.empty_character(), "greeting": "Hello", "alternate_greetings": ["Hi", "Hey"]}
    data = rules.data_from_persona(
        name="Ada",
        description="",
        avatar_url=None,
        traits=rules.new_data("calm-listener")["traits"],
        behavior={},
        privacy={},
        memory={},
        character=current,
    )
    assert data["character"] == current
    assert rules.persona_fields(data)["alternate_greetings"] == ["Hi", "Hey"]
