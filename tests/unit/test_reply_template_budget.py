"""Reply templates: the budget (nesting, parts, compile time) refused with a sentence, compiled once into a bounded
cache, and a failing behaviour skipped without touching the others (issue 15, item 7)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.core import behaviors as rules
from bot.core.errors import DomainError
from bot.templating import behavior_templates
from bot.templating.behavior_templates import (
    CACHE_SIZE,
    check_reply_template,
    clear_compiled,
    compilations,
    compiled_reply,
    plan_effects,
    render_reply,
    validate_behavior,
)
from bot.templating.reply_language import MAX_DEPTH

VARIABLES = {"persona": "Ada", "author": "Bob", "mood": "slightly relaxed", "time": "14:05"}
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

# The three templates of the issue: legal before, each stalled or silenced the bot, or crashed the checker.
FILTER_CHAIN = "{{ persona" + "|upper" * 160 + " }}"  # 973 characters; compiled in ~1.4 s per message
NESTED_NOTS = "{{ " + "not " * 240 + "persona }}"  # passed the check, then SyntaxError when rendered
DEEP_BRACKETS = [
    "{{ " + "(" * 400 + "persona" + ")" * 400 + " }}",  # RecursionError inside the checker
    "{% if " + "(" * 480 + "mood" + ")" * 480 + " %}x{% endif %}",
    "{{ " + "[" * 490 + "]" * 490 + " }}",
]
HOSTILE = [FILTER_CHAIN, NESTED_NOTS, *DEEP_BRACKETS]


@pytest.mark.parametrize("source", HOSTILE, ids=["filters", "nots", "parens", "if-parens", "lists"])
def test_a_template_over_the_nesting_budget_is_refused_with_a_sentence_before_it_is_compiled(source: str) -> None:
    assert len(source) <= rules.REPLY_TEMPLATE_MAX  # legal by size: the budget, not the length, refuses it
    before = compilations()
    with pytest.raises(DomainError, match=rf"^The reply template is nested too deeply \(more than {MAX_DEPTH}"):
        check_reply_template(source)
    with pytest.raises(DomainError, match="nested too deeply"):
        validate_behavior("Loud", "keywords", {"words": ["hi"]}, "reply", {"template": source})
    assert compilations() == before  # refused by the scan or the tree check: Jinja never generated code for it


def test_the_depth_limit_is_exact_and_the_scan_agrees_with_the_tree() -> None:
    # Template > Output > Filter x n > Name: n filters make n + 3 levels.
    at_limit = "{{ persona" + "|upper" * (MAX_DEPTH - 3) + " }}"
    assert render_reply(at_limit, VARIABLES) == "ADA"
    with pytest.raises(DomainError, match="nested too deeply"):
        check_reply_template("{{ persona" + "|upper" * (MAX_DEPTH - 2) + " }}")
    # Blocks, brackets and `not` all count as nesting.
    ifs = "{% if mood %}" * (MAX_DEPTH - 3) + "x" + "{% endif %}" * (MAX_DEPTH - 3)
    assert render_reply(ifs, VARIABLES) == "x"
    with pytest.raises(DomainError, match="nested too deeply"):
        check_reply_template("{% if mood %}" * (MAX_DEPTH + 1) + "x" + "{% endif %}" * (MAX_DEPTH + 1))
    assert render_reply("{{ " + "not " * 20 + "persona }}", VARIABLES) == "True"


LEGIT = [
    ("Hi {{ author|upper }}, {{ persona }} here at {{ time }}.", "Hi BOB, Ada here at 14:05."),
    (
        "{% if mood == 'slightly relaxed' and author != 'Eve' %}Calm, {{ author|title }}.{% else %}No.{% endif %}",
        "Calm, Bob.",
    ),
    ("{{ 'Morning' if time < '12:00' else 'Afternoon' }}, {{ author }}!", "Afternoon, Bob!"),
    ("{{ (persona ~ ' & ' ~ author)|lower|truncate(20) }}", "ada & bob"),
    ("{% if mood in ['happy', 'slightly relaxed'] %}{{ [persona, author]|last }}{% endif %}", "Bob"),
    ("{{ author|default('friend') }} has {{ author|length }} letters", "Bob has 3 letters"),
]


@pytest.mark.parametrize(("source", "expected"), LEGIT)
def test_ordinary_templates_still_render(source: str, expected: str) -> None:
    assert render_reply(source, VARIABLES) == expected


def test_a_template_is_compiled_once_however_often_it_renders() -> None:
    source = "Hello {{ author }}, {{ persona|upper }} says hi (compiled once)."
    before = compilations()
    check_reply_template(source)  # at save
    assert compilations() == before + 1
    for name in ("Bob", "Carol", "Dan") * 10:
        assert render_reply(source, {**VARIABLES, "author": name}).startswith(f"Hello {name},")
    assert compilations() == before + 1
    # A template over the budget is never compiled, however often it is read.
    refused = "{{ persona" + "|lower" * 40 + " }}"
    for _ in range(3):
        with pytest.raises(DomainError):
            check_reply_template(refused)
    assert compilations() == before + 1


def test_the_cache_is_bounded_and_forgets_the_least_recently_used(monkeypatch: pytest.MonkeyPatch) -> None:
    assert CACHE_SIZE >= 25 * 20  # a busy server's reply templates fit (25 per persona)
    size = 16  # a small bound, to fill it quickly
    monkeypatch.setattr(behavior_templates, "CACHE_SIZE", size)
    first = "{{ persona }} is the first of many (cache test)."
    check_reply_template(first)
    before = compilations()
    for index in range(size - 1):
        check_reply_template(f"{{{{ persona }}}} number {index} (cache test).")
        check_reply_template(first)  # used again: the most recent, kept
    assert compilations() == before + size - 1
    for index in range(size - 1, size + 1):
        check_reply_template(f"{{{{ persona }}}} number {index} (cache test).")
    check_reply_template("{{ persona }} number 0 (cache test).")  # the least recently used: dropped, compiled again
    check_reply_template(first)  # still kept
    assert compilations() == before + size + 2


def test_over_the_compile_time_budget_is_refused_and_not_kept() -> None:
    source = "{% if mood %}{{ persona|title }}{% endif %} (budget test)"
    with pytest.raises(DomainError, match=r"^The reply template takes too long to prepare"):
        check_reply_template(source, compile_budget=0.0)
    # A slow moment is not the template's fault: with the normal budget it is compiled and kept.
    before = compilations()
    assert render_reply(source, VARIABLES) == "Ada (budget test)"
    assert render_reply(source, VARIABLES) == "Ada (budget test)"
    assert compilations() == before + 1


def test_rendering_stops_at_the_output_bound() -> None:
    source = "{{ persona }}" * 75
    with pytest.raises(DomainError, match=r"^The reply template produced more than \d+ characters; the limit is 1000"):
        render_reply(source, {**VARIABLES, "persona": "P" * 80})


def _reply(behavior_id: int, name: str, template: str) -> rules.Behavior:
    # Built directly, as a row stored before the budget existed would have been: not validated.
    return rules.Behavior(name, rules.KeywordsTrigger(("hi",)), rules.ReplyAction(template), id=behavior_id)


def test_a_failing_behaviour_is_skipped_with_a_warning_naming_it_and_the_next_one_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    matched = [
        _reply(41, "Broken", NESTED_NOTS),
        _reply(42, "Deep", DEEP_BRACKETS[0]),
        rules.Behavior("React", rules.KeywordsTrigger(("hi",)), rules.ReactionAction("👋"), id=43),
        _reply(44, "Fine", "Hi {{ author }}!"),
    ]
    with caplog.at_level(logging.DEBUG, logger=behavior_templates.__name__):
        effects = plan_effects(matched, VARIABLES)
    assert effects.reply == "Hi Bob!"
    assert effects.reactions == ("👋",)
    assert [problem.split(":")[0] for problem in effects.problems] == ["Broken", "Deep"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.args[0] for r in warnings] == [41, 42]  # type: ignore[index]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_planning_never_compiles_on_the_loop_a_template_missing_from_the_cache(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15 item 7: a template dropped from the cache (or never loaded) skips its behaviour for this message
    with a WARNING and is compiled in a worker thread; the next message gets its reply, compiled once."""
    import threading

    threads: list[int] = []
    compile_for_real = behavior_templates._compile

    def watched(source: str, budget: float) -> Any:
        threads.append(threading.get_ident())
        return compile_for_real(source, budget)

    monkeypatch.setattr(behavior_templates, "_compile", watched)
    clear_compiled()
    matched = [_reply(51, "Greeting", "Hello {{ author }}, from the loop test!")]
    with caplog.at_level(logging.WARNING, logger=behavior_templates.__name__):
        first = plan_effects(matched, VARIABLES)
    assert first.reply is None
    assert [p.split(":")[0] for p in first.problems] == ["Greeting"]
    assert [r.args[0] for r in caplog.records if r.levelno == logging.WARNING] == [51]  # type: ignore[index]
    await behavior_templates.compiled_in_background()
    assert plan_effects(matched, VARIABLES).reply == "Hello Bob, from the loop test!"
    assert len(threads) == 1 and threads[0] != threading.get_ident()


