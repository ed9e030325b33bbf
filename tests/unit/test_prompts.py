"""The system prompt (prompts/system.j2): snapshots for three personas, strictness, and user text as data.

The snapshots in tests/unit/snapshots/ are compared exactly. After changing a template or the words on purpose,
regenerate them with ``PERSONA_HUB_UPDATE_SNAPSHOTS=1 python -m pytest tests/unit/test_prompts.py`` and review the
diff before committing.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
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
    draft_request,
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
        token_budget=900,
    )


def card() -> PromptContext:
    """A persona imported from a character card: every card field set, macros in them, a channel of several."""
    return PromptContext(
        persona=PersonaProfile(
            id=4,
            name="Captain Maribel Vance",
            nickname="Mari",
            description="{{char}} captains the airship Kestrel. She calls <USER> 'deckhand'.",
            personality_text="Bold, dry-witted, fiercely loyal to her crew.",
            scenario="{{user}} has just come aboard the Kestrel in a storm. {{// the crew is hidden}}",
            example_dialogue=(
                "<START>\n{{user}}: Where are we headed?\n{{char}}: Wherever the wind pays best, deckhand."
                "\n<START>\n{{user}}: Is it safe?\n{{char}}: Safe? {{reverse:gninnur}} ships never are."
            ),
            system_prompt="{{original}}\nWrite in the voice of a seasoned sky pirate. Never break character.",
            post_history_instructions="{{original}} Keep {{char}}'s answers under four sentences.",
            behavior=BehaviorSettings(verbosity="brief", formality="casual", emoji_use="none"),
        ),
        now=NOW,
        author="Alice",
        message="Captain, what's our heading?",
        mood=(0.2, 0.4, 0.6),
        people=(PersonPresent("Alice", 5, 0.3), PersonPresent("Bob", 0, 0.0)),
        personas=(PersonaTie("Grim", "rival", 0.5),),
        history=(
            HistoryLine("Bob", "Storm's getting worse."),
            HistoryLine("Grim", "The lighthouse says turn back."),
            HistoryLine("Captain Maribel Vance", "We don't turn back.", is_self=True),
        ),
        channel="deck",
        seed="1234",
    )


def test_full_request_snapshot_of_a_card_persona() -> None:
    """The whole request as sent (system, turns, stop, max_tokens) for a persona with every card field."""
    request = build_request(card())
    sent = {"messages": request.to_openai_messages(), "stop": list(request.stop), "max_tokens": request.max_tokens}
    rendered = json.dumps(sent, indent=2, ensure_ascii=False) + "\n"
    path = SNAPSHOTS / "request_card.json"
    if os.environ.get(UPDATE_ENV):
        path.write_text(rendered, encoding="utf-8")
    assert path.exists(), f"No snapshot {path.name}; create it with {UPDATE_ENV}=1."
    assert rendered == path.read_text(encoding="utf-8"), f"The card request changed: rerun with {UPDATE_ENV}=1."


def test_every_card_field_reaches_the_model_with_macros_resolved() -> None:
    request = build_request(card())
    system = request.system
    assert system.startswith("You are Captain Maribel Vance (Mari to your friends)")  # {{original}}: ours first
    assert "Write in the voice of a seasoned sky pirate." in system
    assert "Mari captains the airship Kestrel. She calls Alice 'deckhand'." in system
    assert "Bold, dry-witted" in system
    assert "## The scenario\nAlice has just come aboard the Kestrel in a storm." in system
    assert "the crew is hidden" not in system
    assert "Alice: Where are we headed?\nMari: Wherever the wind pays best" in system
    assert "Safe? running ships never are." in system and "<START>" not in system
    assert "{{" not in system and "<USER>" not in system
    roles = [(m.role, m.name) for m in request.messages]
    assert roles == [("user", "Bob"), ("user", "Grim"), ("assistant", None), ("user", "Alice"), ("system", None)]
    last = request.messages[-1].content
    assert last.startswith("Now write your next message as Mari") and last.endswith("under four sentences.")
    assert request.stop[:3] == ("\nAlice:", "\nUser:", "\n### ") and "\nGrim:" in request.stop
    assert not any("Maribel" in stop or "Mari:" in stop for stop in request.stop)
    assert request.max_tokens == 120


def test_a_card_system_prompt_without_original_replaces_ours() -> None:
    context = card()
    persona = PersonaProfile(**{**context.persona.__dict__, "system_prompt": "You are {{char}}. Be terse."})
    system = build_request(PromptContext(**{**context.__dict__, "persona": persona})).system
    assert system.startswith("You are Mari. Be terse.") and "a persona who chats" not in system


def test_lore_at_depth_lands_among_the_turns() -> None:
    request = build_request(card(), at_depth=[(0, "Lore now."), (2, "Lore two back."), (99, "Lore first.")])
    contents = [m.content for m in request.messages]
    assert contents[0] == "Lore first." and contents[1].startswith("Bob:")
    assert contents.index("Lore two back.") == contents.index("We don't turn back.") - 1
    assert contents[-3:-1] == ["Alice: Captain, what's our heading?", "Lore now."]
    assert request.messages[-1].content.startswith("Now write")


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
    assert messages[1] == {"role": "user", "content": "{{x}}: {{ y }}", "name": "x"}
    assert messages[2] == {"role": "user", "content": "{% raw %}: {{ config }}", "name": "raw"}


def test_strict_undefined_catches_a_missing_variable() -> None:
    variables = prompt_variables(ada())
    del variables["mood"]
    with pytest.raises(jinja2.UndefinedError, match="mood"):
        render_template("system.j2", **variables)


def test_history_is_trimmed_oldest_first_within_the_budget() -> None:
    context = reginald()
    request = build_request(context)
    turns = [m for m in request.messages if m.role == "user"][:-1]  # the history, without the message answered
    assert 0 < len(turns) < len(context.history)
    assert turns[-1].content.startswith("User39: ")  # the newest survive
    assert turns[0].content.startswith(f"User{40 - len(turns)}: ")
    total = estimate_tokens(request.system) + sum(estimate_tokens(m.content) + 4 for m in request.messages)
    assert total <= context.token_budget
    dropped = context.history[40 - len(turns) - 1]
    assert total + estimate_tokens(f"{dropped.author}: {dropped.content}") > context.token_budget - 40
    none_fit = PromptContext(**{**context.__dict__, "token_budget": 5})
    assert [m.role for m in build_request(none_fit).messages] == ["user", "system"]  # the message, post-history


def test_build_messages_and_request() -> None:
    context = ada()
    messages = build_messages(context)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "system"]
    assert messages[0]["content"] == render_system_prompt(context)
    assert messages[1] == {"role": "user", "content": "Carol: Morning all!", "name": "Carol"}
    assert messages[2] == {"role": "assistant", "content": "Morning, Carol. The kettle's on."}
    assert messages[3] == {"role": "user", "content": "Bob: Do you remember what I drink?", "name": "Bob"}
    assert "Now write your next message as Ada" in messages[4]["content"]
    request = build_request(context, tools=[{"type": "function", "function": {"name": "roll_dice"}}])
    assert request.system == messages[0]["content"]
    assert request.to_openai_messages() == messages
    assert request.voice is not None and request.voice.persona_id == 1 and request.voice.mood == "slightly relaxed"
    assert request.voice.message == "Do you remember what I drink?"
    assert request.tools is not None and len(request.tools) == 1
    assert request.stop == ("\nBob:", "\nUser:", "\n### ", "\nCarol:")
    assert request.max_tokens == 300  # balanced
    assert build_request(grim()).max_tokens == 120 and build_request(reginald()).max_tokens == 600
    assert build_request(context, max_tokens=50).max_tokens == 50


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


@pytest.mark.parametrize("budget", [None, 400, 120])
@pytest.mark.parametrize("make", [ada, grim, reginald])
def test_a_draft_made_before_the_memories_gives_the_request_built_with_them(make, budget) -> None:
    # The planner drafts a reply's prompt while its memory search runs, then adds the memories: the same request,
    # whatever the budget trims.
    context = make()
    if budget is not None:
        context = replace(context, token_budget=budget)
    notes = [
        MemoryNote("Bob drinks green tea, never coffee.", NOW - timedelta(days=3), pinned=True),
        MemoryNote("The lighthouse lamp was lit at dusk " * 6, NOW - timedelta(days=40)),
        MemoryNote("Carol is learning Rust.", NOW - timedelta(days=100)),
    ]
    full = replace(context, memories=notes)
    tools = [{"type": "function", "function": {"name": "roll_dice", "parameters": {"type": "object"}}}]
    draft = draft_request(replace(context, memories=[MemoryNote("left out", NOW)]))
    assert draft.request(notes, tools=tools) == build_request(full, tools=tools)
    assert draft.request([]) == build_request(replace(context, memories=()))
    assert "left out" not in draft.request(notes).system
