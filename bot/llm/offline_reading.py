"""How the offline responder reads a message, and what it finds to say in the persona's card and memories.

**Reading** (:func:`read_message`, first match wins): ``sad``, ``thanks``; then the persona's names are taken out
wherever they sit ("Ada, hello", "hello Ada", "hey there Ada!") and a greeting at the start is set aside: what
follows it is read on its own, and when nothing else is asked the message is a ``greeting``. The rest is a
``joke`` asked for, a ``remember`` question ("do you remember my cat?"), an ``about`` question on the persona
itself (who, likes, origin, mood, a favourite X, "do you like X"), any other ``question``, else ``default``.

**Finding** (plain word matching, no model): words are compared by a light stem (plural and -ing/-ed endings
dropped), without common words. :func:`card_fact` picks the sentence of the description, scenario or personality
sharing most words with the question (then most words of the same topic in ``data/offline.toml``) and turns a
third-person sentence about the persona into the first person;
:func:`example_answer` the persona's line of the example dialogue answering a line like the message;
:func:`recall` the retrieved memory sharing most words with the message.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from bot.core import catalog

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
_STOP = frozenset(
    """a about above after again all am an and any are as at be because been being both but by can could did do does
    doing down each for from had has have having he her here hers him his how i if in into is it its just me more my
    myself no not now of off on once only or other our out over own same she should so some such than that the their
    them then there these they this those to too under until up very was we were what when where which while who
    whom why will with would you your yours yourself hi hey hello yes yeah ok okay please thanks thank tell know
    think like really also favourite favorite fave remember recall forget forgot one kind type sort thing things
    anything something ever still even much many most any best""".split()
)
_SAD = re.compile(
    r"(\b(sad|down|depressed|lonely|upset|unhappy|miserable|crying|cried|heartbroken|grieving|awful day|bad day|"
    r"rough day|hurts?|lost my)\b|:\(|:'\(|😢|😭|☹|😞|😔|💔)",
    re.IGNORECASE,
)
_THANKS = re.compile(r"\b(thanks|thank you|thank u|thx|ty|cheers|much appreciated|appreciate it)\b", re.IGNORECASE)
_GREETING = re.compile(
    r"^\W*(hi|hello|hey|hiya|heya|howdy|yo|hallo|greetings|good (morning|afternoon|evening|day))\b"
    r"(\W*\b(there|everyone|everybody|all|folks|friend|you)\b)?",
    re.IGNORECASE,
)
_QUESTION = re.compile(
    r"(\?\s*$|^\W*(who|what|when|where|why|how|which|can|could|would|should|do|does|did|is|are|will)\b)", re.IGNORECASE
)
_JOKE = re.compile(
    r"\b(tell|know|got|have|hear|share|another|give|say)\b[^.?!]*\b(jokes?|puns?)\b|\bmake me (laugh|smile)\b|"
    r"\bsomething funny\b|^\W*(a |another )?joke\W*$",
    re.IGNORECASE,
)
_REMEMBER = re.compile(
    r"\b(do|did|can|could|will) you (still |even )?(remember|recall)\b|\bremember (my|me|when|what|that|how|the)\b|"
    r"\bwhat do you know about (me|my)\b|\bdo you know (my|what my)\b|\byou remember\b",
    re.IGNORECASE,
)
_MY_THING = re.compile(r"\bmy\s+([^\W\d_]+)", re.IGNORECASE)
_ABOUT = (
    ("who", r"\b(who|what) are you\b|\babout yourself\b|\bintroduce yourself\b|\bwhat('?s| is) your name\b"),
    ("likes", r"\bwhat (do|else do) you (like|love|enjoy)\b|\bwhat are you into\b|\bhobb(y|ies)\b|\bfor fun\b"),
    (
        "origin",
        r"\bwhere (are|do|did|were) you (from|come from|live|grow up|grew up|born)\b|\bwhere('?s| is) (your )?home\b",
    ),
    ("mood", r"\bhow are you\b|\bhow('?s| is) it going\b|\bhow do you feel\b|\bhow have you been\b|\bhow are things\b"),
    ("favourite", r"\bfav(ou?rite|e)s?\s+((kind|type|sort)s? of\s+)?([^\W\d_]+)"),
    ("opinion", r"\bdo you (like|love|enjoy|hate|prefer)\s+([^\W\d_].*)$|\bwhat do you think (of|about)\s+(.+)$"),
)
_ADVERBS = frozenset("never always often still also rarely sometimes usually once really".split())
_VERBS = {"is": "am", "are": "am", "was": "was", "were": "was", "has": "have", "does": "do", "'s": "am"}
_OBJECT_HER = r"(?!\s+(that|the|a|an|to|and|or|but|in|on|at|with|for|from|by|of|as|is|was|so|if|when)\b)"
_EXCHANGE = re.compile(r"^(?P<who>.+?) said: “(?P<said>.*?)”", re.DOTALL)


@dataclass(frozen=True)
class Reading:
    """What a message asks: its family (module docstring), the kind of ``about`` question, and its topic (the X of
    "your favourite X", "do you like X", the thing of "do you remember my thing")."""

    family: str
    about: str = ""
    topic: str = ""


@dataclass(frozen=True)
class Recall:
    """A memory to speak of: who said what (``who`` is "you" for the person answered, "" when the memory is not an
    exchange) and the memory's whole text."""

    who: str
    said: str
    text: str


