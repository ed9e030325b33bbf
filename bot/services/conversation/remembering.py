"""What an exchange is worth remembering, and what memory search looks for: the retrieval query of a message, the
importance of an exchange (by rule, or the model's poignancy rating), and the memory an exchange becomes.

**Importance** of a captured exchange (1..10, the Generative Agents scale). By default :func:`heuristic_importance`:
2, plus 2 when the persona was addressed directly (mention, name or reply), plus 1 for a message of 80 characters
or more and 1 more from 240, plus 2 when the author tells something about themselves ("my name is", "I love", "my
sister", ...), plus 2 for a life event (birthday, wedding, new job, diagnosis, ...), plus 1 when asked to remember
("remember", "don't forget", "important"), plus 1 for strong feeling (an exclamation mark, "love", "hate",
"scared", ...), at most 10. When configured, the model rates it instead (:func:`poignancy_request` and
:func:`parse_poignancy`: Park et al.'s poignancy question); an unusable answer falls back to the heuristic.
"""

from __future__ import annotations

import re

from bot.core.images import image_budget
from bot.core.prompt_words import POIGNANCY_PROMPT, exchange_words, poignancy_question
from bot.core.text import clip_line
from bot.llm.base import ChatMessage, ChatRequest
from bot.services.conversation.data import Incoming

MAX_QUERY_WORDS = 6  # words of a message that memory search looks for
MAX_MEMORY_QUOTE = 1500  # characters of each side of an exchange kept in its memory


# ----------------------------------------------------------------------------------------------------
# Retrieval query


_STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her here
    hers herself him himself his how i if in into is it its itself just let me more most my myself no nor not now of
    off on once only or other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up very was we were what
    when where which while who whom why will with would you your yours yourself yourselves hi hey hello yes yeah ok
    okay please thanks thank said answered tell think know like get got really also""".split()
)
_QUERY_WORD = re.compile(r"\w+", re.UNICODE)


def retrieval_query(text: str, persona_name: str) -> str:
    """The words of ``text`` that memory search should look for: without common words (and the words every
    exchange memory holds: "said", "answered"), the persona's own name, and words of one or two letters; the
    :data:`MAX_QUERY_WORDS` longest (the rarer, as a rule), in their order. Every memory contains the persona's
    name, so searching for it would rank every memory and tell nothing."""
    skip = {word.casefold() for word in _QUERY_WORD.findall(persona_name)}
    words: list[str] = []
    for word in _QUERY_WORD.findall(text.casefold()):
        if len(word) > 2 and word not in _STOPWORDS and word not in skip and word not in words:
            words.append(word)
    if len(words) > MAX_QUERY_WORDS:
        keep = set(sorted(words, key=len, reverse=True)[:MAX_QUERY_WORDS])
        words = [word for word in words if word in keep][:MAX_QUERY_WORDS]
    return " ".join(words)


# ----------------------------------------------------------------------------------------------------
# Importance


_ABOUT_SELF = re.compile(
    r"\b(my name is|i am|i'm|i have|i've|i was|i will|i'll|i love|i hate|i like|i lost|i got|i moved|i started|"
    r"i finished|my (wife|husband|partner|girlfriend|boyfriend|kid|kids|son|daughter|mom|mum|dad|mother|father|"
    r"sister|brother|friend|job|boss|dog|cat|home|birthday|family))\b",
    re.IGNORECASE,
)
_LIFE_EVENT = re.compile(
    r"\b(birthday|wedding|married|engaged|pregnant|baby|born|died|passed away|funeral|divorce|promotion|promoted|"
    r"fired|laid off|new job|hired|graduat\w*|diagnos\w*|hospital|surgery|moving|moved|accepted|exam)\b",
    re.IGNORECASE,
)
_REMEMBER = re.compile(r"\b(remember|don't forget|do not forget|important)\b", re.IGNORECASE)
_FEELING = re.compile(r"(!|\b(love|hate|scared|afraid|excited|furious|heartbroken|devastated|thrilled)\b)", re.I)


def heuristic_importance(text: str, *, addressed: bool) -> int:
    """The default importance 1..10 of an exchange about ``text`` (the rule in the module docstring)."""
    score = 2
    if addressed:
        score += 2
    length = len(text.strip())
    score += (length >= 80) + (length >= 240)
    if _ABOUT_SELF.search(text):
        score += 2
    if _LIFE_EVENT.search(text):
        score += 2
    if _REMEMBER.search(text):
        score += 1
    if _FEELING.search(text):
        score += 1
    return max(1, min(10, score))


def poignancy_request(memory_text: str) -> ChatRequest:
    """The request that asks the model to rate a memory (Park et al. 2023's poignancy question)."""
    return ChatRequest(
        system=POIGNANCY_PROMPT,
        messages=(ChatMessage(role="user", content=poignancy_question(memory_text)),),
        max_tokens=5,
        temperature=0.0,
    )


def parse_poignancy(answer: str) -> int | None:
    """The first whole number 1..10 in the model's answer, or None."""
    found = re.search(r"\b(10|[1-9])\b", answer or "")
    return int(found.group(1)) if found else None


def exchange_text(incoming: Incoming, persona_name: str, reply: str | None) -> str:
    """The memory an exchange becomes: what the author said and what the persona answered (each side clipped).
    With no ``reply`` (a reply folded for several people, which names the others) only the author's own words."""
    # A picture sent without words is remembered by its name ("[image: cat.png, 1.2 MB]").
    said = clip_line(incoming.content or image_budget(incoming.attachments, vision=False).text(), MAX_MEMORY_QUOTE)
    answered = clip_line(reply, MAX_MEMORY_QUOTE) if reply is not None else None
    return exchange_words(incoming.author_name, said, persona_name, answered)
