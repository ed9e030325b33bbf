"""Trait values suggested by a description (pure): "a shy, quiet bookworm who loves puzzles" -> low extraversion,
high curiosity, each with the words that suggested it.

Two sources give the same shape, :class:`Suggestions`: :func:`from_lexicon` reads the words of
``data/trait_lexicon.toml`` (offline, always available), and :func:`from_model` checks a model's answer against
:data:`MODEL_SCHEMA` (the service in :mod:`bot.services.trait_suggestions` asks the model and falls back to the
lexicon when the answer cannot be used). Traits the description says nothing about follow from the Big Five
(:func:`bot.core.personality.derive_traits`), as everywhere else.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from bot.core import catalog, personality
from bot.core.errors import DomainError
from bot.core.traits import ALL_TRAITS, BIG_FIVE, TRAIT_MAX, TRAIT_MIN, label

LEXICON_TABLE = "trait_lexicon"
REASON_MAX = 200  # characters of one reason
DESCRIBE_MAX = 2000  # characters of a description read for suggestions
SOURCES = ("lexicon", "model")
_WORD = re.compile(r"[a-z0-9]+(?:['’-][a-z0-9]+)*|[,.;:!?()]")
_BREAKS = frozenset(",.;:!?()")

# What a model must answer (OpenAI's ``response_format`` json_schema, strict: every key required, nothing else).
MODEL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "traits": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "trait": {"type": "string", "enum": list(ALL_TRAITS)},
                    "value": {"type": "integer", "minimum": 0, "maximum": 100},
                    "reason": {"type": "string"},
                },
                "required": ["trait", "value", "reason"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["traits"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class Suggestion:
    """One trait the description spoke of: its suggested value (0..100) and why (the words, or the model's reason)."""

    trait: str
    value: int
    reasons: tuple[str, ...]

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)

    def line(self) -> str:
        """``Curiosity 78 — 'loves to explore'``."""
        return f"{label(self.trait)} {self.value} — {self.reason}"


@dataclass(frozen=True)
class Suggestions:
    """All fourteen traits (``traits``), the ones the description spoke of (``suggested``, with reasons) and where
    they came from (``source``: lexicon or model)."""

    traits: dict[str, float]
    suggested: tuple[Suggestion, ...]
    source: str

    def to_values(self) -> dict[str, Any]:
        """The JSON-able values of the wizard's ``suggested`` action."""
        return {
            "traits": dict(self.traits),
            "suggestions": [{"trait": s.trait, "value": s.value, "reason": s.reason} for s in self.suggested],
            "source": self.source,
        }


# --------------------------------------------------------------------------------------------------- the lexicon


@dataclass(frozen=True)
class Lexicon:
    """The phrases (as word tuples) and the traits each moves (+1 up, -1 down), and the scoring rules."""

    phrases: Mapping[tuple[str, ...], Mapping[str, float]]
    longest: int
    spread: float
    steepness: float
    window: int
    negations: frozenset[str]
    intensifiers: Mapping[str, float]


def words(text: str) -> list[str]:
    """The lower-case words of ``text`` (hyphens and apostrophes kept inside a word), and punctuation between
    clauses as words of its own (a negation never reaches past it)."""
    return _WORD.findall(text.lower().replace("’", "'"))


def build_lexicon(table: Mapping[str, Any]) -> Lexicon:
    """The lexicon of a table shaped like ``data/trait_lexicon.toml``; DomainError for a trait it does not know."""
    phrases: dict[tuple[str, ...], dict[str, float]] = {}
    for trait, directions in table.items():
        if trait == "scoring":
            continue
        if trait not in ALL_TRAITS:
            raise DomainError(f"The trait lexicon names '{trait}', which is not a trait.")
        for key, sign in (("up", 1.0), ("down", -1.0)):
            for phrase in directions.get(key, []):
                phrases.setdefault(tuple(words(phrase)), {})[trait] = sign
    scoring = table.get("scoring", {})
    return Lexicon(
        phrases=phrases,
        longest=max((len(p) for p in phrases), default=1),
        spread=float(scoring.get("spread", 45.0)),
        steepness=float(scoring.get("steepness", 0.55)),
        window=int(scoring.get("window", 2)),
        negations=frozenset(scoring.get("negations", [])),
        intensifiers=dict(scoring.get("intensifiers", {})),
    )


@cache
def shipped_lexicon() -> Lexicon:
    """The lexicon in ``data/trait_lexicon.toml`` (read once)."""
    return build_lexicon(catalog.load(LEXICON_TABLE))


def _match(tokens: Sequence[str], at: int, lexicon: Lexicon) -> tuple[int, Mapping[str, float]] | None:
    """The longest phrase starting at ``at``: how many words it takes and its traits (a final plural "s" is
    dropped when the word as written is not known)."""
    for size in range(min(lexicon.longest, len(tokens) - at), 0, -1):
        phrase = tuple(tokens[at : at + size])
        found = lexicon.phrases.get(phrase)
        if found is None and len(phrase[-1]) > 3 and phrase[-1].endswith("s"):
            found = lexicon.phrases.get((*phrase[:-1], phrase[-1][:-1]))
        if found is not None:
            return size, found
    return None


