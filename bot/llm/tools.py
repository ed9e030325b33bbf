"""Tools a persona can use (its ``plugins`` name them), and the loop that lets a model call them.

Each tool has a JSON-schema definition in the OpenAI tools format. Arguments from the model are parsed and
checked against the schema before the tool runs; a problem (bad JSON, a wrong argument, an unknown tool, a tool
that fails or takes longer than ``TOOL_TIMEOUT_SECONDS``) goes back to the model as the tool's output
("Error: ..."), so it can correct itself. Nothing is raised to the caller.

The conversation service supplies a :class:`ToolContext`: the clock (a callable, so tests fix the time), the
persona's time zone, a random generator for dice, and two async callables for memories, so this module needs no
database.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.errors import DomainError
from bot.core.personas import validate_plugins
from bot.core.prompt_words import date_in_words
from bot.llm.base import ChatMessage, ChatReply, ChatRequest, ModelRefused, Provider, Usage

TOOL_TIMEOUT_SECONDS = 10.0
MAX_TOOL_OUTPUT = 4000
MAX_DICE = 100
MAX_SIDES = 1000
MAX_MODIFIER = 1000


@dataclass(frozen=True)
class RecalledMemory:
    """A memory as the search tool shows it to the model."""

    content: str
    created_at: datetime | None = None
    importance: int | None = None


class SearchMemories(Protocol):
    """``await search(query, limit)``: the persona's memories that match, best first (only those it may use)."""

    def __call__(self, query: str, limit: int) -> Awaitable[Sequence[RecalledMemory]]: ...


class PinMemory(Protocol):
    """``await pin(content, importance)``: keep this for good (pinned); returns a short confirmation sentence, or
    raises :class:`DomainError` with the reason it cannot (no consent, too many pins, ...)."""

    def __call__(self, content: str, importance: int) -> Awaitable[str]: ...


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ToolContext:
    """What tools may use, supplied by the conversation service for one reply."""

    persona_id: int
    clock: Callable[[], datetime] = _utc_now
    timezone: str = "UTC"
    rng: random.Random = field(default_factory=random.Random)
    search_memories: SearchMemories | None = None
    pin_memory: PinMemory | None = None


class ToolError(Exception):
    """A tool could not do what was asked; the message goes back to the model."""