# ----------------------------------------------------------------------------------------------------
# Words


def stem(word: str) -> str:
    """A word without case, a possessive, a plural or an -ing/-ed ending ("ferns" and "fern" compare equal)."""
    w = word.casefold().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    if len(w) >= 6 and w.endswith("ing"):
        return w[:-3]
    if len(w) >= 6 and w.endswith("ed"):
        return w[:-2]
    if len(w) >= 5 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) >= 5 and w.endswith(("ches", "shes", "sses", "xes")):
        return w[:-2]
    if len(w) >= 4 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def content_stems(text: str, skip: Iterable[str] = ()) -> list[str]:
    """The stems of the words of ``text`` that carry meaning (no common words, no ``skip`` words), in order."""
    skipped = {w.casefold() for w in skip}
    found: list[str] = []
    for word in _WORD.findall(text):
        lowered = word.casefold()
        if len(lowered) < 3 or lowered in _STOP or lowered in skipped:
            continue
        stemmed = stem(lowered)
        if stemmed not in found:
            found.append(stemmed)
    return found


@cache
def _topics() -> dict[str, frozenset[str]]:
    """Each stemmed word of ``data/offline.toml`` [related] and the stems of every topic it belongs to."""
    related: dict[str, set[str]] = {}
    for words in catalog.load("offline")["related"].values():
        stems = {stem(w) for w in words}
        for s in stems:
            related.setdefault(s, set()).update(stems)
    return {s: frozenset(group) for s, group in related.items()}


def related_stems(stems: Iterable[str]) -> set[str]:
    """The stems of the topics ``stems`` belong to (without ``stems`` themselves)."""
    own = set(stems)
    found: set[str] = set()
    for s in own:
        found |= _topics().get(s, frozenset())
    return found - own


def sentences(text: str) -> list[str]:
    """The sentences (or lines) of a card text."""
    parts = re.split(r"(?<=[.!?…])\s+|\n+", text)
    return [" ".join(p.split()) for p in parts if p.strip()]


# ----------------------------------------------------------------------------------------------------
# Reading a message


def names_in(name: str, nickname: str = "") -> list[str]:
    """The names a persona is called by: its name, its nickname, and their words of three letters or more."""
    names = [n for n in (name.strip(), nickname.strip()) if n]
    for full in list(names):
        names += [w for w in full.split() if len(w) >= 3 and w.casefold() not in _STOP and w not in names]
    return names


def without_names(text: str, names: Sequence[str]) -> str:
    """``text`` with the persona's names (and a comma or "@" next to them) taken out."""
    for name in sorted(names, key=len, reverse=True):
        text = re.sub(rf"@?(?<!\w){re.escape(name)}(?!\w)\s*,?", " ", text, flags=re.IGNORECASE)
    return " ".join(text.split())


def _about(text: str) -> Reading | None:
    for kind, pattern in _ABOUT:
        match = re.search(pattern, text)
        if not match:
            continue
        if kind == "favourite":
            topic = match.group(4).casefold()
            return Reading("about", kind, topic) if topic not in _STOP else Reading("about", "likes")
        if kind == "opinion":
            said = match.group(2) or match.group(4) or ""
            topic = " ".join(w for w in _WORD.findall(said) if len(w) >= 3 and w not in _STOP)
            return Reading("about", kind, topic) if topic else Reading("about", "likes")
        return Reading("about", kind)
    return None


def _read_rest(text: str) -> Reading:
    if _JOKE.search(text):
        return Reading("joke")
    if _REMEMBER.search(text):
        thing = next((w for w in _MY_THING.findall(text) if w.casefold() not in _STOP), "")
        return Reading("remember", topic=thing.casefold())
    about = _about(text.casefold())
    if about is not None:
        return about
    if _QUESTION.search(text):
        return Reading("question")
    return Reading("default")


def read_message(text: str, names: Sequence[str] = ()) -> Reading:
    """What ``text`` asks of a persona called ``names`` (module docstring)."""
    stripped = text.strip()
    if _SAD.search(stripped):
        return Reading("sad")
    if _THANKS.search(stripped):
        return Reading("thanks")
    plain = without_names(stripped, names)
    greeting = _GREETING.search(plain)
    if greeting is None:
        return _read_rest(plain)
    rest = plain[greeting.end() :].strip(" ,.!-–—")
    reading = _read_rest(rest) if rest else Reading("greeting")
    return reading if reading.family != "default" else Reading("greeting")


