"""Character card macros (pure): ``{{char}}``, ``{{user}}`` and the rest, resolved as the V1/V2/V3 card specs say.

Supported, all case-insensitive (``{{CHAR}}``, ``<bot>`` work too):

- ``{{char}}`` and ``<BOT>``: the persona's nickname when it has one (V3), else its name.
- ``{{user}}`` and ``<USER>``: the person being answered.
- ``{{original}}``: only where the V2 spec gives it a meaning, in a card's ``system_prompt`` and
  ``post_history_instructions``: the text we would have used without the card's (``original=`` given). Elsewhere it
  is removed.
- V3: ``{{random:A,B,C}}`` (a choice per reply: seeded by ``seed``), ``{{pick:A,B,C}}`` (a choice that stays the
  same for the same text: seeded by the options and which occurrence it is, not by ``seed``), ``{{roll:N}}`` /
  ``{{roll:dN}}`` (1..N, N at most :data:`MAX_ROLL`; seeded like random), ``{{// A}}``, ``{{hidden_key:A}}`` and
  ``{{comment:A}}`` (removed from the prompt), ``{{reverse:A}}``. A comma inside an option is written ``\\,``;
  SillyTavern's ``::`` spelling (``{{random::A,B}}``) is read too.
- Anything else in braces (SillyTavern's many other macros) stays as it was written.

Nesting is resolved inside out in **one pass** over the text (a stack, not a loop that searches again): a macro's
arguments may hold macros (``{{reverse:{{user}}}}``), but what a macro gives is never read again, so a person named
``{{char}}`` stays ``{{char}}`` and nothing can expand itself. Nesting deeper than :data:`MAX_DEPTH` is left as text,
and the result is cut at :data:`MAX_OUTPUT_FACTOR` times the input (plus a little): bounded whatever the input.
The text is data: nothing here is Jinja source, and Jinja syntax passes through untouched.
"""

from __future__ import annotations

import hashlib
import re

MAX_DEPTH = 8
MAX_ROLL = 1_000_000
MAX_OUTPUT_FACTOR = 4
_OUTPUT_SLACK = 4_000
_TOKEN = re.compile(r"\{\{|\}\}|<bot>|<user>", re.IGNORECASE)
_REMOVED = ("//", "hidden_key:", "comment:")
_CHOICE = re.compile(r"(?<!\\),")


def _options(text: str) -> list[str]:
    return [part.replace("\\,", ",").strip() for part in _CHOICE.split(text)]


def _number(seed: str, bound: int) -> int:
    """A deterministic draw in 0..bound-1 from a text seed."""
    return int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big") % bound


class _Resolver:
    def __init__(self, char: str, user: str, original: str | None, seed: str) -> None:
        self.char = char
        self.user = user
        self.original = original
        self.seed = seed
        self.occurrence = 0

    def macro(self, body: str) -> str:
        """What one ``{{body}}`` becomes (body already resolved inside); unknown macros as written."""
        self.occurrence += 1
        word = body.strip().lower()
        if word == "char":
            return self.char
        if word == "user":
            return self.user
        if word == "original":
            return self.original or ""
        lowered = body.lstrip().lower()
        if lowered.startswith(_REMOVED):
            return ""
        for name in ("random", "pick", "roll", "reverse"):
            if lowered.startswith(name + ":"):
                argument = body.lstrip()[len(name) + 1 :]
                argument = argument[1:] if argument.startswith(":") else argument  # SillyTavern's "::"
                return self._call(name, argument, body)
        return "{{" + body + "}}"

    def _call(self, name: str, argument: str, body: str) -> str:
        if name == "reverse":
            return argument[::-1]
        if name == "roll":
            digits = argument.strip().lower().removeprefix("d")
            if not digits.isdigit() or not 1 <= int(digits) <= MAX_ROLL:
                return "{{" + body + "}}"
            return str(1 + _number(f"{self.seed}|roll|{digits}|{self.occurrence}", int(digits)))
        choices = _options(argument)
        key = f"{self.seed}|random|{argument}|{self.occurrence}" if name == "random" else f"pick|{argument}"
        if name == "pick":
            key += f"|{self.occurrence}"
        return choices[_number(key, len(choices))]


def resolve(text: str, *, char: str, user: str, original: str | None = None, seed: str = "") -> str:
    """``text`` with its macros resolved (module docstring). ``seed`` varies ``{{random}}`` and ``{{roll}}`` (the
    message being answered, say); the same inputs always give the same result."""
    if not text or ("{" not in text and "<" not in text):
        return text
    resolver = _Resolver(char, user, original, seed)
    limit = len(text) * MAX_OUTPUT_FACTOR + _OUTPUT_SLACK
    stack: list[list[str]] = [[]]
    at = 0
    for match in _TOKEN.finditer(text):
        stack[-1].append(text[at : match.start()])
        at = match.end()
        token = match.group().lower()
        if token == "{{":
            if len(stack) <= MAX_DEPTH:
                stack.append([])
            else:
                stack[-1].append(match.group())
        elif token == "}}":
            if len(stack) > 1:
                body = "".join(stack.pop())
                stack[-1].append(resolver.macro(body))
            else:
                stack[-1].append(match.group())
        else:
            stack[-1].append(resolver.char if token == "<bot>" else resolver.user)
    stack[-1].append(text[at:])
    while len(stack) > 1:  # braces opened and never closed: as written
        rest = "".join(stack.pop())
        stack[-1].append("{{" + rest)
    return "".join(stack[0])[:limit]
