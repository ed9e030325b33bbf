"""Custom behaviours' reply templates, rendered in a sandbox, and what a behaviour would do (``/behavior test``).

A reply template is written by a user, so it is untrusted *source*. Layers of defence, each enough on its own for
the known payloads:

1. **A small language, checked before rendering** (:func:`check_reply_template`): the template is parsed and every
   node must be on an allow-list: text, ``{{ ... }}``, ``{% if %}``, the names ``persona``, ``author``, ``mood``
   and ``time``, constants, comparisons, ``and``/``or``/``not``, ``~`` and a few filters (:data:`FILTERS`). No
   loops, calls, attribute or index access, arithmetic, assignments, macros, includes or blocks. With no loops
   and no arithmetic the work is linear in the template's size, which is itself bounded (1,000 characters,
   :data:`MAX_NODES` nodes): that is the render-time bound.
2. **Jinja2's** ``ImmutableSandboxedEnvironment`` with no globals (no ``range``, ``lipsum``, ``cycler``, ...),
   only the allowed filters and tests, every binary operator intercepted and refused, and ``StrictUndefined``.
3. **The output limit**: a reply longer than :data:`MAX_OUTPUT` characters is refused.

Every failure is a :class:`~bot.core.errors.DomainError` with a sentence; nothing leaks and nothing hangs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError, TemplateError, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bot.core import behaviors as rules
from bot.core.errors import DomainError

NAMES = ("persona", "author", "mood", "time")
FILTERS = frozenset(
    {"upper", "lower", "title", "capitalize", "trim", "truncate", "default", "d", "length", "count", "first", "last"}
)
TESTS = frozenset({"defined", "undefined", "none", "string", "number", "eq", "ne", "in", "lower", "upper"})
MAX_OUTPUT = 1000
MAX_NODES = 300

_ALLOWED_NODES: tuple[type[nodes.Node], ...] = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Const,
    nodes.If,
    nodes.CondExpr,
    nodes.Filter,
    nodes.Test,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Concat,
    nodes.List,
    nodes.Tuple,
    nodes.Keyword,
)
_WHY_NOT: dict[type[nodes.Node], str] = {
    nodes.For: "loops",
    nodes.Call: "calling functions",
    nodes.Getattr: "attributes (a.b)",
    nodes.Getitem: "indexing (a[b])",
    nodes.Slice: "slices",
    nodes.BinExpr: "arithmetic",
    nodes.UnaryExpr: "arithmetic",
    nodes.Assign: "setting variables",
    nodes.AssignBlock: "setting variables",
    nodes.Macro: "macros",
    nodes.CallBlock: "call blocks",
    nodes.FilterBlock: "filter blocks",
    nodes.With: "with blocks",
    nodes.Block: "blocks",
    nodes.Extends: "extends",
    nodes.Include: "include",
    nodes.Import: "imports",
    nodes.FromImport: "imports",
    nodes.Dict: "dictionaries",
}


class _ReplySandbox(ImmutableSandboxedEnvironment):
    """The sandbox with every binary operator intercepted (the checker already refuses them: defence in
    depth)."""

    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})
    intercepted_unops = frozenset({"+", "-"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        raise SecurityError("arithmetic is not available in reply templates")

    def call_unop(self, context: Any, operator: str, arg: Any) -> Any:
        raise SecurityError("arithmetic is not available in reply templates")


def _sandbox() -> _ReplySandbox:
    env = _ReplySandbox(undefined=jinja2.StrictUndefined, autoescape=False)
    env.globals.clear()
    env.filters = {name: f for name, f in env.filters.items() if name in FILTERS}
    env.tests = {name: t for name, t in env.tests.items() if name in TESTS}
    return env


SANDBOX = _sandbox()  # shared: it holds no per-render state


def _refuse(what: str, node: nodes.Node) -> DomainError:
    line = getattr(node, "lineno", None)
    where = f" (line {line})" if line else ""
    return DomainError(
        f"Reply templates cannot use {what}{where}; they may use text, {{{{ name }}}}, {{% if %}} and simple filters."
    )


def check_reply_template(source: str) -> nodes.Template:
    """The parsed template, if it only uses what reply templates allow (module docstring); otherwise
    :class:`DomainError` saying what is not allowed."""
    if not isinstance(source, str) or not source.strip():
        raise DomainError("The reply template cannot be blank.")
    if len(source) > rules.REPLY_TEMPLATE_MAX:
        raise DomainError(
            f"The reply template is {len(source)} characters long; the limit is {rules.REPLY_TEMPLATE_MAX}."
        )
    try:
        tree = SANDBOX.parse(source)
    except TemplateSyntaxError as error:
        raise DomainError(f"The reply template has a syntax error on line {error.lineno}: {error.message}.") from None
    count = 0
    for node in _walk(tree):
        count += 1
        if count > MAX_NODES:
            raise DomainError(f"The reply template is too complex (more than {MAX_NODES} parts).")
        if not isinstance(node, _ALLOWED_NODES):
            kind = next((why for cls, why in _WHY_NOT.items() if isinstance(node, cls)), type(node).__name__)
            raise _refuse(kind, node)
        if isinstance(node, nodes.Name):
            if node.ctx != "load" or node.name not in NAMES:
                raise DomainError(f"The reply template uses '{node.name}'; the names available are {', '.join(NAMES)}.")
        elif isinstance(node, nodes.Filter):
            if node.name not in FILTERS or node.dyn_args is not None or node.dyn_kwargs is not None:
                raise DomainError(
                    f"The reply template uses the filter '{node.name}'; the filters available are "
                    f"{', '.join(sorted(FILTERS))}."
                )
        elif isinstance(node, nodes.Test):
            if node.name not in TESTS or node.dyn_args is not None or node.dyn_kwargs is not None:
                raise DomainError(f"The reply template uses the test '{node.name}', which is not available.")
        elif isinstance(node, nodes.Const) and isinstance(node.value, int | float) and abs(node.value) > 10_000:
            raise DomainError("The reply template uses a number larger than 10,000.")
    return tree


def _walk(node: nodes.Node) -> Iterable[nodes.Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(current.iter_child_nodes())


def template_variables(
    *, persona_name: str, author_name: str, mood: str, now: datetime, timezone: str = "UTC"
) -> dict[str, str]:
    """The read-only context of a reply template: persona, author, mood (words) and time ("14:05")."""
    local = now.astimezone(ZoneInfo(timezone)) if now.tzinfo is not None else now
    return {"persona": persona_name, "author": author_name, "mood": mood, "time": local.strftime("%H:%M")}


def render_reply(source: str, variables: Mapping[str, str]) -> str:
    """A reply template rendered in the sandbox (checked first), at most :data:`MAX_OUTPUT` characters;
    :class:`DomainError` for anything else."""
    check_reply_template(source)
    context = {name: str(variables.get(name, "")) for name in NAMES}
    try:
        text = SANDBOX.from_string(source).render(context)
    except SecurityError as error:
        raise DomainError(f"The reply template tried something not allowed: {error}.") from None
    except TemplateError as error:
        raise DomainError(f"The reply template could not be rendered: {error.message}.") from None
    except (TypeError, ValueError, OverflowError, MemoryError, RecursionError):
        raise DomainError("The reply template could not be rendered.") from None
    text = text.strip()
    if len(text) > MAX_OUTPUT:
        raise DomainError(f"The reply template produced {len(text)} characters; the limit is {MAX_OUTPUT}.")
    if not text:
        raise DomainError("The reply template produced an empty reply.")
    return text


def validate_behavior(
    name: Any,
    trigger_kind: Any,
    trigger_config: Any,
    action_kind: Any,
    action_config: Any,
    *,
    enabled: bool = True,
    id: int | None = None,
) -> rules.Behavior:
    """:func:`bot.core.behaviors.validate_behavior` with reply templates checked by the sandbox's rules."""
    return rules.validate_behavior(
        name,
        trigger_kind,
        trigger_config,
        action_kind,
        action_config,
        enabled=enabled,
        id=id,
        check_template=check_reply_template,
    )


