"""A realistic lorebook for the chat benchmarks, generated (no data files): 200 entries of a fantasy setting.

Plain keys of one to three words (people, places, things of the setting, and some of the memory benchmarks'
words, so a share of the benchmark's messages fire entries as a real chat would), a few whole-word-off and
case-sensitive entries, about one in ten with regular-expression keys, secondary keys (all four logics) on about a
quarter, three constant entries, and an entry keyed on the persona's name (it fires on every message that names
it, as a character's own entry does); contents of 200 to 800 characters written from the same words, so recursion
finds keys in them; positions before and after the character and at depth; a few sticky, cooldown and probability
entries.
"""

from __future__ import annotations

import random
from datetime import datetime

from bench.common import MEMORY_VOCABULARY
from bot.core.lore import BookRules, LoreEntry, check_entry
from bot.db.engine import Database
from bot.services import lore

LORE_ENTRIES = 200

_SYLLABLES = "ka ri mo el dan thi vor ash ul en sa bren tor wyn gal ith mer ro ne fal".split()
_KINDS = "keep tower river forest guild order blade crown shrine vale harbor pass isle market library".split()
_FILLER = (
    "the of and in to a was old north winter its by with whose under every lies known once who many "
    "said long beyond against where stone silver ash light deep kept sworn hidden"
).split()
_REGEX = (
    r"\bsilver ?(sword|blade)s?\b",
    r"tower of \w+",
    r"/\bdrag(on|ons)\b/i",
    r"\b(king|queen)s? of the north\b",
    r"colou?r(s|ed)?\b",
    r"\bw0{0,2}1[0-9]{2}\b",
    r"\b(moon|sun) ?stone\b",
    r"/ancient (oath|pact)/i",
)
_LOGICS = ("and_any", "not_all", "not_any", "and_all")
_POSITIONS = ("before_char", "after_char", "at_depth")


def _name(chooser: random.Random) -> str:
    return "".join(chooser.choices(_SYLLABLES, k=chooser.randint(2, 3))).capitalize()


def _content(chooser: random.Random, words: list[str]) -> str:
    target = chooser.randint(200, 800)
    out: list[str] = []
    length = 0
    while length < target:
        word = chooser.choice(words) if chooser.random() < 0.06 else chooser.choice(_FILLER)
        out.append(word)
        length += len(word) + 1
    text = " ".join(out)[:target].rstrip() + "."
    return text[0].upper() + text[1:]


def lore_entries(chooser: random.Random, persona_name: str = "Ada") -> list[LoreEntry]:
    """The book's entries (checked as a save would), ``LORE_ENTRIES`` of them."""
    names = [_name(chooser) for _ in range(120)]
    places = [f"{chooser.choice(names)} {chooser.choice(_KINDS)}" for _ in range(60)]
    vocabulary = list(MEMORY_VOCABULARY[:400])
    words = names + places + vocabulary[:50]
    entries: list[LoreEntry] = []
    for index in range(LORE_ENTRIES):
        kind = index % 10
        regex = kind == 0 and index > 3
        if index < 3:
            keys: tuple[str, ...] = ()
        elif index == 3:
            keys = (persona_name,)
        elif regex:
            keys = (_REGEX[index // 10 % len(_REGEX)],)
        else:
            keys = tuple(
                chooser.choice(names if roll < 0.4 else places if roll < 0.7 else vocabulary)
                for roll in (chooser.random() for _ in range(chooser.randint(1, 4)))
            )
        secondary = kind in (2, 5) and index > 3
        entry = LoreEntry(
            id=0,
            keys=keys,
            content=_content(chooser, words),
            secondary_keys=tuple(chooser.sample(words, chooser.randint(1, 3))) if secondary else (),
            logic=_LOGICS[index % 4] if secondary else "and_any",
            case_sensitive=kind == 7,
            whole_words=kind != 8,
            use_regex=regex,
            order=chooser.randint(0, 200),
            position=_POSITIONS[index % 3],
            depth=chooser.randint(0, 6),
            constant=index < 3,
            probability=50 if index % 30 == 13 else 100,
            sticky=2 if index % 25 == 11 else 0,
            cooldown=3 if index % 25 == 11 else 0,
            name=f"{chooser.choice(names)} lore" if chooser.random() < 0.5 else "",
        )
        entries.append(check_entry(entry))
    return entries


async def fill_lorebook(
    database: Database, persona_id: int, guild_id: int | None, chooser: random.Random, *, now: datetime
) -> str:
    """The persona's book made of :func:`lore_entries` (a card import's way); a line describing it."""
    entries = lore_entries(chooser)
    async with database.transaction() as session:
        await lore.replace_persona_book(
            session, persona_id, guild_id, BookRules(), [(e, {}) for e in entries], {"name": "bench"}, now=now
        )
    regex = sum(1 for e in entries if e.use_regex)
    constant = sum(1 for e in entries if e.constant)
    secondary = sum(1 for e in entries if e.secondary_keys)
    return f"{regex} with regex keys, {constant} constant, {secondary} with secondary keys"
