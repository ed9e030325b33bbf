"""The one reading of typed text, ids and whole numbers (bot/core/inputs.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core import inputs
from bot.core.errors import DomainError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42),
        (" 7 ", 7),
        (str(2**63 - 1), 2**63 - 1),
        (str(2**63), None),  # past 64 bits: no id can be this
        ("9" * 30, None),
        ("9" * 5000, None),  # never handed to int()
        ("0", None),
        ("-3", None),
        ("²", None),  # str.isdigit() says yes, int() raises
        ("٣", None),  # int() reads it as 3: another script's numeral is not an id
        ("12a", None),
        ("", None),
    ],
)
def test_parse_id(text: str, expected: int | None) -> None:
    assert inputs.parse_id(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0" * 5000 + "1", 1),  # leading zeros count for nothing: int() would refuse the 5,001 digits
        ("-" + "0" * 5000 + "12", -12),
        ("+" + "0" * 5000, 0),
        ("0" * 5000 + "9" * 30, None),  # too many digits that count
        ("9" * 5000, None),
    ],
)
def test_whole_number_reads_leading_zeros_without_raising(text: str, expected: int | None) -> None:
    assert inputs.whole_number(text) == expected
    if expected is not None:
        assert inputs.parse_whole(text, "Days", minimum=-100, maximum=100) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("²", "must be a whole number from 1 to 10; '²' is not"),
        ("3.5", "must be a whole number"),
        ("11", "must be from 1 to 10; 11 is not"),
        ("9" * 40, "must be a whole number"),
        ("", "must be a whole number"),
    ],
)
def test_parse_whole_refuses_with_a_sentence(text: str, message: str) -> None:
    with pytest.raises(DomainError, match=message):
        inputs.parse_whole(text, "The threshold", minimum=1, maximum=10)
    assert inputs.parse_whole(" -2 ", "x", minimum=-5, maximum=5) == -2


@given(st.text())
def test_parsers_never_raise_anything_but_a_domain_error(text: str) -> None:
    value = inputs.parse_id(text)
    assert value is None or 0 < value < 2**63
    try:
        inputs.parse_whole(text, "It", minimum=-100, maximum=100)
    except DomainError:
        pass


def test_the_text_rule() -> None:
    assert inputs.require_storable("Zoë 🙂", "The name") == "Zoë 🙂"
    with pytest.raises(DomainError, match="The name contains a NUL character"):
        inputs.require_storable("Ev\x00e", "The name")
    with pytest.raises(DomainError, match="not valid Unicode"):
        inputs.require_storable("a\ud800b", "The name")
    assert inputs.storable("sail\x00ing") == "sailing"
    assert inputs.storable("a\ud800b") == "a?b"
    assert inputs.storable("fine") == "fine"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ("[" * 65 + "]" * 65, "nested too deeply"),
        ('{"n": ' + "1" * 5000 + "}", "number too long"),
        ('{"n": 1e999}', "number too large"),
        ("1e999", "number too large"),
    ],
)
def test_parse_json_text_refuses_with_a_sentence(text: str, message: str) -> None:
    with pytest.raises(DomainError, match=message):
        inputs.parse_json_text(text, "The file")


def test_parse_json_text_reads_json() -> None:
    nested: object = 1
    for _ in range(63):
        nested = [nested]
    assert inputs.parse_json_text('{"a": [1, 2.5, "x"]}', "The file") == {"a": [1, 2.5, "x"]}
    assert inputs.parse_json_text(str(nested), "The file") == nested


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"a\x00": 1}, "NUL character"),
        ({"a": [{"b": "x\x00"}]}, "NUL character"),
        ({"a": [1.0, float("inf")]}, "number too large"),
        (float("nan"), "number too large"),
        ({"a": "\ud800"}, "not valid Unicode"),
    ],
)
def test_check_document_refuses_what_cannot_be_kept(document: object, message: str) -> None:
    with pytest.raises(DomainError, match=message):
        inputs.check_document(document, "The file")
