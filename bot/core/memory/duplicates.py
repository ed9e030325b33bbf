"""Near-duplicates: word shingles, Jaccard similarity, and which memories merge into which."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from bot.core.freeing import release
from bot.core.memory.config import table
from bot.core.memory.tiers import sorted_by

_NON_WORD = re.compile(r"[^\w]+")


def normalise_text(text: str) -> list[str]:
    """The words compared: NFKC, case-folded, every run of non-word characters (punctuation, underscores,
    spaces) a separator."""
    folded = unicodedata.normalize("NFKC", text).casefold().replace("_", " ")
    return [word for word in _NON_WORD.split(folded) if word]


def shingles(text: str, size: int | None = None) -> frozenset[tuple[str, ...]]:
    """The set of ``size``-word shingles (``[near_duplicates] shingle_words``, 2) of the normalised text; a
    text with fewer words is one shingle of all of them; no words gives the empty set."""
    width = int(table()["near_duplicates"]["shingle_words"]) if size is None else size
    if width < 1:
        raise ValueError("shingle size must be at least 1")
    words = normalise_text(text)
    if not words:
        return frozenset()
    if len(words) < width:
        return frozenset({tuple(words)})
    return frozenset(tuple(words[i : i + width]) for i in range(len(words) - width + 1))


def similarity(first: str, second: str) -> float:
    """Jaccard similarity of the two texts' shingle sets, |A ∩ B| / |A ∪ B|; 0 when either has no words."""
    a, b = shingles(first), shingles(second)
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def near_duplicates(
    items_with_text: Sequence[tuple[int, str, float]], threshold: float | None = None
) -> list[tuple[int, int]]:
    """Pairs ``(keep_id, drop_id)`` of memories whose ``similarity`` is at least ``threshold``
    (``[near_duplicates] threshold``, 0.8, by default).

    Items are ``(id, text, strength)``. Going from strongest to weakest (equal strength: lower id first), each
    memory not yet dropped keeps every later one similar enough to it, so the kept one is always the stronger,
    a dropped memory appears once, and a kept memory is never dropped. The service merges each drop into its
    keep (summing access counts) and deletes it. Pairs come in that order.
    """
    limit = float(table()["near_duplicates"]["threshold"]) if threshold is None else threshold
    if not 0.0 < limit <= 1.0:
        raise ValueError("threshold must be in (0, 1]")
    ordered = sorted_by(items_with_text, lambda entry: -entry[2], lambda entry: entry[0])
    sets = [shingles(text) for _, text, _ in ordered]
    index: dict[tuple[str, ...], list[int]] = {}
    for position, shingle_set in enumerate(sets):
        for shingle in shingle_set:
            index.setdefault(shingle, []).append(position)

    dropped: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for position, shingle_set in enumerate(sets):
        if position in dropped or not shingle_set:
            continue
        candidates = sorted(
            {other for shingle in shingle_set for other in index[shingle] if other > position} - dropped
        )
        for other in candidates:
            other_set = sets[other]
            if len(shingle_set & other_set) / len(shingle_set | other_set) >= limit:
                dropped.add(other)
                pairs.append((ordered[position][0], ordered[other][0]))
    # Released piece by piece: freed in one go, the sets and the index of 100,000 memories hold the interpreter
    # (every thread, the event loop's too) for a quarter of a second.
    release(index, sets)
    return pairs
