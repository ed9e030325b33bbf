"""LoCoMo (Maharana et al., ACL 2024, "Evaluating Very Long-Term Conversational Memory of LLM Agents") for
``bench_locomo``: reading the data set, the native export document a conversation becomes, the two baselines
(Okapi BM25 and recency only) and the recall tally. No database here.

The data set is not in this repository. It is public: the GitHub repository snap-research/locomo, file
``data/locomo10.zip``; unzip it and point at the folder (``python -m bench locomo --data FOLDER``, or the
``PERSONA_HUB_LOCOMO`` variable). Both shapes it has been published in are read: a folder (searched through its
subfolders) of one JSON file per conversation (``speaker_a``, ``speaker_b``, ``session_N`` lists of turns
``{speaker, dia_id, text, ...}``, ``session_N_date_time``, ``qa``), or a JSON file holding a list of samples with the
same keys under ``conversation`` beside ``qa``.

Each question names the turns that hold its answer (``evidence``, dialogue ids such as ``D3:12``). A few are written
loosely in the data (``"D8:6; D9:17"``, ``"D:11:26"``, ``"D30:05"``): they are read as the ids they mean; ids that
name no turn are dropped, and a question left with no evidence is not scored. Categories 1 to 4 are scored
(multi-hop, temporal, open-domain and single-hop, as later papers name them); 5 is adversarial (no answer in the
conversation) and is left out.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.core import memory as memory_rules
from bot.core.traits import BIG_FIVE
from bot.services import portability

ENV = "PERSONA_HUB_LOCOMO"
HOW_TO = (
    "The LoCoMo data set is public: download data/locomo10.zip from the GitHub repository snap-research/locomo, "
    "unzip it, and point at the folder: "
    f"python -m bench locomo --data FOLDER (or set {ENV}=FOLDER)."
)
SCORED_CATEGORIES = (1, 2, 3, 4)
CATEGORY_NAMES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
KS = (5, 10, 25)
BM25_K1 = 1.2
BM25_B = 0.75

_SESSION = re.compile(r"session_(\d+)")
_DIA_ID = re.compile(r"D:?(\d+):0*(\d+)")
_WORD = re.compile(r"\w+", re.UNICODE)
_DATE_FORMAT = "%I:%M %p on %d %B, %Y"  # "1:56 pm on 8 May, 2023"


@dataclass(frozen=True)
class Turn:
    dia_id: str
    speaker: str
    text: str
    session: int
    at: datetime

    @property
    def content(self) -> str:
        """The memory the turn becomes: ``Speaker: text``."""
        return f"{self.speaker}: {self.text}"


@dataclass(frozen=True)
class Question:
    text: str
    category: int
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class Conversation:
    name: str
    speakers: tuple[str, str]
    turns: tuple[Turn, ...]  # in order: session by session, each in its own order
    questions: tuple[Question, ...]  # the scored ones: categories 1-4 with evidence

    @property
    def last_session(self) -> datetime:
        return max(turn.at for turn in self.turns)

    def final_sessions(self, count: int = 2) -> frozenset[int]:
        numbers = sorted({turn.session for turn in self.turns})
        return frozenset(numbers[-count:])


# ----------------------------------------------------------------------------------------------------
# Reading the data set


def session_time(text: str) -> datetime:
    """A session's date (``"1:56 pm on 8 May, 2023"``), as UTC."""
    return datetime.strptime(text.strip(), _DATE_FORMAT).replace(tzinfo=UTC)


def evidence_ids(given: Iterable[str], known: Iterable[str]) -> tuple[str, ...]:
    """The turns a question's evidence names, read loosely (module docstring), in order, without repeats."""
    names = set(known)
    out: list[str] = []
    for entry in given:
        for session, turn in _DIA_ID.findall(str(entry)):
            dia_id = f"D{int(session)}:{int(turn)}"
            if dia_id in names and dia_id not in out:
                out.append(dia_id)
    return tuple(out)


def parse_conversation(raw: Mapping[str, Any], name: str) -> Conversation:
    """One conversation of the data set (the keys of the module docstring)."""
    body = raw.get("conversation", raw)
    sessions = sorted((int(m.group(1)), key) for key in body if (m := _SESSION.fullmatch(key)))
    turns: list[Turn] = []
    for number, key in sessions:
        at = session_time(body[f"{key}_date_time"])
        turns.extend(Turn(t["dia_id"], t["speaker"], t["text"], number, at) for t in body[key])
    known = [turn.dia_id for turn in turns]
    questions = []
    for qa in raw.get("qa", ()):
        category = int(qa.get("category", 0))
        evidence = evidence_ids(qa.get("evidence") or (), known)
        if category in SCORED_CATEGORIES and evidence:
            questions.append(Question(qa["question"], category, evidence))
    return Conversation(name, (body["speaker_a"], body["speaker_b"]), tuple(turns), tuple(questions))


def _is_conversation(value: Any) -> bool:
    return isinstance(value, Mapping) and "qa" in value and "speaker_a" in value.get("conversation", value)


def load(path: Path) -> list[Conversation]:
    """Every conversation under ``path`` (a folder searched through its subfolders, or one JSON file); none when
    nothing is there."""
    if not path.exists():
        return []
    files = sorted(path.rglob("*.json")) if path.is_dir() else [path]
    out: list[Conversation] = []
    for file in files:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        samples = data if isinstance(data, list) else [data]
        for index, sample in enumerate(samples):
            if _is_conversation(sample):
                name = str(sample.get("sample_id") or (file.stem if len(samples) == 1 else f"{file.stem}-{index}"))
                out.append(parse_conversation(sample, name))
    return out