@dataclass(frozen=True)
class BehaviorEffects:
    """What the matching behaviours do to one message."""

    instructions: tuple[str, ...] = ()  # add to PromptContext.instructions
    reply: str | None = None  # the first reply template that rendered: send it instead of asking the model
    emotion_triggers: tuple[str, ...] = ()
    reactions: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default=())  # reply templates that failed (the behaviour is skipped)


def plan_effects(matched: Iterable[rules.Behavior], variables: Mapping[str, str]) -> BehaviorEffects:
    """The effects of the behaviours :func:`bot.core.behaviors.matching_behaviors` returned, in order."""
    instructions: list[str] = []
    reply: str | None = None
    triggers: list[str] = []
    reactions: list[str] = []
    problems: list[str] = []
    for behavior in matched:
        action = behavior.action
        if isinstance(action, rules.InstructionAction):
            instructions.append(action.text)
        elif isinstance(action, rules.ReplyAction):
            if reply is None:
                try:
                    reply = render_reply(action.template, variables)
                except DomainError as error:
                    problems.append(f"{behavior.name}: {error}")
        elif isinstance(action, rules.EmotionAction):
            triggers.append(action.trigger)
        elif action.emoji not in reactions:
            reactions.append(action.emoji)
    return BehaviorEffects(tuple(instructions), reply, tuple(triggers), tuple(reactions), tuple(problems))


@dataclass(frozen=True)
class BehaviorTest:
    """What a behaviour would do with a sample message (``/behavior test``)."""

    matched: bool
    summary: str  # a sentence for the user
    reply: str | None = None
    instruction: str | None = None
    emotion_trigger: str | None = None
    reaction: str | None = None


def test_behavior(
    behavior: rules.Behavior,
    *,
    message_text: str,
    emoji: str | None = None,
    emotions: Mapping[str, float] | None = None,
    now: datetime,
    persona_name: str,
    author_name: str,
    mood: str = "neutral",
    timezone: str = "UTC",
) -> BehaviorTest:
    """Whether ``behavior`` fires for this sample and what it would do; a broken reply template raises
    :class:`DomainError` (so the owner sees why). A disabled behaviour is tested as if enabled."""
    fires = rules.trigger_matches(behavior.trigger, message_text, emoji, emotions or {}, now)
    if not fires:
        return BehaviorTest(False, f"'{behavior.name}' would not fire for this message.")
    action = behavior.action
    head = f"'{behavior.name}' would fire and {rules.describe_action(behavior)}"
    if isinstance(action, rules.ReplyAction):
        variables = template_variables(
            persona_name=persona_name, author_name=author_name, mood=mood, now=now, timezone=timezone
        )
        text = render_reply(action.template, variables)
        return BehaviorTest(True, f"'{behavior.name}' would fire and reply: {text}", reply=text)
    if isinstance(action, rules.InstructionAction):
        return BehaviorTest(True, head + ".", instruction=action.text)
    if isinstance(action, rules.EmotionAction):
        return BehaviorTest(True, head + ".", emotion_trigger=action.trigger)
    return BehaviorTest(True, head + ".", reaction=action.emoji)


test_behavior.__test__ = False  # type: ignore[attr-defined]  # not a pytest test, despite the name