def _modifier(tokens: Sequence[str], at: int, floor: int, lexicon: Lexicon) -> tuple[float, str]:
    """How the words just before a phrase (back to ``floor``, the end of the phrase before) change it: the factor
    (negative when negated) and the words shown."""
    factor = 1.0
    start = at
    for position in range(at - 1, max(floor - 1, at - 1 - lexicon.window), -1):
        word = tokens[position]
        if word in _BREAKS:
            break
        if word in lexicon.negations or word.endswith("n't"):
            factor = -factor
            start = position
        elif word in lexicon.intensifiers:
            factor *= lexicon.intensifiers[word]
            start = position
    return factor, " ".join(tokens[start:at])


def value_of(score: float, lexicon: Lexicon) -> int:
    """A trait value from the sum of its hits: 50 for none, towards 5 or 95 for many."""
    raw = 50.0 + lexicon.spread * math.tanh(lexicon.steepness * score)
    return round(min(TRAIT_MAX, max(TRAIT_MIN, raw)))


def from_lexicon(description: str, lexicon: Lexicon | None = None) -> Suggestions:
    """The traits ``description`` suggests through the lexicon, each with the words that did (quoted)."""
    lexicon = lexicon or shipped_lexicon()
    tokens = words(description[:DESCRIBE_MAX])
    scores: dict[str, float] = {}
    reasons: dict[str, list[str]] = {}
    at = floor = 0
    while at < len(tokens):
        found = _match(tokens, at, lexicon)
        if found is None:
            at += 1
            continue
        size, traits = found
        factor, before = _modifier(tokens, at, floor, lexicon)
        shown = " ".join(filter(None, (before, *tokens[at : at + size])))
        for trait, sign in traits.items():
            scores[trait] = scores.get(trait, 0.0) + sign * factor
            quoted = f"'{shown}'"
            if quoted not in reasons.setdefault(trait, []):
                reasons[trait].append(quoted)
        at = floor = at + size
    suggested = [
        Suggestion(trait, value_of(scores[trait], lexicon), tuple(reasons[trait]))
        for trait in ALL_TRAITS
        if trait in scores and scores[trait] != 0
    ]
    return _complete(suggested, "lexicon")


def _complete(suggested: Sequence[Suggestion], source: str) -> Suggestions:
    """All fourteen traits: the Big Five suggested (50 where not), the others derived, then the suggested ones."""
    given = {s.trait: float(s.value) for s in suggested}
    traits = personality.derive_traits({t: given.get(t, 50.0) for t in BIG_FIVE})
    traits.update(given)
    return Suggestions(traits=traits, suggested=tuple(suggested), source=source)


# --------------------------------------------------------------------------------------------------- a model's answer


def from_model(answer: Any) -> Suggestions:
    """A model's answer (parsed JSON) checked against :data:`MODEL_SCHEMA` and the trait rules; DomainError saying
    what is wrong with it otherwise (the caller then falls back to the lexicon)."""
    if not isinstance(answer, Mapping) or set(answer) != {"traits"} or not isinstance(answer["traits"], list):
        raise DomainError("The model's answer is not an object holding a list of traits.")
    items = answer["traits"]
    if not 1 <= len(items) <= len(ALL_TRAITS):
        raise DomainError(f"The model suggested {len(items)} traits; 1 to {len(ALL_TRAITS)} are expected.")
    suggested: dict[str, Suggestion] = {}
    for item in items:
        if not isinstance(item, Mapping) or set(item) != {"trait", "value", "reason"}:
            raise DomainError("A suggestion of the model is not {trait, value, reason}.")
        trait, value, reason = item["trait"], item["value"], item["reason"]
        if trait not in ALL_TRAITS or trait in suggested:
            raise DomainError(f"The model suggested '{str(trait)[:40]}', unknown or twice.")
        if isinstance(value, bool) or not isinstance(value, int | float) or not TRAIT_MIN <= value <= TRAIT_MAX:
            raise DomainError(f"The model's value for {trait} is not a number from 0 to 100.")
        if not isinstance(reason, str) or not reason.strip() or "\x00" in reason:
            raise DomainError(f"The model gave no reason for {trait}.")
        text = " ".join(reason.split())
        text = text if len(text) <= REASON_MAX else text[: REASON_MAX - 1] + "…"
        suggested[trait] = Suggestion(trait, round(value), (f"'{text.strip(chr(39))}'",))
    return _complete([suggested[t] for t in ALL_TRAITS if t in suggested], "model")


def check_values(values: Mapping[str, Any]) -> tuple[dict[str, float], list[dict[str, Any]], str]:
    """The wizard's ``suggested`` action values (see :meth:`Suggestions.to_values`) checked: the traits (validated
    as any traits are), the suggestions (each a known trait, a value, a reason) and the source."""
    traits = personality.validate_traits(dict(values.get("traits") or {}))
    rows = values.get("suggestions")
    source = values.get("source")
    if not isinstance(rows, list) or source not in SOURCES:
        raise DomainError("Those suggestions are not in the expected shape.")
    checked = []
    for row in rows:
        if not isinstance(row, Mapping) or row.get("trait") not in ALL_TRAITS or not isinstance(row.get("reason"), str):
            raise DomainError("Those suggestions are not in the expected shape.")
        checked.append({"trait": row["trait"], "value": int(traits[row["trait"]]), "reason": row["reason"][:500]})
    return traits, checked, str(source)
