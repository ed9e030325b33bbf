"""Which entries fire for a reply, and why (pure): SillyTavern's World Info rules, counted in messages.

- **Scan**: an entry looks at the last ``scan_depth`` messages (its own, else its book's); the message being
  answered is the last. A key matches as :func:`bot.core.lore.patterns.key_matches` says.
- **Secondary keys**: with none, a primary match fires the entry. With some, the primary match must also satisfy
  the entry's logic: ``and_any`` (at least one secondary key), ``and_all`` (every one), ``not_any`` (none of them),
  ``not_all`` (not every one).
- **Constant** entries fire without keys. Disabled entries never fire.
- **Timed effects**, in messages of the channel (the recent messages the caller passes, with their ids): an entry
  that fired stays on (``sticky``) for that many messages after the one that fired it, keys or not; then it cannot
  fire (``cooldown``) for that many more; ``delay``: it cannot fire before the channel has that many messages. An
  entry whose start fell out of the messages passed is past both; one that started after the message answered
  (another take of an older reply) is free, as it was then.
- **Probability**: an entry that would fire does so when ``draw(entry id) * 100 < probability``.
- **Recursion**: the content of the entries that fired in the last step (unless ``prevent_recursion``) is
  scanned for entries not yet fired (unless ``exclude_recursion``), up to each book's ``recursion`` steps.
- **Budget**: fired entries are kept constant first, then by ``order`` (higher first, as SillyTavern's insertion
  priority), then by id, while each book's ``token_budget`` and the total budget hold
  (:func:`bot.core.conversation.estimate_tokens`). The texts come out by position, then ``order`` (lower first:
  higher orders sit closer to the end, where models pay most attention).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.core.conversation import estimate_tokens
from bot.core.lore.entries import POSITIONS, BookRules, LoreEntry, LoreText
from bot.core.lore.patterns import SCAN_CHARS, RegexBudget, ScanText, hit
from bot.core.lore.prepared import PreparedBooks, ReadyEntry, prepare, ready_entry

TOTAL_BUDGET = 1500  # estimated tokens of lore in one prompt, whatever the books say


@dataclass(frozen=True)
class ScanMessage:
    """A recent message of the channel, oldest first (``message_id`` counts timed effects)."""

    text: str
    message_id: int | None = None


@dataclass(frozen=True)
class Fired:
    """An entry that fired, why, and what the prompt gets."""

    entry: LoreEntry
    reason: str
    text: LoreText


@dataclass(frozen=True)
class Activation:
    """What fired (in prompt order), what did not and why (entry id -> reason, for ``/lore test``), and the entries
    whose timed effects start now (entry id -> the message id that fired them)."""

    fired: tuple[Fired, ...] = ()
    skipped: Mapping[int, str] = field(default_factory=dict)
    started: Mapping[int, int] = field(default_factory=dict)

    @property
    def texts(self) -> tuple[LoreText, ...]:
        return tuple(f.text for f in self.fired)


def messages_since(messages: Sequence[ScanMessage], message_id: int) -> int | None:
    """How many of ``messages`` came after ``message_id`` (None: it is older than all of them)."""
    ids = [m.message_id for m in messages if m.message_id is not None]
    if not ids or message_id < min(ids):
        return None
    return sum(1 for i in ids if i > message_id)


_SCAN = -1  # consider(): match the entry's keys on the text (no key index worked out beforehand)


def _secondary_ok(ready: ReadyEntry, text: ScanText, budget: RegexBudget) -> bool:
    if not ready.secondary:
        return True
    hits = [hit(m, text, budget) for m in ready.secondary]
    logic = ready.entry.logic
    if logic == "and_all":
        return all(hits)
    if logic == "not_any":
        return not any(hits)
    if logic == "not_all":
        return not all(hits)
    return any(hits)


def match_reason(entry: LoreEntry | ReadyEntry, text: ScanText, budget: RegexBudget) -> str | None:
    """Why the entry's keys fire on ``text`` (the key that matched), or None."""
    ready = entry if isinstance(entry, ReadyEntry) else ready_entry(entry, BookRules())
    if ready.gate is not None and ready.gate.isdisjoint(text.words(ready.entry.case_sensitive)):
        return None
    for key, found in zip(ready.entry.keys, ready.keys, strict=True):
        if hit(found, text, budget):
            return f"key “{key}”" if _secondary_ok(ready, text, budget) else None
    return None


