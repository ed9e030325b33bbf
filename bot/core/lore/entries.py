"""Lore entries as plain data, their bounds, and the checks that refuse bad ones with a sentence.

A lore book (World Info) belongs to a persona, a channel or a whole server. Each entry has keys (plain words, whole
words by default, case-insensitive by default, or regular expressions), optional secondary keys combined with the
primary match by one of four logics, and content that reaches the prompt when the entry fires, at a position
(before or after the character, or at a depth in the chat history) and in an order. The semantics follow
SillyTavern's World Info, which is what people who write lorebooks know (see :mod:`bot.core.lore.activation`).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.errors import DomainError
from bot.core.lore.patterns import check_pattern, is_slashed, split_slashed
from bot.core.text import clip

POSITIONS = ("before_char", "after_char", "at_depth")
POSITION_WORDS = {"before_char": "before the character", "after_char": "after the character", "at_depth": "at depth"}
# How secondary keys combine with a primary match (SillyTavern's selectiveLogic 0..3, in its own numbering).
LOGICS = ("and_any", "not_all", "not_any", "and_all")
LOGIC_WORDS = {
    "and_any": "and any secondary key",
    "not_all": "unless every secondary key",
    "not_any": "unless any secondary key",
    "and_all": "and every secondary key",
}
SCOPES = ("persona", "channel", "server")

MAX_ENTRIES_PER_BOOK = 500
MAX_CONTENT_CHARS = 8000
MAX_KEYS = 50  # primary and secondary keys each
MAX_KEY_CHARS = 100  # a plain key; a pattern has its own bound (bot.core.lore.patterns.MAX_PATTERN_CHARS)
MAX_NAME_CHARS = 100
MAX_ORDER = 10_000
MAX_DEPTH = 30  # history lines (the cog keeps 30)
MAX_SCAN_DEPTH = 30
MAX_RECURSION = 5
MAX_BOOK_BUDGET = 4000  # estimated tokens
MAX_TIMED = 10  # sticky, cooldown and delay, in messages (within the 30 recent messages the bot keeps)
DEFAULT_SCAN_DEPTH = 2
DEFAULT_BOOK_BUDGET = 600
DEFAULT_RECURSION = 2
DEFAULT_ORDER = 100
DEFAULT_DEPTH = 4


@dataclass(frozen=True)
class LoreEntry:
    """One entry, as matching sees it. ``scan_depth`` None: the book's. ``probability``: percent (100: always)."""

    id: int
    keys: tuple[str, ...]
    content: str
    secondary_keys: tuple[str, ...] = ()
    logic: str = "and_any"
    case_sensitive: bool = False
    whole_words: bool = True
    use_regex: bool = False
    order: int = DEFAULT_ORDER
    position: str = "before_char"
    depth: int = DEFAULT_DEPTH
    constant: bool = False
    enabled: bool = True
    probability: int = 100
    scan_depth: int | None = None
    sticky: int = 0
    cooldown: int = 0
    delay: int = 0
    exclude_recursion: bool = False  # never fired by another entry's content
    prevent_recursion: bool = False  # its content fires no other entry
    name: str = ""
    book_id: int = 0

    @property
    def label(self) -> str:
        """How a person names the entry: its name, else its first key, else its number."""
        return self.name or (self.keys[0] if self.keys else f"entry {self.id}")


@dataclass(frozen=True)
class BookRules:
    """A book's own settings: how many recent messages are scanned, its token budget, and recursion steps."""

    id: int = 0
    scan_depth: int = DEFAULT_SCAN_DEPTH
    token_budget: int = DEFAULT_BOOK_BUDGET
    recursion: int = DEFAULT_RECURSION


@dataclass(frozen=True)
class LoreText:
    """What the prompt gets of a fired entry: where (``position``; ``depth`` lines from the end of the history for
    "at_depth"), in which order (lower first), and the text."""

    position: str
    depth: int
    order: int
    text: str


def _bounded(value: int, low: int, high: int, what: str) -> int:
    if not low <= value <= high:
        raise DomainError(f"{what} must be between {low} and {high} (got {value}).")
    return value