def data_path(options: Mapping[str, str] | None, environ: Mapping[str, str]) -> Path | None:
    """Where the data set is said to be: ``--data`` on the command line, else the environment variable; None when
    neither is given."""
    given = (options or {}).get("data") or environ.get(ENV)
    return Path(given).expanduser() if given else None


# ----------------------------------------------------------------------------------------------------
# The native document


def persona_name(conversation: Conversation) -> str:
    return f"LoCoMo {conversation.name}"


def native_document(conversation: Conversation, *, exported_at: datetime) -> dict[str, Any]:
    """The native export document (``/persona export``'s format) of a persona that remembers the conversation:
    each turn one memory, ``Speaker: text``, made (and last recalled) when its session took place; every other
    memory field, and the persona's settings, as a new persona has them."""
    return {
        "format": portability.FORMAT,
        "version": portability.VERSION,
        "exported_at": exported_at.isoformat(),
        "persona": {
            "name": persona_name(conversation),
            "description": f"Remembers the conversation of {conversation.speakers[0]} and {conversation.speakers[1]}.",
            "traits": dict.fromkeys(BIG_FIVE, 50),
            "memory_config": memory_rules.config_to_dict(memory_rules.default_config()),
            "created_at": min(turn.at for turn in conversation.turns).isoformat(),
        },
        "memories": [
            {"content": turn.content, "created_at": turn.at.isoformat(), "last_accessed_at": turn.at.isoformat()}
            for turn in conversation.turns
        ],
    }


# ----------------------------------------------------------------------------------------------------
# Baselines


def words(text: str) -> list[str]:
    """Lower-case runs of word characters."""
    return _WORD.findall(text.casefold())


class BM25:
    """Okapi BM25 (Robertson et al.; k1 = 1.2, b = 0.75, idf ``ln(1 + (N - n + 0.5) / (n + 0.5))``) over the
    turns; :meth:`rank` gives the turns that share a word with the query, best first (ties: the earlier turn)."""

    def __init__(self, documents: Sequence[str], *, k1: float = BM25_K1, b: float = BM25_B) -> None:
        self.k1, self.b = k1, b
        self.counts = [Counter(words(document)) for document in documents]
        self.lengths = [sum(counts.values()) for counts in self.counts]
        self.average = sum(self.lengths) / max(1, len(self.lengths))
        frequency: Counter[str] = Counter()
        for counts in self.counts:
            frequency.update(counts.keys())
        total = len(self.counts)
        self.idf = {word: math.log(1 + (total - n + 0.5) / (n + 0.5)) for word, n in frequency.items()}
        self.postings: dict[str, list[int]] = {}
        for index, counts in enumerate(self.counts):
            for word in counts:
                self.postings.setdefault(word, []).append(index)

    def scores(self, query: str) -> dict[int, float]:
        out: dict[int, float] = {}
        for word in set(words(query)):
            for index in self.postings.get(word, ()):
                tf = self.counts[index][word]
                norm = self.k1 * (1 - self.b + self.b * self.lengths[index] / self.average)
                out[index] = out.get(index, 0.0) + self.idf[word] * tf * (self.k1 + 1) / (tf + norm)
        return out

    def rank(self, query: str, k: int) -> list[int]:
        scores = self.scores(query)
        return sorted(scores, key=lambda index: (-scores[index], index))[:k]


def recency_order(turns: Sequence[Turn]) -> list[int]:
    """The turns newest first (the later session first; within a session, the later turn first)."""
    return sorted(range(len(turns)), key=lambda index: (turns[index].at, index), reverse=True)


# ----------------------------------------------------------------------------------------------------
# Recall


def recall_at(ranked: Sequence[str], evidence: Sequence[str], k: int) -> float:
    """The share of the evidence turns among the first ``k`` ranked."""
    top = set(ranked[:k])
    return sum(1 for dia_id in evidence if dia_id in top) / len(evidence)


@dataclass
class Tally:
    """Recall@k per category and over all scored questions (each question counts once)."""

    sums: dict[tuple[int, int], float] = field(default_factory=dict)  # (category, k) -> sum of recalls
    questions: Counter[int] = field(default_factory=Counter)

    def add(self, question: Question, ranked: Sequence[str]) -> None:
        self.questions[question.category] += 1
        for k in KS:
            key = (question.category, k)
            self.sums[key] = self.sums.get(key, 0.0) + recall_at(ranked, question.evidence, k)

    def recall(self, k: int, category: int | None = None) -> float:
        """The mean recall@k over one category's questions, or over all (None); 0 with no question."""
        categories = [category] if category is not None else list(self.questions)
        count = sum(self.questions[c] for c in categories)
        total = sum(self.sums.get((c, k), 0.0) for c in categories)
        return total / count if count else 0.0

    def figures(self) -> dict[str, float]:
        """``recall{k}_{all|catN}`` for every k and category with questions."""
        out = {}
        for k in KS:
            out[f"recall{k}_all"] = self.recall(k)
            for category in sorted(self.questions):
                out[f"recall{k}_cat{category}"] = self.recall(k, category)
        return out


@dataclass
class Slots:
    """Where the top-10 slots of a ranking come from: how many, how many from the final two sessions, how many
    show relevance 0.00."""

    total: int = 0
    final_two: int = 0
    zero_relevance: int = 0

    def share(self, part: int) -> float:
        return 100.0 * part / self.total if self.total else 0.0
