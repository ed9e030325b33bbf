"""Custom behaviours: validation, matching, sandboxed reply templates and /behavior test."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from bot.core.behaviors import (
    EmojiTrigger,
    InstructionAction,
    KeywordsTrigger,
    behavior_to_columns,
    matching_behaviors,
)
from bot.core.errors import DomainError
from bot.templating.behavior_templates import (
    MAX_OUTPUT,
    check_reply_template,
    plan_effects,
    render_reply,
    template_variables,
    test_behavior,
    validate_behavior,
)
from bot.templating.reply_language import SANDBOX

# Tuesday 4 March 2025, 22:30 in Paris.
NIGHT = datetime(2025, 3, 4, 21, 30, tzinfo=UTC)
NOON = datetime(2025, 3, 4, 11, 0, tzinfo=UTC)
VARIABLES = {"persona": "Ada", "author": "Bob", "mood": "slightly relaxed", "time": "14:05"}


def keywords(*words: str, match: str = "any", action: tuple[str, dict] = ("instruction", {"text": "Be nice."})):
    return validate_behavior("greet", "keywords", {"words": list(words), "match": match}, *action)


# --- validation -------------------------------------------------------------------------------------


def test_a_valid_rule_round_trips_through_its_columns() -> None:
    rule = validate_behavior(
        "  Night   owl ",
        "time",
        {"start": "22:00", "end": "6:00", "timezone": "Europe/Paris", "days": ["Friday", "sat"]},
        "reply",
        {"template": "It's late, {{ author }}."},
    )
    assert rule.name == "Night owl"
    assert rule.trigger_kind == "time" and rule.action_kind == "reply"
    columns = behavior_to_columns(rule)
    assert columns["trigger_config"] == {
        "start": "22:00",
        "end": "06:00",
        "timezone": "Europe/Paris",
        "days": ["fri", "sat"],
    }
    again = validate_behavior(
        columns["name"],
        columns["trigger_kind"],
        columns["trigger_config"],
        columns["action_kind"],
        columns["action_config"],
    )
    assert again == rule


@pytest.mark.parametrize(
    ("trigger_kind", "trigger_config", "action_kind", "action_config", "message"),
    [
        ("sound", {}, "instruction", {"text": "x"}, "'sound' is not a kind of trigger"),
        ("keywords", {"words": []}, "instruction", {"text": "x"}, "at least one word"),
        ("keywords", {"words": ["a"] * 21}, "instruction", {"text": "x"}, "the most is 20"),
        ("keywords", {"words": ["hi"], "mode": "all"}, "instruction", {"text": "x"}, "unknown settings: mode"),
        ("keywords", {"words": ["hi"], "match": "some"}, "instruction", {"text": "x"}, "'any' or 'all'"),
        ("emoji", {"emoji": "party"}, "instruction", {"text": "x"}, "must be one emoji"),
        ("emotion", {"emotion": "glee"}, "instruction", {"text": "x"}, "'glee' is not an emotion"),
        ("emotion", {"emotion": "joy", "min_intensity": 150}, "instruction", {"text": "x"}, "from 0 to 100"),
        ("time", {"start": "25:00", "end": "06:00", "timezone": "UTC"}, "instruction", {"text": "x"}, "time of day"),
        (
            "time",
            {"start": "22:00", "end": "06:00", "timezone": "Mars/Base"},
            "instruction",
            {"text": "x"},
            "not a time zone",
        ),
        (
            "time",
            {"start": "22:00", "end": "06:00", "timezone": "../../etc/passwd"},
            "instruction",
            {"text": "x"},
            "not a time zone",
        ),
        (
            "time",
            {"start": "22:00", "end": "06:00", "timezone": "UTC", "days": ["funday"]},
            "instruction",
            {"text": "x"},
            "not a day",
        ),
        ("keywords", {"words": ["hi"]}, "dance", {}, "'dance' is not a kind of action"),
        ("keywords", {"words": ["hi"]}, "instruction", {"text": " "}, "cannot be blank"),
        ("keywords", {"words": ["hi"]}, "instruction", {"text": "x" * 501}, "the limit is 500"),
        ("keywords", {"words": ["hi"]}, "reply", {"template": "x" * 1001}, "the limit is 1000"),
        ("keywords", {"words": ["hi"]}, "reply", {"template": "{{ author"}, "syntax error on line 1"),
        ("keywords", {"words": ["hi"]}, "reply", {"template": "{% for i in range(3) %}x{% endfor %}"}, "loops"),
        ("keywords", {"words": ["hi"]}, "emotion", {"trigger": "tickle"}, "'tickle' is not an emotional trigger"),
        ("keywords", {"words": ["hi"]}, "reaction", {"emoji": "two words"}, "must be one emoji"),
    ],
)
def test_bad_rules_say_what_is_wrong(
    trigger_kind: str, trigger_config: dict, action_kind: str, action_config: dict, message: str
) -> None:
    with pytest.raises(DomainError, match=message):
        validate_behavior("rule", trigger_kind, trigger_config, action_kind, action_config)


def test_a_blank_name_is_refused() -> None:
    with pytest.raises(DomainError, match="name cannot be blank"):
        validate_behavior("  ", "keywords", {"words": ["hi"]}, "instruction", {"text": "x"})


# --- matching ---------------------------------------------------------------------------------------


def test_keywords_match_whole_words_ignoring_case() -> None:
    rule = keywords("tea", "good morning")
    assert matching_behaviors([rule], "Fancy some TEA?", None, {}, NOON) == [rule]
    assert matching_behaviors([rule], "Good   morning, Ada", None, {}, NOON) == [rule]
    assert matching_behaviors([rule], "I'll have a steak", None, {}, NOON) == []
    both = keywords("tea", "cake", match="all")
    assert matching_behaviors([both], "tea and cake", None, {}, NOON) == [both]
    assert matching_behaviors([both], "just tea", None, {}, NOON) == []


def test_emoji_matches_reactions_and_text_ignoring_variation_selectors() -> None:
    heart = validate_behavior("love", "emoji", {"emoji": "❤️"}, "reaction", {"emoji": "🥰"})
    assert matching_behaviors([heart], "", "❤", {}, NOON) == [heart]
    assert matching_behaviors([heart], "I ❤️ this", None, {}, NOON) == [heart]
    assert matching_behaviors([heart], "nothing", "👍", {}, NOON) == []
    custom = validate_behavior("party", "emoji", {"emoji": "<:party:123>"}, "reaction", {"emoji": "🎉"})
    assert isinstance(custom.trigger, EmojiTrigger)
    assert matching_behaviors([custom], "", "<:party:999>", {}, NOON) == [custom]
    assert matching_behaviors([custom], "yay <a:party:5>", None, {}, NOON) == [custom]


def test_emotion_matches_at_or_above_the_intensity() -> None:
    rule = validate_behavior(
        "grumpy", "emotion", {"emotion": "anger", "min_intensity": 60}, "instruction", {"text": "Be curt."}
    )
    assert matching_behaviors([rule], "hi", None, {"anger": 60}, NOON) == [rule]
    assert matching_behaviors([rule], "hi", None, {"anger": 59.9}, NOON) == []
    assert matching_behaviors([rule], "hi", None, {"joy": 90}, NOON) == []


def test_time_windows_use_the_time_zone_and_wrap_past_midnight() -> None:
    def night(days: list[str] | None = None):
        config: dict = {"start": "22:00", "end": "06:00", "timezone": "Europe/Paris"}
        if days:
            config["days"] = days
        return validate_behavior("owl", "time", config, "instruction", {"text": "Yawn."})

    rule = night()
    assert matching_behaviors([rule], "", None, {}, NIGHT) == [rule]  # 22:30 in Paris
    assert matching_behaviors([rule], "", None, {}, datetime(2025, 3, 5, 4, 59, tzinfo=UTC)) == [rule]  # 05:59
    assert matching_behaviors([rule], "", None, {}, datetime(2025, 3, 5, 5, 0, tzinfo=UTC)) == []  # 06:00
    assert matching_behaviors([rule], "", None, {}, NOON) == []
    # 01:00 on Wednesday belongs to Tuesday night's window.
    tuesday_only = night(["tue"])
    assert matching_behaviors([tuesday_only], "", None, {}, datetime(2025, 3, 5, 0, 0, tzinfo=UTC)) == [tuesday_only]
    assert matching_behaviors([night(["wed"])], "", None, {}, datetime(2025, 3, 5, 0, 0, tzinfo=UTC)) == []
    with pytest.raises(ValueError, match="timezone-aware"):
        matching_behaviors([rule], "", None, {}, datetime(2025, 3, 4, 22, 0))


def test_disabled_rules_do_not_match_and_order_is_kept() -> None:
    first = keywords("hi")
    off = validate_behavior("off", "keywords", {"words": ["hi"]}, "instruction", {"text": "x"}, enabled=False)
    second = validate_behavior("second", "keywords", {"words": ["hi"]}, "reaction", {"emoji": "👋"})
    assert matching_behaviors([first, off, second], "hi", None, {}, NOON) == [first, second]


# --- reply templates and effects --------------------------------------------------------------------


def test_a_reply_template_renders_the_small_context() -> None:
    source = (
        "Hi {{ author|upper }}, {{ persona }} here. {% if mood == 'slightly relaxed' %}All calm.{% endif %} "
        "It's {{ time }}."
    )
    assert render_reply(source, VARIABLES) == "Hi BOB, Ada here. All calm. It's 14:05."
    assert template_variables(
        persona_name="Ada", author_name="Bob", mood="calm", now=NIGHT, timezone="Europe/Paris"
    ) == {
        "persona": "Ada",
        "author": "Bob",
        "mood": "calm",
        "time": "22:30",
    }


def test_user_values_are_data_not_template_source() -> None:
    values = {**VARIABLES, "author": "{{ 7*7 }}{% for x in y %}"}
    assert render_reply("Hello {{ author }}", values) == "Hello {{ 7*7 }}{% for x in y %}"


PAYLOADS = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{% for i in range(10**9) %}x{% endfor %}",
    "{{ 'a' * 10**9 }}",
    "{{ self }}",
    "{{ self.__init__.__globals__ }}",
    "{{ config }}",
    "{{ config.items() }}",
    "{{ request }}",
    "{{ request.application.__globals__ }}",
    "{{ lipsum.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ author.__class__ }}",
    "{{ author|attr('__class__') }}",
    "{{ '%s' % author }}",
    "{{ '{0:>999999999}'.format(author) }}",
    "{{ author|center(999999999) }}",
    "{{ author|indent(999999999) }}",
    "{% set x = 'a' %}{{ x }}",
    "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
    "{% include 'system.j2' %}",
    "{% extends 'system.j2' %}",
    "{% import 'system.j2' as s %}",
    "{{ range(10) }}",
    "{{ dict(a=1) }}",
    "{{ (author ~ author ~ author)|truncate(99999999999) }}",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_template_injection_payloads_fail_safely(payload: str) -> None:
    started = time.thread_time()  # CPU time: a busy machine does not count
    with pytest.raises(DomainError) as caught:
        render_reply(payload, VARIABLES)
    assert time.thread_time() - started < 1.0
    message = str(caught.value)
    assert message.startswith(("Reply templates cannot", "The reply template"))
    assert "<class" not in message and "module" not in message and "posix" not in message


@pytest.mark.parametrize("payload", [p for p in PAYLOADS if "__" in p or "range" in p or "* 10" in p])
def test_the_sandbox_alone_also_refuses_the_payloads(payload: str) -> None:
    # Defence in depth: even without the allow-list check, the sandboxed environment refuses or renders nothing
    # dangerous (no globals, no private attributes, operators intercepted).
    try:
        output = SANDBOX.from_string(payload).render(VARIABLES)
    except Exception as error:  # SecurityError, UndefinedError, ...
        assert "jinja2" in type(error).__module__
    else:
        assert len(output) < MAX_OUTPUT and "<module" not in output and "<class" not in output


def test_output_is_limited() -> None:
    long = "{{ persona }}" + "x" * 980
    assert len(render_reply(long, VARIABLES)) == 983
    with pytest.raises(DomainError, match=f"the limit is {MAX_OUTPUT}"):
        render_reply(long, {**VARIABLES, "persona": "A much longer persona name"})
    with pytest.raises(DomainError, match="too complex"):
        check_reply_template("{{ (" + "1," * 400 + "1) }}")


def test_test_behavior_says_what_would_happen() -> None:
    reply_rule = keywords(
        "hello", action=("reply", {"template": "Hello {{ author }}, {{ persona }} here at {{ time }}!"})
    )
    result = test_behavior(
        reply_rule, message_text="hello!", now=NIGHT, persona_name="Ada", author_name="Bob", timezone="Europe/Paris"
    )
    assert result.matched and result.reply == "Hello Bob, Ada here at 22:30!"
    assert "would fire and reply" in result.summary
    missed = test_behavior(reply_rule, message_text="bye", now=NIGHT, persona_name="Ada", author_name="Bob")
    assert not missed.matched and "would not fire" in missed.summary
    react = validate_behavior("r", "keywords", {"words": ["hi"]}, "reaction", {"emoji": "👋"})
    assert test_behavior(react, message_text="hi", now=NOON, persona_name="A", author_name="B").reaction == "👋"
    feel = validate_behavior("f", "keywords", {"words": ["hi"]}, "emotion", {"trigger": "praise"})
    felt = test_behavior(feel, message_text="hi", now=NOON, persona_name="A", author_name="B")
    assert felt.emotion_trigger == "praise" and "praise" in felt.summary


def test_plan_effects_collects_what_the_matched_rules_do() -> None:
    rules = [
        keywords("hi"),
        validate_behavior("r1", "keywords", {"words": ["hi"]}, "reply", {"template": "First {{ author }}"}),
        validate_behavior("r2", "keywords", {"words": ["hi"]}, "reply", {"template": "Second"}),
        validate_behavior("e", "keywords", {"words": ["hi"]}, "emotion", {"trigger": "praise"}),
        validate_behavior("x", "keywords", {"words": ["hi"]}, "reaction", {"emoji": "👋"}),
    ]
    effects = plan_effects(rules, VARIABLES)
    assert effects.instructions == ("Be nice.",)
    assert effects.reply == "First Bob"
    assert effects.emotion_triggers == ("praise",)
    assert effects.reactions == ("👋",)
    assert isinstance(rules[0].action, InstructionAction) and isinstance(rules[0].trigger, KeywordsTrigger)
