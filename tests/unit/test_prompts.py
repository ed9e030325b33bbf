"""The system prompt (prompts/system.j2): snapshots for three personas, strictness, and user text as data.

The snapshots in tests/unit/snapshots/ are compared exactly. After changing a template or the words on purpose,
regenerate them with ``PERSONA_HUB_UPDATE_SNAPSHOTS=1 python -m pytest tests/unit/test_prompts.py`` and review the
diff before committing.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jinja2
import pytest

from bot.core.conversation import estimate_tokens
from bot.core.personas import BehaviorSettings
from bot.core.prompt_words import affinity_words, date_in_words
from bot.templating.prompts import (
    FeltEmotion,
    HistoryLine,
    MemoryNote,
    PersonaProfile,
    PersonaTie,
    PersonPresent,
    PromptContext,
    build_messages,
    build_request,
    prompt_variables,
    render_system_prompt,
    render_template,
)

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE_ENV = "PERSONA_HUB_UPDATE_SNAPSHOTS"
NOW = datetime(2025, 3, 4, 14, 30, tzinfo=UTC)


def ada() -> PromptContext:
    return PromptContext(
        persona=PersonaProfile(
            id=1,
            name="Ada",
            description="A retired engineer who loves old machines and bad puns.",
            traits={
                "openness": 85,
                "conscientiousness": 75,
                "extraversion": 35,
                "agreeableness": 70,
                "neuroticism": 25,
                "humor": 72,
                "technical_focus": 90,
            },
            custom_traits=(("love of trains", 88),),
            behavior=BehaviorSettings(verbosity="balanced", formality="casual", emoji_use="some"),
        ),
        now=NOW,
        author="Bob",
        message="Do you remember what I drink?",
        mood=(0.35, -0.2, 0.3),
        mood_explanation="I'm slightly relaxed, feeling joy: someone praised or thanked me in the last ten minutes.",
        emotions=(FeltEmotion("joy", 48.0), FeltEmotion("curiosity", 20.0)),
        people=(PersonPresent("Bob", 42, 0.7), PersonPresent("Carol", 0, 0.0)),
        memories=(
            MemoryNote("Bob drinks green tea, never coffee.", NOW - timedelta(days=3), pinned=True),
            MemoryNote("Carol is learning Rust.", NOW - timedelta(days=100)),
        ),
        history=(
            HistoryLine("Carol", "Morning all!"),
            HistoryLine("Ada", "Morning, Carol. The kettle's on.", is_self=True),
        ),
        channel="general",
        tools=("roll_dice", "current_time"),
    )


def grim() -> PromptContext:
    return PromptContext(
        persona=PersonaProfile(
            id=2,
            name="Grim",
            description="A gloomy lighthouse keeper.",
            traits={
                "openness": 30,
                "conscientiousness": 55,
                "extraversion": 10,
                "agreeableness": 25,
                "neuroticism": 80,
            },
            behavior=BehaviorSettings(verbosity="brief", formality="neutral", emoji_use="none"),
        ),
        now=NOW,
        author="Dana",
        message="cheer up!",
        mood=(-0.5, 0.5, 0.4),
        emotions=(FeltEmotion("anger", 80.0),),
        people=(PersonPresent("Dana", 3, -0.7),),
        instructions=("Mention the storm that is coming.",),
    )


def reginald() -> PromptContext:
    long_history = tuple(HistoryLine(f"User{i}", f"Message number {i} " + "blah " * 20) for i in range(40))
    return PromptContext(
        persona=PersonaProfile(
            id=3,
            name="Sir Reginald",
            description="A butler of the old school. {{ 7*7 }} is how he writes sums. {% if x %}",
            traits={
                "openness": 50,
                "conscientiousness": 95,
                "extraversion": 50,
                "agreeableness": 60,
                "neuroticism": 40,
            },
            behavior=BehaviorSettings(verbosity="detailed", formality="formal", emoji_use="lots"),
        ),
        now=NOW,
        author="Eve",
        message="Tea, please.",
        personas=(PersonaTie("Ada", "friend", 0.9), PersonaTie("Grim", "rival", 0.2)),
        history=long_history,
        history_token_budget=200,
    )


@pytest.mark.parametrize("make", [ada, grim, reginald], ids=["ada", "grim", "reginald"])
def test_system_prompt_snapshot(make: object) -> None:
    context = make()  # type: ignore[operator]
    rendered = render_system_prompt(context) + "\n"
    path = SNAPSHOTS / f"system_{context.persona.name.split()[-1].lower()}.txt"
    if os.environ.get(UPDATE_ENV):
        path.parent.mkdir(exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
    assert path.exists(), f"No snapshot {path.name}; create it with {UPDATE_ENV}=1."
    assert rendered == path.read_text(encoding="utf-8"), (
        f"The prompt for {context.persona.name} changed. If that is intended, rerun with {UPDATE_ENV}=1 "
        "and review the snapshot diff."
    )


def test_the_prompt_describes_traits_mood_and_relationships_in_words() -> None:
    text = render_system_prompt(ada())
    assert "You are Ada" in text
    assert "very open to new ideas" in text and "playful" in text and "very strong love of trains" in text
    assert "85" not in text  # trait numbers stay out
    assert "Your mood is slightly relaxed." in text
    assert "You are feeling joy, intrigue." in text
    assert "Bob: you are very fond of them; you have exchanged 42 messages." in text
    assert "Carol: you feel neutral about them; you have not talked before." in text
    assert "Bob drinks green tea, never coffee. (3 days ago; important to you)" in text
    assert "Carol is learning Rust. (in November 2024)" in text
    assert "Speak casually" in text and "Use an emoji now and then" in text
    grim_text = render_system_prompt(grim())
    assert "feeling rage" in grim_text and "Dana: you dislike them" in grim_text
    assert "- Mention the storm that is coming." in grim_text
    assert "Do not use emoji." in grim_text and "one or two sentences" in grim_text
    sir = render_system_prompt(reginald())
    assert "Ada (a persona): your friend, a strong bond." in sir
    assert "Grim (a persona): your rival, a loose bond." in sir


def test_user_text_with_jinja_syntax_appears_literally() -> None:
    text = render_system_prompt(reginald())
    assert "{{ 7*7 }} is how he writes sums. {% if x %}" in text
    assert "49" not in text
    context = ada()
    tricky = PromptContext(
        **{
            **context.__dict__,
            "message": "{{ config }}",
            "author": "{% raw %}",
            "history": (HistoryLine("{{x}}", "{{ y }}"),),
        }
    )
    messages = build_messages(tricky)
    assert messages[1]["content"] == "{% raw %}: {{ config }}"
    assert "{{x}}: {{ y }}" in messages[0]["content"]


def test_strict_undefined_catches_a_missing_variable() -> None:
    variables = prompt_variables(ada())
    del variables["mood"]
    with pytest.raises(jinja2.UndefinedError, match="mood"):
        render_template("system.j2", **variables)


def test_history_is_trimmed_oldest_first_within_the_budget() -> None:
    context = reginald()
    kept = prompt_variables(context)["history"]
    assert 0 < len(kept) < len(context.history)
    assert kept[-1]["author"] == "User39"  # the newest survive
    assert kept[0]["author"] == f"User{40 - len(kept)}"
    cost = sum(estimate_tokens(f"{h['author']}: {h['content']}") for h in kept)
    assert cost <= context.history_token_budget
    dropped = context.history[40 - len(kept) - 1]
    assert cost + estimate_tokens(f"{dropped.author}: {dropped.content}") > context.history_token_budget
    assert "User0:" not in render_system_prompt(context)
    none_fit = PromptContext(**{**context.__dict__, "history_token_budget": 5})
    assert prompt_variables(none_fit)["history"] == []
    assert "Recent conversation" not in render_system_prompt(none_fit)


def test_build_messages_and_request() -> None:
    context = ada()
    messages = build_messages(context)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[0]["content"] == render_system_prompt(context)
    assert messages[1] == {"role": "user", "content": "Bob: Do you remember what I drink?", "name": "Bob"}
    request = build_request(context, tools=[{"type": "function", "function": {"name": "roll_dice"}}])
    assert request.system == messages[0]["content"]
    assert request.to_openai_messages() == messages
    assert request.voice is not None and request.voice.persona_id == 1 and request.voice.mood == "slightly relaxed"
    assert request.voice.message == "Do you remember what I drink?"
    assert request.tools is not None and len(request.tools) == 1


def test_words_for_dates_and_affinity() -> None:
    assert date_in_words(NOW - timedelta(hours=2), NOW) == "today"
    assert date_in_words(NOW - timedelta(days=1), NOW) == "yesterday"
    assert date_in_words(NOW - timedelta(days=5), NOW) == "5 days ago"
    assert date_in_words(NOW - timedelta(days=20), NOW) == "2 weeks ago"
    assert date_in_words(datetime(2024, 6, 1, tzinfo=UTC), NOW) == "in June 2024"
    assert [affinity_words(a) for a in (-1, -0.3, 0, 0.4, 1)] == [
        "dislike",
        "are wary of",
        "feel neutral about",
        "like",
        "are very fond of",
    ]