def _timed(entry: LoreEntry, messages: Sequence[ScanMessage], timing: Mapping[int, int]) -> str | None:
    """ "sticky", "cooldown", "delay", or None (the entry is free to match)."""
    if entry.delay and len(messages) < entry.delay:
        return "delay"
    start = timing.get(entry.id)
    if start is None or not (entry.sticky or entry.cooldown):
        return None
    last = messages[-1].message_id if messages else None
    if last is not None and start > last:
        return None  # it started after the message answered (another take of an older reply): not in its past
    elapsed = messages_since(messages, start)
    if elapsed is None:
        return None
    if elapsed == 0 or elapsed <= entry.sticky:  # still the message that fired it, or within its sticky span
        return "sticky"
    if elapsed <= entry.sticky + entry.cooldown:
        return "cooldown"
    return None


@dataclass
class _Round:
    """One activation's working state."""

    messages: Sequence[ScanMessage]
    timing: Mapping[int, int]
    draw: Callable[[int], float]
    budget: RegexBudget = field(default_factory=RegexBudget)
    fired: dict[int, str] = field(default_factory=dict)
    skipped: dict[int, str] = field(default_factory=dict)
    texts: dict[int, ScanText] = field(default_factory=dict)

    def scan_text(self, depth: int) -> ScanText:
        """The last ``depth`` messages."""
        if depth not in self.texts:
            recent = [m.text for m in self.messages[len(self.messages) - depth :]] if depth else []
            self.texts[depth] = ScanText("\n".join(recent))
        return self.texts[depth]

    def consider(self, ready: ReadyEntry, extra: ScanText | None, step: int, key_index: int | None = _SCAN) -> None:
        """Whether ``ready`` fires on the messages (``extra`` None) or, for recursion step ``step``, on ``extra``
        (the content of what fired the step before). ``key_index``: the first of its keys in that text, when
        already known (None: none is)."""
        entry = ready.entry
        if not entry.enabled:
            self.skipped[entry.id] = "disabled"
            return
        timed = _timed(entry, self.messages, self.timing) if ready.timed else None
        if timed == "sticky":
            self.fired[entry.id] = "sticky (it fired a few messages ago)"
            return
        if timed is not None:
            self.skipped[entry.id] = "cooling down" if timed == "cooldown" else f"delayed until {entry.delay} messages"
            return
        if entry.constant:
            reason: str | None = "constant"
        else:
            text = self.scan_text(ready.scan_depth) if extra is None else extra
            if key_index == _SCAN:
                reason = match_reason(ready, text, self.budget)
            elif key_index is not None and _secondary_ok(ready, text, self.budget):
                reason = f"key “{entry.keys[key_index]}”"
            else:
                reason = None
            if reason and step:
                reason += " (in another entry's content)"
        if reason is None:
            self.skipped.setdefault(entry.id, "no key matched")
            return
        if entry.probability < 100 and self.draw(entry.id) * 100 >= entry.probability:
            self.skipped[entry.id] = f"its {entry.probability}% chance did not come up"
            return
        self.skipped.pop(entry.id, None)
        self.fired[entry.id] = reason


def _first_scan(state: _Round, books: PreparedBooks) -> None:
    """Every entry on the recent messages, in order; a gated entry none of whose gate words is in the messages it
    scans is not matched at all (no key of it can match)."""
    may = set(books.ungated)
    for depth in books.depths:
        may |= books.candidates(state.scan_text(depth).words, depth)
    for position, ready in enumerate(books.entries):
        if position in may:
            state.consider(ready, None, 0)
        else:
            state.skipped.setdefault(ready.entry.id, "no key matched")


