"""Keys as matchers: plain words (whole words or anywhere, case options) and regular expressions with a safety bound.

Python's ``re`` has no timeout, so a pattern is checked when it is saved (:func:`check_pattern`) and matching is
bounded when it runs:

- a pattern has at most :data:`MAX_PATTERN_CHARS` characters and compiles;
- no backreferences (``\\1``, ``(?P=name)``), no conditionals and no verbose flag ``(?x)`` (it turns ``#`` into
  comments the check below would read as pattern): they defeat every bound below;
- a group may repeat more than once (``*``, ``+``, ``{2}``, ``{0,5}`` ...) only when it always matches the same
  length: nothing inside it (at any depth) may have a varying count (``?``, ``*``, ``+``, ``{m,n}``) or
  alternatives. ``(a+)+``, ``(a|b)*`` and ``(x?){22}`` -- each a way to split the same text in exponentially many
  ways -- are refused; ``(?:ab){3}``, ``(\\d{3}-){2}`` and ``(?:ab)?`` (at most once) are fine;
- the repetition "cost" (alternatives add up, what follows in a row multiplies, each quantifier multiplies by how
  many times it can repeat plus one, an open-ended one counting as :data:`REGEX_SCAN_CHARS`) stays under
  :data:`MAX_PATTERN_COST`, which allows one open-ended repetition (``dragons?\\w*``) but not two in a row
  (``\\w+\\s+\\w+``: use ``\\w{1,20}``), nor thirty optional parts (``(a|aa)`` thirty times);
- a pattern only ever sees the last :data:`REGEX_SCAN_CHARS` characters of the scanned text, plain keys the last
  :data:`SCAN_CHARS`.

So one regular-expression key costs at most about ``MAX_PATTERN_COST * REGEX_SCAN_CHARS`` steps on any input, and
one activation tries patterns worth at most :data:`MAX_SCAN_REGEX_COST` (:class:`RegexBudget`; keys past it do
not match), whatever the books hold.
A key written ``/pattern/flags`` (SillyTavern's way) is a pattern even in an entry that does not use regex.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

MAX_PATTERN_CHARS = 200
MAX_PATTERN_COST = 2000
REGEX_SCAN_CHARS = 500
MAX_SCAN_REGEX_COST = 20_000  # the summed cost of the patterns one activation may try
SCAN_CHARS = 8000
_SLASHED = re.compile(r"^/(.+)/([a-z]*)$", re.DOTALL)
_FLAGS = {"i": re.IGNORECASE, "s": re.DOTALL, "m": re.MULTILINE}


def is_slashed(key: str) -> bool:
    """Whether ``key`` is written as ``/pattern/flags``."""
    return _SLASHED.match(key) is not None


def split_slashed(key: str) -> tuple[str, str]:
    """``/pattern/flags`` as (pattern, flags); any other key as (key, "")."""
    found = _SLASHED.match(key)
    return (found.group(1), found.group(2)) if found else (key, "")


def _quantifier_at(pattern: str, i: int) -> tuple[int, int, int | None] | None:
    """The quantifier at ``pattern[i]`` as (length, least, most repeats; None: open-ended), or None."""
    char = pattern[i]
    if char in "*+":
        return 1, (0 if char == "*" else 1), None
    if char == "?":
        return 1, 0, 1
    if char == "{":
        found = re.match(r"\{(\d*)(,?)(\d*)\}", pattern[i:])
        if found and (found.group(1) or found.group(3)):
            least = int(found.group(1) or 0)
            if not found.group(2):
                return found.end(), least, least
            return found.end(), least, int(found.group(3)) if found.group(3) else None
    return None


_INLINE_FLAGS = re.compile(r"\(\?[aiLmsux]*(?:-[imsx]*)?[:)]")
_TOO_COSTLY = (
    "it could take too long to match. Use at most one open-ended repetition (*, + or {n,}), short bounded ones "
    "({1,5}) and few alternatives."
)
_VARIABLE_GROUP = (
    "a group that repeats must always match the same length: no ?, *, +, {m,n} or | inside it (like (a+)+, "
    "(x?){20} or (a|b)*). Repeat single characters or classes instead ([ab]*, x{0,20})."
)


class _Group:
    """A group being read: whether it can match different lengths, and its cost (the sum over its alternatives of
    the product over each one's quantifiers)."""

    __slots__ = ("current", "total", "variable")

    def __init__(self) -> None:
        self.variable = False  # holds a quantifier whose count varies, or alternatives (at any depth)
        self.total = 0  # the summed cost of the alternatives already read
        self.current = 1  # the cost of the alternative being read


class _Scan:
    """One pass over a pattern: groups as a stack of :class:`_Group` (the whole pattern at the bottom)."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.stack: list[_Group] = [_Group()]
        self.closed: _Group | None = None  # the group that just closed (a quantifier may follow it)

    @property
    def cost(self) -> int:
        """The pattern's repetition cost (once :meth:`run` has read it all)."""
        return self.stack[0].total + self.stack[0].current

    def run(self) -> str | None:
        p = self.pattern
        i = 0
        while i < len(p):
            char = p[i]
            closed, self.closed = self.closed, None
            if char == "\\":
                if i + 1 < len(p) and (p[i + 1] in "123456789" or p[i + 1] == "g"):
                    return "backreferences are not allowed."
                i += 2
                continue
            if char == "[":
                i = self._skip_class(i)
                continue
            if char == "(":
                problem = self._open(i)
                if problem:
                    return problem
                i += 2 if p.startswith("(?", i) else 1  # (?:, (?=, (?i) ...: the rest is read as ordinary characters
                continue
            if char == ")" and len(self.stack) > 1:
                self._close()
                i += 1
                continue
            if char == "|":
                top = self.stack[-1]
                top.total, top.current, top.variable = top.total + top.current, 1, True
                i += 1
                continue
            found = _quantifier_at(p, i)
            if found is not None:
                problem = self._quantified(found[1], found[2], closed)
                if problem:
                    return problem
                i += found[0]
                if i < len(p) and p[i] in "?+":
                    i += 1  # lazy or possessive
                continue
            i += 1
        return _TOO_COSTLY if self.cost > MAX_PATTERN_COST else None

    def _open(self, i: int) -> str | None:
        p = self.pattern
        if p.startswith("(?P=", i) or p.startswith("(?(", i):
            return "backreferences and conditionals are not allowed."
        flags = _INLINE_FLAGS.match(p, i)
        if flags and "x" in flags.group():
            return "the verbose flag (?x) is not allowed."
        self.stack.append(_Group())
        return None

    def _close(self) -> None:
        closed = self.stack.pop()
        parent = self.stack[-1]
        parent.current *= closed.total + closed.current
        parent.variable = parent.variable or closed.variable
        self.closed = closed

    def _skip_class(self, i: int) -> int:
        p = self.pattern
        j = i + 1
        if j < len(p) and p[j] == "^":
            j += 1
        if j < len(p) and p[j] == "]":
            j += 1
        while j < len(p) and p[j] != "]":
            j += 2 if p[j] == "\\" else 1
        return j + 1

    def _quantified(self, least: int, most: int | None, closed: _Group | None) -> str | None:
        if closed is not None and closed.variable and (most is None or most > 1):
            return _VARIABLE_GROUP
        top = self.stack[-1]
        top.current *= (most if most is not None else REGEX_SCAN_CHARS) + 1
        top.variable = top.variable or most != least
        return _TOO_COSTLY if top.current > MAX_PATTERN_COST else None


def pattern_cost(pattern: str) -> int:
    """The repetition cost of a safe pattern (module docstring)."""
    scan = _Scan(pattern)
    scan.run()
    return scan.cost


class RegexBudget:
    """What is left of one activation's :data:`MAX_SCAN_REGEX_COST`."""

    def __init__(self, total: int = MAX_SCAN_REGEX_COST) -> None:
        self.left = total

    def spend(self, cost: int) -> bool:
        """Take ``cost`` when it is left (True), else nothing (False)."""
        if cost > self.left:
            return False
        self.left -= cost
        return True


def check_pattern(pattern: str) -> str | None:
    """Why ``pattern`` is refused (a sentence's end), or None when it is safe (module docstring)."""
    if not pattern:
        return "it is empty."
    if len(pattern) > MAX_PATTERN_CHARS:
        return f"a pattern has at most {MAX_PATTERN_CHARS} characters."
    try:
        re.compile(pattern)
    except (re.error, OverflowError, RecursionError) as error:
        return f"it is not a valid regular expression ({error})."
    return _Scan(pattern).run()


_WORDS = re.compile(r"\w+")  # \w is exactly str.isalnum() or "_", as _is_word_char


class ScanText:
    """A text to scan, cut to the bounds once (and folded for case-insensitive keys only when one asks), with the
    set of its words (runs of word characters), made when a whole-word key first asks: a key whose own words are
    not all among them cannot match, which spares most searches. A text joined from others (:meth:`joined`) makes
    its words from theirs."""

    def __init__(self, text: str) -> None:
        self.tail = text[-SCAN_CHARS:]
        self.regex_tail = text[-REGEX_SCAN_CHARS:]
        self.whole = len(text) <= SCAN_CHARS
        self._folded: str | None = None
        self._words: dict[bool, frozenset[str]] = {}
        self._parts: Sequence[ScanText] = ()

    @classmethod
    def joined(cls, text: str, parts: Sequence[ScanText]) -> ScanText:
        """``ScanText(text)`` where ``text`` is the texts of ``parts`` joined by newlines: its words are made from
        theirs when every part is whole (not cut to the bounds)."""
        made = cls(text)
        if all(p.whole for p in parts):
            made._parts = parts
        return made

    @property
    def folded(self) -> str:
        if self._folded is None:
            self._folded = self.tail.casefold()
        return self._folded

    def words(self, case_sensitive: bool) -> frozenset[str]:
        found = self._words.get(case_sensitive)
        if found is None:
            found = self._words[case_sensitive] = (
                self._parts_words(case_sensitive)
                if self._parts
                else (frozenset(_WORDS.findall(self.tail if case_sensitive else self.folded)))
            )
        return found

    def _parts_words(self, case_sensitive: bool) -> frozenset[str]:
        """The words of the tail, from the parts it holds whole and the end of the one it cuts (the newlines
        between them join no words; casefolding goes character by character)."""
        sets: list[frozenset[str]] = []
        left = len(self.tail)
        for part in reversed(self._parts):
            if left <= 0:
                break
            if len(part.tail) <= left:
                sets.append(part.words(case_sensitive))
            else:
                piece = part.tail[-left:]
                sets.append(frozenset(_WORDS.findall(piece if case_sensitive else piece.casefold())))
            left -= len(part.tail) + 1
        return frozenset().union(*sets)


@lru_cache(maxsize=4096)
def compiled(key: str, *, case_sensitive: bool) -> tuple[re.Pattern[str], int] | None:
    """The compiled pattern of a regular-expression key and its cost (None: a pattern that is not safe)."""
    pattern, flags = split_slashed(key)
    if check_pattern(pattern) is not None:
        return None
    bits = 0 if case_sensitive and "i" not in flags else re.IGNORECASE
    for flag in flags:
        bits |= _FLAGS.get(flag, 0)
    return re.compile(pattern, bits), pattern_cost(pattern)


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _whole_word_in(needle: str, haystack: str) -> bool:
    start = haystack.find(needle)
    while start != -1:
        end = start + len(needle)
        before = haystack[start - 1] if start > 0 else " "
        after = haystack[end] if end < len(haystack) else " "
        # A key that starts or ends with a non-word character needs no boundary on that side.
        left = not _is_word_char(needle[0]) or not _is_word_char(before)
        right = not _is_word_char(needle[-1]) or not _is_word_char(after)
        if left and right:
            return True
        start = haystack.find(needle, start + 1)
    return False


class Matcher(NamedTuple):
    """One key made ready to match (:func:`matcher`): a pattern compiled with its cost (``pattern`` None: a pattern
    that is not safe, which never matches), or a plain key's needle (case-folded unless case-sensitive)."""

    is_pattern: bool
    pattern: re.Pattern[str] | None
    cost: int
    needle: str
    case_sensitive: bool
    whole_words: bool
    words: tuple[str, ...] = ()  # a plain key's runs of word characters: a whole-word match finds each as a word


@lru_cache(maxsize=16384)
def matcher(key: str, *, regex: bool, case_sensitive: bool, whole_words: bool) -> Matcher:
    """``key`` made ready to match with these options (module docstring)."""
    if regex or is_slashed(key):
        found = compiled(key, case_sensitive=case_sensitive)
        pattern, cost = found if found is not None else (None, 0)
        return Matcher(True, pattern, cost, key, case_sensitive, whole_words)
    needle = key if case_sensitive else key.casefold()
    return Matcher(False, None, 0, needle, case_sensitive, whole_words, tuple(set(_WORDS.findall(needle))))


def hit(ready: Matcher, text: ScanText, budget: RegexBudget | None = None) -> bool:
    """Whether the key occurs in ``text`` (a pattern sees only its last :data:`REGEX_SCAN_CHARS` characters, a
    plain key its last :data:`SCAN_CHARS`; a pattern past ``budget`` does not match)."""
    if ready.is_pattern:
        if ready.pattern is None or (budget is not None and not budget.spend(ready.cost)):
            return False
        return ready.pattern.search(text.regex_tail) is not None
    needle = ready.needle
    if not needle:
        return False
    haystack = text.tail if ready.case_sensitive else text.folded
    if not ready.whole_words:
        return needle in haystack
    # Each word of the key sits between boundaries where it matches (its own non-word characters or the ones a
    # whole-word match asks for), so it is one of the text's words: without them all there is no match to look for.
    words = text.words(ready.case_sensitive)
    for word in ready.words:
        if word not in words:
            return False
    return _whole_word_in(needle, haystack)


def key_matches(
    key: str,
    text: ScanText,
    *,
    regex: bool,
    case_sensitive: bool,
    whole_words: bool,
    budget: RegexBudget | None = None,
) -> bool:
    """Whether ``key`` occurs in ``text`` with these options (:func:`hit`)."""
    return hit(matcher(key, regex=regex, case_sensitive=case_sensitive, whole_words=whole_words), text, budget)