async def test_a_template_too_slow_to_compile_stays_refused_at_plan_time_without_compiling_again() -> None:
    clear_compiled()
    source = "{{ persona }} is slow to prepare, in this test"
    with pytest.raises(DomainError, match="takes too long to prepare"):
        compiled_reply(source, compile_budget=0.0)
    before = compilations()
    effects = plan_effects([_reply(61, "Slow", source)], VARIABLES)
    await behavior_templates.compiled_in_background()
    assert effects.reply is None and "takes too long to prepare" in effects.problems[0]
    assert compilations() == before
    # Where compiling is allowed (a save, a load) it is tried again: the machine, not the template, was slow.
    assert render_reply(source, VARIABLES).startswith("Ada is slow")
    assert compilations() == before + 1


@pytest.mark.parametrize("source", ["Hi {author}!", "{ persona } here", "Mood: {mood}", "{time}"])
def test_a_name_in_single_braces_is_refused_with_the_syntax_that_works(source: str) -> None:
    from bot.templating.reply_language import parse_checked

    with pytest.raises(DomainError, match=r"double braces, like \{\{ (author|persona|mood|time) \}\}"):
        parse_checked(source)


@pytest.mark.parametrize("source", ["Hi {{ author }}!", "{ not a name }", "{{ '{author}' }}", "braces {} alone"])
def test_double_braces_and_other_braces_are_fine(source: str) -> None:
    from bot.templating.reply_language import parse_checked

    parse_checked(source)