ToolFunction = Callable[[Mapping[str, Any], ToolContext], Awaitable[str]]


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: Mapping[str, Any]  # a JSON schema of type "object"
    run: ToolFunction

    def definition(self) -> dict[str, Any]:
        """The OpenAI tools-format definition."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": dict(self.parameters)},
        }


# ----------------------------------------------------------------------------------------------------
# Arguments


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


def check_arguments(schema: Mapping[str, Any], arguments: Any) -> dict[str, Any]:
    """The arguments, with defaults filled in, if they fit the schema (the subset our tools use: object,
    properties with type, enum, minimum/maximum, minLength/maxLength, pattern, required, additionalProperties
    false); otherwise :class:`ToolError` saying what is wrong."""
    if not isinstance(arguments, dict):
        raise ToolError("arguments must be a JSON object")
    properties: Mapping[str, Any] = schema.get("properties", {})
    if schema.get("additionalProperties") is False:
        unknown = sorted(set(arguments) - set(properties))
        if unknown:
            raise ToolError(f"unknown argument(s): {', '.join(unknown)}")
    for name in schema.get("required", ()):
        if name not in arguments:
            raise ToolError(f"missing argument '{name}'")
    result: dict[str, Any] = {}
    for name, rules in properties.items():
        if name not in arguments:
            if "default" in rules:
                result[name] = rules["default"]
            continue
        value = arguments[name]
        kind = rules.get("type")
        if kind is not None:
            allowed = _JSON_TYPES[kind]
            if isinstance(value, bool) and kind != "boolean":
                raise ToolError(f"'{name}' must be of type {kind}")
            if kind == "integer" and isinstance(value, float) and value.is_integer():
                value = int(value)
            if not isinstance(value, allowed):
                raise ToolError(f"'{name}' must be of type {kind}")
        if "enum" in rules and value not in rules["enum"]:
            raise ToolError(f"'{name}' must be one of {', '.join(map(str, rules['enum']))}")
        if isinstance(value, int | float) and not isinstance(value, bool):
            if "minimum" in rules and value < rules["minimum"]:
                raise ToolError(f"'{name}' must be at least {rules['minimum']}")
            if "maximum" in rules and value > rules["maximum"]:
                raise ToolError(f"'{name}' must be at most {rules['maximum']}")
        if isinstance(value, str):
            if len(value) < rules.get("minLength", 0):
                raise ToolError(f"'{name}' must have at least {rules['minLength']} characters")
            if "maxLength" in rules and len(value) > rules["maxLength"]:
                raise ToolError(f"'{name}' must have at most {rules['maxLength']} characters")
            if "pattern" in rules and not re.search(rules["pattern"], value):
                raise ToolError(f"'{name}' is not in the expected format")
        result[name] = value
    return result


# ----------------------------------------------------------------------------------------------------
# The built-in tools


_DICE = re.compile(r"^\s*(\d*)\s*[dD]\s*(\d+)\s*(?:([+-])\s*(\d+))?\s*$")


def roll(notation: str, rng: random.Random) -> tuple[list[int], int, int]:
    """(the rolls, the modifier, the total) for ``NdM+K`` notation (``d20``, ``3d6-1``); bounded: 1..100 dice
    of 2..1000 sides, a modifier up to 1000. :class:`ToolError` otherwise."""
    match = _DICE.match(notation)
    if not match:
        raise ToolError(f"'{notation}' is not dice notation; write it like 2d6+3 or d20")
    count = int(match.group(1) or 1)
    sides = int(match.group(2))
    modifier = int(match.group(4) or 0) * (-1 if match.group(3) == "-" else 1)
    if not 1 <= count <= MAX_DICE:
        raise ToolError(f"roll between 1 and {MAX_DICE} dice")
    if not 2 <= sides <= MAX_SIDES:
        raise ToolError(f"dice need between 2 and {MAX_SIDES} sides")
    if abs(modifier) > MAX_MODIFIER:
        raise ToolError(f"the modifier must be between -{MAX_MODIFIER} and {MAX_MODIFIER}")
    rolls = [rng.randint(1, sides) for _ in range(count)]
    return rolls, modifier, sum(rolls) + modifier


async def _roll_dice(arguments: Mapping[str, Any], context: ToolContext) -> str:
    rolls, modifier, total = roll(arguments["notation"], context.rng)
    shown = ", ".join(map(str, rolls))
    extra = f" {'+' if modifier >= 0 else '-'} {abs(modifier)}" if modifier else ""
    return f"Rolled {arguments['notation'].strip()}: [{shown}]{extra} = {total}"


def _zone(name: str) -> ZoneInfo:
    try:
        if not name or name.startswith(("/", ".")) or ".." in name:
            raise ValueError
        return ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        raise ToolError(f"'{name}' is not a time zone; use a name like Europe/Paris or UTC") from None


async def _current_time(arguments: Mapping[str, Any], context: ToolContext) -> str:
    name = (arguments.get("timezone") or context.timezone).strip()
    zone = _zone(name)
    now = context.clock()
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    local = now.astimezone(zone)
    offset = local.strftime("%z")
    return (
        f"{local.strftime('%A')} {local.day} {local.strftime('%B %Y, %H:%M')} in {name} (UTC{offset[:3]}:{offset[3:]})"
    )


async def _search_my_memories(arguments: Mapping[str, Any], context: ToolContext) -> str:
    if context.search_memories is None:
        raise ToolError("memory search is not available here")
    found = await context.search_memories(arguments["query"], arguments["limit"])
    if not found:
        return "No memories match."
    now = context.clock()
    lines = []
    for memory in found[: arguments["limit"]]:
        when = f" ({date_in_words(memory.created_at, now)})" if memory.created_at else ""
        lines.append(f"- {memory.content}{when}")
    return "\n".join(lines)


async def _pin_memory(arguments: Mapping[str, Any], context: ToolContext) -> str:
    if context.pin_memory is None:
        raise ToolError("pinning memories is not available here")
    try:
        return await context.pin_memory(arguments["content"].strip(), arguments["importance"])
    except DomainError as error:
        raise ToolError(str(error)) from None


ROLL_DICE = Tool(
    name="roll_dice",
    description="Roll dice in NdM+K notation (for example 2d6+3 or d20) and get each roll and the total.",
    parameters={
        "type": "object",
        "properties": {
            "notation": {"type": "string", "description": "Dice like 2d6+3, 1d20 or d100.", "maxLength": 20},
        },
        "required": ["notation"],
        "additionalProperties": False,
    },
    run=_roll_dice,
)
CURRENT_TIME = Tool(
    name="current_time",
    description="The current date and time, in the persona's time zone or a given IANA time zone.",
    parameters={
        "type": "object",
        "properties": {
            "timezone": {
                "type": "string",
                "description": "An IANA time zone such as Europe/Paris; leave out for the persona's own.",
                "maxLength": 64,
            },
        },
        "additionalProperties": False,
    },
    run=_current_time,
)
SEARCH_MY_MEMORIES = Tool(
    name="search_my_memories",
    description="Search your own memories for something you may have been told or experienced before.",
    parameters={
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "What to look for.", "minLength": 1, "maxLength": 200},
            "limit": {"type": "integer", "minimum": 1, "maximum": 10, "default": 5},
        },
        "required": ["query"],
        "additionalProperties": False,
    },
    run=_search_my_memories,
)
PIN_MEMORY = Tool(
    name="pin_memory",
    description="Keep something important in memory for good (a pinned memory never fades).",
    parameters={
        "type": "object",
        "properties": {
            "content": {"type": "string", "description": "What to remember.", "minLength": 1, "maxLength": 500},
            "importance": {"type": "integer", "minimum": 1, "maximum": 10, "default": 8},
        },
        "required": ["content"],
        "additionalProperties": False,
    },
    run=_pin_memory,
)
BUILTIN_TOOLS: tuple[Tool, ...] = (ROLL_DICE, CURRENT_TIME, SEARCH_MY_MEMORIES, PIN_MEMORY)


# ----------------------------------------------------------------------------------------------------
# The registry


class ToolRegistry:
    """Tools by name."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            self.register(tool)

    def register(self, tool: Tool) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", tool.name):
            raise ValueError(f"tool name {tool.name!r} is not allowed by the tools format")
        if tool.name in self._tools:
            raise ValueError(f"a tool called {tool.name!r} is already registered")
        self._tools[tool.name] = tool

    def names(self) -> tuple[str, ...]:
        return tuple(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __len__(self) -> int:
        return len(self._tools)

    def for_plugins(self, plugins: Sequence[str] | None) -> ToolRegistry:
        """The tools a persona's ``plugins`` name, in that order; an unknown name raises :class:`DomainError`."""
        names = validate_plugins(list(plugins or []), known=self.names())
        return ToolRegistry(self._tools[name] for name in names)

    def definitions(self) -> list[dict[str, Any]]:
        """All definitions in the OpenAI tools format."""
        return [tool.definition() for tool in self._tools.values()]

    async def execute(self, name: str, arguments: str | Mapping[str, Any], context: ToolContext) -> str:
        """Run a tool; its output, or "Error: ..." for the model. Never raises (except cancellation)."""
        tool = self._tools.get(name)
        if tool is None:
            return f"Error: there is no tool called '{name}'; the tools are {', '.join(self._tools) or 'none'}."
        try:
            if isinstance(arguments, str):
                try:
                    parsed = json.loads(arguments or "{}")
                except json.JSONDecodeError:
                    raise ToolError("the arguments are not valid JSON") from None
            else:
                parsed = dict(arguments)
            checked = check_arguments(tool.parameters, parsed)
            async with asyncio.timeout(TOOL_TIMEOUT_SECONDS):
                output = await tool.run(checked, context)
        except ToolError as error:
            message = str(error).rstrip()
            return f"Error: {message}" + ("" if message.endswith((".", "!", "?")) else ".")
        except TimeoutError:
            return f"Error: {name} took too long."
        except Exception as error:  # a tool's bug must not end the conversation; the model hears it failed
            return f"Error: {name} failed ({type(error).__name__})."
        return output if len(output) <= MAX_TOOL_OUTPUT else output[: MAX_TOOL_OUTPUT - 1] + "…"


def default_registry() -> ToolRegistry:
    """The built-in tools: roll_dice, current_time, search_my_memories, pin_memory."""
    return ToolRegistry(BUILTIN_TOOLS)


def plugin_names() -> tuple[str, ...]:
    """The names a persona's ``plugins`` may use (for ``validate_plugins(..., known=...)``)."""
    return default_registry().names()


# ----------------------------------------------------------------------------------------------------
# The loop


@dataclass(frozen=True)
class ToolRun:
    """What one tool call did (for logs and ``/persona debug``)."""

    name: str
    arguments: str
    output: str


@dataclass(frozen=True)
class ToolReply:
    """The final reply and the tool calls made on the way."""

    reply: ChatReply
    runs: tuple[ToolRun, ...] = ()


async def run_with_tools(
    provider: Provider,
    request: ChatRequest,
    tools: ToolRegistry,
    context: ToolContext,
    max_rounds: int = 3,
) -> ToolReply:
    """Ask the model, run the tools it asks for, send the results back, until it answers in text.

    At most ``max_rounds`` rounds of tool calls; then one last call without tools, so the model must answer.
    A provider without tool support (the offline responder) or an empty registry means one plain call. Usage
    adds up over all calls. Errors are the provider's :class:`~bot.llm.base.ModelError`.
    """
    offered = tools.definitions() if provider.supports_tools and len(tools) else []
    messages = list(request.messages)
    runs: list[ToolRun] = []
    usage = Usage()
    for round_number in range(max_rounds + 1):
        last = round_number == max_rounds or not offered
        step = replace(request, messages=tuple(messages), tools=None if last else tuple(offered))
        reply = await provider.reply(step)
        usage = usage + reply.usage
        if last or not reply.tool_calls:
            if not reply.text:
                raise ModelRefused("The model returned an empty answer.")
            return ToolReply(replace(reply, tool_calls=(), usage=usage), tuple(runs))
        messages.append(ChatMessage(role="assistant", content=reply.text, tool_calls=reply.tool_calls))
        for call in reply.tool_calls:
            output = await tools.execute(call.name, call.arguments, context)
            runs.append(ToolRun(call.name, call.arguments, output))
            messages.append(ChatMessage(role="tool", content=output, tool_call_id=call.id))
    raise AssertionError("unreachable")  # pragma: no cover
