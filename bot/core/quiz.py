"""Big-Five questionnaires (IPIP, public domain) and their scoring (SCIENCE.md section 6).

The items, their keys and the answer labels live in ``data/questionnaires.toml``. Scoring follows the
ipip.ori.org instructions: answers go from 1 (very inaccurate) to 5 (very accurate); a ``+`` item scores the
answer ``x``, a ``-`` item scores ``6 - x``; item scores are summed per scale, and a scale of ``k`` items maps
to 0..100 as ``(sum - k) / (4k) x 100``. A scale marked ``inverted`` measures the opposite of its trait (the
IPIP-50's emotional stability), so the trait is ``100 - score``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.core import catalog
from bot.core.errors import DomainError
from bot.core.traits import BIG_FIVE

LOWEST_ANSWER = 1
HIGHEST_ANSWER = 5


@dataclass(frozen=True)
class Question:
    """One statement of a questionnaire.

    ``number`` counts from 1 in administration order; ``scale`` is the scale's code in the data file (``E``,
    ``A``, ``C``, ``N``, ``ES`` or ``O``); ``keyed`` is ``"+"`` or ``"-"``.
    """

    number: int
    text: str
    scale: str
    keyed: str


@dataclass(frozen=True)
class Instrument:
    """A questionnaire the wizard can offer: its id (for :func:`score`), display name and size."""

    id: str
    name: str
    description: str
    source: str
    stem: str
    question_count: int


def _table() -> dict[str, Any]:
    return catalog.load("questionnaires")


def _instrument_row(instrument: str) -> tuple[str, dict[str, Any]]:
    """The id (case and surrounding spaces ignored) and data row of an instrument, or DomainError."""
    table = _table()["instruments"]
    key = instrument.strip().lower() if isinstance(instrument, str) else None
    if key not in table:
        choices = " or ".join(table)
        raise DomainError(f"There is no questionnaire called {instrument!r}; choose {choices}.")
    return key, table[key]


def instruments() -> list[Instrument]:
    """The questionnaires on offer, in the data file's order."""
    return [
        Instrument(
            id=key,
            name=row["name"],
            description=row["description"],
            source=row["source"],
            stem=row["stem"],
            question_count=len(row["items"]),
        )
        for key, row in _table()["instruments"].items()
    ]


def questions(instrument: str) -> list[Question]:
    """The instrument's questions in administration order, for "Question 7 of 20".

    An unknown id raises DomainError.
    """
    _, row = _instrument_row(instrument)
    return [
        Question(number=number, text=item["text"], scale=item["scale"], keyed=item["keyed"])
        for number, item in enumerate(row["items"], start=1)
    ]


def answer_labels() -> tuple[str, ...]:
    """The labels of the answers 1..5, in order: "Very inaccurate" .. "Very accurate"."""
    return tuple(_table()["answer_labels"])


def instructions() -> str:
    """The text shown before the first question."""
    return str(_table()["instructions"])


def _answer_range_text() -> str:
    labels = answer_labels()
    return f"answers go from {LOWEST_ANSWER} ({labels[0].lower()}) to {HIGHEST_ANSWER} ({labels[-1].lower()})"


def _check_answer(position: int, answer: object) -> int:
    # Whole numbers only: 3.0 is accepted (JSON, sliders), 2.5, True, "3" and NaN are not.
    if isinstance(answer, bool) or not isinstance(answer, numbers.Real):
        raise DomainError(f"Answer {position} is {answer!r}; {_answer_range_text()}.")
    value = float(answer)
    if not math.isfinite(value) or not value.is_integer():
        raise DomainError(f"Answer {position} is {answer!r}; {_answer_range_text()}, in whole numbers.")
    if not LOWEST_ANSWER <= value <= HIGHEST_ANSWER:
        raise DomainError(f"Answer {position} is {int(value)}; {_answer_range_text()}.")
    return int(value)


def score(instrument: str, answers: Sequence[int]) -> dict[str, float]:
    """The Big Five (0..100) from a questionnaire's answers.

    ``instrument`` is ``"mini-ipip"`` or ``"ipip-50"``; ``answers`` are 1..5 in administration order. Returns
    ``openness``, ``conscientiousness``, ``extraversion``, ``agreeableness`` and ``neuroticism``. A wrong
    number of answers, an answer that is not a whole number from 1 to 5, or an unknown instrument raises
    :class:`DomainError` (a ``ValueError``) whose message says which.
    """
    _, row = _instrument_row(instrument)
    items = row["items"]
    # Any iterable of numbers will do (a list, a tuple, an array); text is a common mistake, refused.
    if isinstance(answers, str | bytes | Mapping) or not isinstance(answers, Iterable):
        raise DomainError(f"The answers to the {row['name']} must be a list of numbers.")
    answers = list(answers)
    if len(answers) != len(items):
        raise DomainError(f"The {row['name']} has {len(items)} questions; got {len(answers)} answers.")
    checked = [_check_answer(position, answer) for position, answer in enumerate(answers, start=1)]

    sums: dict[str, int] = {}
    counts: dict[str, int] = {}
    for item, answer in zip(items, checked, strict=True):
        # Reverse keying: on a 1..5 scale, "-" items score 6 - x (LOWEST + HIGHEST - x).
        item_score = answer if item["keyed"] == "+" else LOWEST_ANSWER + HIGHEST_ANSWER - answer
        sums[item["scale"]] = sums.get(item["scale"], 0) + item_score
        counts[item["scale"]] = counts.get(item["scale"], 0) + 1

    result: dict[str, float] = {}
    for code, scale in row["scales"].items():
        k = counts[code]
        # Multiply before dividing so that exact results (17.5, 62.5) stay exact in floating point.
        value = (sums[code] - LOWEST_ANSWER * k) * 100 / ((HIGHEST_ANSWER - LOWEST_ANSWER) * k)
        result[scale["trait"]] = 100.0 - value if scale.get("inverted", False) else value
    return {trait: result[trait] for trait in BIG_FIVE}
