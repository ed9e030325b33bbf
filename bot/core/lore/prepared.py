"""Books made ready to scan (pure): every key compiled once, the lookups activation needs computed once.

A reply scans the same books again and again until one of them changes, so the chat path keeps them prepared
(:func:`bot.services.lore.activated_lore` with a shelf); :func:`bot.core.lore.activate` prepares what it is given.
Preparing changes nothing about what fires: it is the same keys with the same options
(:func:`bot.core.lore.patterns.matcher`), in the same order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.core.lore.entries import BookRules, LoreEntry
from bot.core.lore.patterns import Matcher, ScanText, hit, matcher


@dataclass(frozen=True)
class ReadyEntry:
    """An entry with its book's rules, its keys and secondary keys as matchers, the depth it scans, whether it has
    timed effects, and its gate: when every key is a plain whole-word key, one word of each (its longest), so a text
    holding none of them is passed over at once (no key can match there)."""

    entry: LoreEntry
    rules: BookRules
    keys: tuple[Matcher, ...]
    secondary: tuple[Matcher, ...]
    scan_depth: int
    content_text: ScanText  # the content, as recursion scans it (its words made once)
    timed: bool = False
    gate: frozenset[str] | None = None
    # Every key plain and on one line: whether it occurs in a text of newline-joined parts is whether it occurs in
    # one of them, so recursion can look its keys up per part (:meth:`PreparedBooks.content_hits`).
    plain: bool = False


def _gate(entry: LoreEntry, keys: Sequence[Matcher]) -> frozenset[str] | None:
    if not keys or not entry.whole_words or any(m.is_pattern or not m.words for m in keys):
        return None
    return frozenset(max(m.words, key=len) for m in keys)


def _matchers(entry: LoreEntry, keys: Sequence[str]) -> tuple[Matcher, ...]:
    return tuple(
        matcher(k, regex=entry.use_regex, case_sensitive=entry.case_sensitive, whole_words=entry.whole_words)
        for k in keys
    )


@dataclass(frozen=True)
class PreparedBooks:
    """Books ready to scan: their entries in book order, by id, and what the chat path asks of them."""

    books: tuple[tuple[BookRules, tuple[LoreEntry, ...]], ...]
    entries: tuple[ReadyEntry, ...]
    by_id: Mapping[int, ReadyEntry]
    deepest_recursion: int
    timed_ids: tuple[int, ...]  # entries with sticky or cooldown: their timing is read per reply
    labels: Mapping[int, str]  # entry id -> how a person names it
    # Where a text's words lead: (case-sensitive, gate word) -> the positions in ``entries`` of the gated entries
    # (enabled, not constant, no timed effects) that word may fire; and the positions of all the other entries.
    by_word: Mapping[tuple[bool, str], tuple[int, ...]]
    ungated: tuple[int, ...]

    modes: tuple[bool, ...]  # the case sensitivities of the gated entries
    depths: frozenset[int]  # the scan depths of the gated entries
    # Recursion: the entries whose keys are not all plain (matched on each step's whole text), and whether the plain
    # ones are looked up per source entry (False: every step matched key by key, as before; the tests compare).
    unplain: tuple[int, ...] = ()
    by_source: bool = True
    _hits: dict[int, dict[int, int]] = field(default_factory=dict, compare=False, repr=False)

    def candidates(self, words: Callable[[bool], frozenset[str]], depth: int | None = None) -> set[int]:
        """The positions of the entries that may fire on a text with these ``words`` (by case sensitivity): every
        entry but the gated ones none of whose gate words are there (with ``depth``: only the gated entries that
        scan that many messages, and no ungated one)."""
        found: set[int] = set(self.ungated) if depth is None else set()
        for case_sensitive in self.modes:
            for word in words(case_sensitive):
                for position in self.by_word.get((case_sensitive, word), ()):
                    if depth is None or self.entries[position].scan_depth == depth:
                        found.add(position)
        return found

    def content_hits(self, entry_id: int) -> Mapping[int, int]:
        """:meth:`text_hits` of the content of entry ``entry_id``, worked out once per entry while the books last."""
        found = self._hits.get(entry_id)
        if found is None:
            found = self._hits[entry_id] = self.text_hits(self.by_id[entry_id].content_text)
        return found

    def text_hits(self, text: ScanText) -> dict[int, int]:
        """The plain, non-constant entries a primary key of which occurs in ``text`` (position -> the index of its
        first key that does)."""
        found: dict[int, int] = {}
        for position in sorted(self.candidates(text.words)):
            ready = self.entries[position]
            if not ready.plain or ready.entry.constant:
                continue
            for index, key in enumerate(ready.keys):
                if hit(key, text):
                    found[position] = index
                    break
        return found

    @property
    def empty(self) -> bool:
        return not self.entries


def ready_entry(entry: LoreEntry, rules: BookRules) -> ReadyEntry:
    """One entry of a book with ``rules``, ready to scan."""
    keys = _matchers(entry, entry.keys)
    return ReadyEntry(
        entry,
        rules,
        keys,
        _matchers(entry, entry.secondary_keys),
        rules.scan_depth if entry.scan_depth is None else entry.scan_depth,
        ScanText(entry.content),
        timed=bool(entry.delay or entry.sticky or entry.cooldown),
        gate=_gate(entry, keys),
        plain=bool(keys) and not any(m.is_pattern or "\n" in m.needle for m in keys),
    )


def prepare(books: Sequence[tuple[BookRules, Sequence[LoreEntry]]]) -> PreparedBooks:
    """``books`` (each book's rules and entries) made ready to scan."""
    ready = tuple(ready_entry(entry, rules) for rules, entries in books for entry in entries)
    by_word: dict[tuple[bool, str], list[int]] = {}
    ungated: list[int] = []
    for position, item in enumerate(ready):
        entry = item.entry
        if item.gate is None or item.timed or entry.constant or not entry.enabled:
            ungated.append(position)
            continue
        for word in item.gate:
            by_word.setdefault((entry.case_sensitive, word), []).append(position)
    return PreparedBooks(
        books=tuple((rules, tuple(entries)) for rules, entries in books),
        entries=ready,
        by_id={r.entry.id: r for r in ready},
        deepest_recursion=max((rules.recursion for rules, _ in books), default=0),
        timed_ids=tuple(r.entry.id for r in ready if r.entry.sticky or r.entry.cooldown),
        labels={r.entry.id: r.entry.label for r in ready},
        by_word={key: tuple(positions) for key, positions in by_word.items()},
        ungated=tuple(ungated),
        modes=tuple(sorted({case_sensitive for case_sensitive, _ in by_word})),
        depths=frozenset(r.scan_depth for i, r in enumerate(ready) if i not in set(ungated)),
        unplain=tuple(i for i, r in enumerate(ready) if not r.plain and not r.entry.constant),
    )