def clean_keys(keys: list[str] | tuple[str, ...], *, use_regex: bool, what: str = "keys") -> tuple[str, ...]:
    """Keys stripped, empty ones dropped, duplicates removed; refused with a sentence when too many or too long, or
    when a pattern could take too long to match."""
    out: list[str] = []
    for raw in keys:
        key = raw.strip()
        if key and key not in out:
            out.append(key)
    if len(out) > MAX_KEYS:
        raise DomainError(f"An entry has at most {MAX_KEYS} {what} (got {len(out)}).")
    for key in out:
        if use_regex or is_slashed(key):
            problem = check_pattern(split_slashed(key)[0])
            if problem:
                raise DomainError(f"The pattern '{clip(key, 60)}' is refused: {problem}")
        elif len(key) > MAX_KEY_CHARS:
            raise DomainError(f"A key has at most {MAX_KEY_CHARS} characters ('{clip(key, 40)}' has {len(key)}).")
    return tuple(out)


def split_keys(text: str) -> list[str]:
    """Keys typed on one line, separated by commas (a pattern in /slashes/ may hold commas)."""
    keys: list[str] = []
    current = ""
    in_pattern = False
    for char in text:
        if char == "/" and (in_pattern or not current.strip()):
            in_pattern = not in_pattern
        if char == "," and not in_pattern:
            keys.append(current)
            current = ""
        else:
            current += char
    keys.append(current)
    return [k.strip() for k in keys if k.strip()]


def check_entry(entry: LoreEntry) -> LoreEntry:
    """The entry with its keys cleaned, or :class:`DomainError` with the first rule it breaks."""
    if len(entry.content) > MAX_CONTENT_CHARS:
        raise DomainError(
            f"An entry's content has at most {MAX_CONTENT_CHARS:,} characters (this one has {len(entry.content):,})."
        )
    if not entry.content.strip():
        raise DomainError("An entry needs some content: the text the persona is given when it fires.")
    if len(entry.name) > MAX_NAME_CHARS:
        raise DomainError(f"An entry's name has at most {MAX_NAME_CHARS} characters.")
    keys = clean_keys(entry.keys, use_regex=entry.use_regex)
    secondary = clean_keys(entry.secondary_keys, use_regex=entry.use_regex, what="secondary keys")
    if not keys and not entry.constant:
        raise DomainError("An entry needs at least one key, unless it is constant (always in the prompt).")
    if entry.position not in POSITIONS:
        raise DomainError(f"Position must be one of: {', '.join(POSITIONS)}.")
    if entry.logic not in LOGICS:
        raise DomainError(f"The secondary keys' logic must be one of: {', '.join(LOGICS)}.")
    _bounded(entry.order, -MAX_ORDER, MAX_ORDER, "Order")
    _bounded(entry.depth, 0, MAX_DEPTH, "Depth")
    _bounded(entry.probability, 0, 100, "Probability")
    if entry.scan_depth is not None:
        _bounded(entry.scan_depth, 0, MAX_SCAN_DEPTH, "Scan depth")
    for what, value in (("Sticky", entry.sticky), ("Cooldown", entry.cooldown), ("Delay", entry.delay)):
        _bounded(value, 0, MAX_TIMED, f"{what} (in messages)")
    return LoreEntry(**{**entry.__dict__, "keys": keys, "secondary_keys": secondary})


def check_book(rules: BookRules) -> BookRules:
    """The book's settings, or :class:`DomainError`."""
    _bounded(rules.scan_depth, 0, MAX_SCAN_DEPTH, "Scan depth")
    _bounded(rules.token_budget, 1, MAX_BOOK_BUDGET, "Token budget")
    _bounded(rules.recursion, 0, MAX_RECURSION, "Recursion steps")
    return rules


def check_entry_count(count: int) -> None:
    """Refuse a book that would hold more than :data:`MAX_ENTRIES_PER_BOOK` entries."""
    if count > MAX_ENTRIES_PER_BOOK:
        raise DomainError(
            f"A lore book holds at most {MAX_ENTRIES_PER_BOOK} entries (this one would have {count:,}); "
            "split it or remove some first."
        )