# ----------------------------------------------------------------------------------------------------
# Finding what to say


def first_person(sentence: str, names: Sequence[str]) -> str:
    """A sentence about the persona ("Ada tends a greenhouse of ferns.", "She is ...") in its own voice ("I tend a
    greenhouse of ferns."); any other sentence as it is."""
    subjects = "|".join([*(re.escape(n) for n in sorted(names, key=len, reverse=True)), "she", "he", "they"])
    owner = re.match(rf"^(?:(?:{subjects})['’]s|her|his|their)\s+", sentence, re.IGNORECASE)
    subject = re.match(rf"^(?:{subjects})\s+", sentence, re.IGNORECASE)
    if owner is None and subject is None:
        return sentence
    if owner is not None:
        return "My " + _own_words(sentence[owner.end() :])
    assert subject is not None
    words = sentence[subject.end() :].split(" ")
    at = 1 if len(words) > 1 and words[0].casefold() in _ADVERBS else 0
    words[at] = _first_person_verb(words[at], plural=subject.group(0).strip().casefold() == "they")
    return "I " + _own_words(" ".join(words))


def _own_words(rest: str) -> str:
    rest = re.sub(r"\b(herself|himself|themselves|themself)\b", "myself", rest, flags=re.IGNORECASE)
    return re.sub(rf"\b(his|their)\b|\bher\b{_OBJECT_HER}(?=\s+\w)", "my", rest, flags=re.IGNORECASE)


def _first_person_verb(verb: str, plural: bool) -> str:
    lowered = verb.casefold()
    if lowered in _VERBS:
        return _VERBS[lowered]
    if plural or not lowered.isalpha() or len(lowered) < 3:
        return verb
    if lowered.endswith("ies") and len(lowered) > 4:
        return verb[:-3] + "y"
    if lowered.endswith(("ches", "shes", "sses", "xes", "zes", "oes")):
        return verb[:-2]
    if lowered.endswith("s") and not lowered.endswith(("ss", "us", "is")):
        return verb[:-1]
    return verb


def card_fact(texts: Sequence[str], stems: Sequence[str], names: Sequence[str], *, related: bool = True) -> str:
    """The sentence of ``texts`` (description, scenario, personality, in that order of preference) that shares most
    of the words ``stems`` (then, among those, most words of their topics), in the persona's voice; "" when none
    shares any."""
    wanted = set(stems)
    near = related_stems(wanted) if related else set()
    best, best_score = "", (0, 0)
    for text in texts:
        for sentence in sentences(text):
            words = set(content_stems(sentence))
            score = (len(words & wanted), len(words & near))
            if score > best_score:
                best, best_score = sentence, score
    return first_person(best, names) if best else ""


def example_answer(examples: Sequence[str], message: str, names: Sequence[str]) -> str:
    """The persona's line of its example dialogue that answers a line like ``message`` (two shared words, or one
    when the message has only one or two); "" when none does."""
    own = {n.casefold() for n in names}
    asked = set(content_stems(message, names))
    need = 1 if len(asked) <= 2 else 2
    best, best_score = "", 0
    for block in examples:
        lines = [line.strip() for line in block.splitlines() if ":" in line]
        for line, answer in itertools.pairwise(lines):
            speaker, _, said = line.partition(":")
            who, _, reply = answer.partition(":")
            if speaker.strip().casefold() in own or who.strip().casefold() not in own or not reply.strip():
                continue
            score = len(asked & set(content_stems(said, names)))
            if score >= need and score > best_score:
                best, best_score = reply.strip(), score
    return best


def recall(memories: Sequence[str], message: str, names: Sequence[str], author: str | None) -> Recall | None:
    """The memory (of those retrieved, best first) whose words (for an exchange, what was said to the persona: the
    part quoted) share most with ``message``; the first when the message names nothing ("do you remember me?");
    None when memories share nothing it names."""
    if not memories:
        return None
    asked = set(content_stems(message, names))
    found = [_as_recall(memory, author) for memory in memories]
    if not asked:
        return found[0]
    chosen, best = None, 0
    for memory in found:
        score = len(asked & set(content_stems(memory.said if memory.who else memory.text, names)))
        if score > best:
            chosen, best = memory, score
    return chosen


def _as_recall(memory: str, author: str | None) -> Recall:
    match = _EXCHANGE.match(memory)
    if match is None:
        return Recall("", "", memory)
    who = match.group("who").strip()
    if author and who.casefold() == author.casefold():
        who = "you"
    return Recall(who, match.group("said").strip(), memory)