def _step_hits(books: PreparedBooks, sources: Sequence[ReadyEntry]) -> dict[int, int]:
    """The plain entries a key of which occurs in the last :data:`SCAN_CHARS` characters of the sources' contents
    joined by newlines (position -> first such key), as the whole text's scan finds them: a plain key on one line
    occurs there only inside one part, so each part held whole gives its own hits (kept per entry), and the part the
    bound cuts gives those of its end."""
    hits: dict[int, int] = {}
    left = SCAN_CHARS
    for source in reversed(sources):
        if left <= 0:
            break
        content = source.entry.content
        if len(content) <= left:
            found: Mapping[int, int] = books.content_hits(source.entry.id)
        else:
            found = books.text_hits(ScanText(content[-left:]))
        for position, index in found.items():
            if hits.get(position, index) >= index:
                hits[position] = index
        left -= len(content) + 1
    return hits


def _recurse(state: _Round, books: PreparedBooks) -> None:
    """Scan the content of what fired for entries not yet fired, up to each book's recursion steps. Only the
    entries the content's words may fire are looked at: the others were all considered on the messages already
    and did not fire, so considering them again would change nothing. The plain entries a step may fire are looked
    up per source (:func:`_step_hits`); the others are matched on the step's text."""
    by_id = books.by_id
    seen: set[int] = set(state.fired)
    new = list(state.fired)
    for step in range(1, books.deepest_recursion + 1):
        sources = [by_id[i] for i in new if not by_id[i].entry.prevent_recursion]
        extra = "\n".join(r.entry.content for r in sources)
        if not extra:
            return
        text = ScanText.joined(extra, [r.content_text for r in sources])
        hits = _step_hits(books, sources) if books.by_source else None
        positions = books.candidates(text.words) if hits is None else {*hits, *books.unplain}
        for position in sorted(positions):
            ready = books.entries[position]
            entry = ready.entry
            if step > ready.rules.recursion:
                continue
            if entry.id not in state.fired and not entry.exclude_recursion and not entry.constant:
                key_index = hits.get(position) if hits is not None and ready.plain else _SCAN
                state.consider(ready, text, step, key_index)
        new = [i for i in state.fired if i not in seen]
        seen.update(new)
        if not new:
            return


def _fits(state: _Round, books: PreparedBooks, total: int) -> list[LoreEntry]:
    """The fired entries that fit the books' budgets and ``total``, in budget priority (module docstring)."""
    used: dict[int, int] = {}
    spent = 0
    kept: list[LoreEntry] = []
    fired = (books.by_id[i] for i in state.fired)
    for ready in sorted(fired, key=lambda r: (not r.entry.constant, -r.entry.order, r.entry.id)):
        entry, rules = ready.entry, ready.rules
        cost = estimate_tokens(entry.content)
        if used.get(rules.id, 0) + cost > rules.token_budget or spent + cost > total:
            state.skipped[entry.id] = "over the token budget"
            continue
        used[rules.id] = used.get(rules.id, 0) + cost
        spent += cost
        kept.append(entry)
    return kept


def activate(
    books: Sequence[tuple[BookRules, Sequence[LoreEntry]]] | PreparedBooks,
    messages: Sequence[ScanMessage],
    *,
    timing: Mapping[int, int] | None = None,
    draw: Callable[[int], float] = lambda _entry_id: 0.0,
    total_budget: int = TOTAL_BUDGET,
) -> Activation:
    """The entries of ``books`` (or the same books prepared, :func:`bot.core.lore.prepared.prepare`) that fire for
    ``messages`` (oldest first; the last is the one answered), given when timed entries last started (``timing``:
    entry id -> message id), in prompt order (module docstring)."""
    ready = books if isinstance(books, PreparedBooks) else prepare(books)
    state = _Round(messages, timing or {}, draw)
    _first_scan(state, ready)
    _recurse(state, ready)
    kept = _fits(state, ready, total_budget)
    kept.sort(key=lambda e: (POSITIONS.index(e.position), e.order, e.id))
    now_id = messages[-1].message_id if messages else None
    started = {
        e.id: now_id
        for e in kept
        if now_id is not None and (e.sticky or e.cooldown) and not state.fired[e.id].startswith("sticky")
    }
    fired = tuple(Fired(e, state.fired[e.id], LoreText(e.position, e.depth, e.order, e.content.strip())) for e in kept)
    return Activation(fired, dict(state.skipped), started)
