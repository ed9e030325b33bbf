"""The tools registry, the built-in tools and the tool-call loop (against the loopback model server)."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import pytest

from bot.core.errors import DomainError
from bot.llm import ChatMessage, ChatRequest, ModelRefused, OfflineResponder, OpenAICompatibleProvider, Voice
from bot.llm.tools import (
    RecalledMemory,
    ToolContext,
    ToolError,
    default_registry,
    plugin_names,
    roll,
    run_with_tools,
)
from tests.fakes.model_server import FakeModelServer, reply, tool_call

NOON = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
REQUEST = ChatRequest(system="You are Ada.", messages=(ChatMessage(role="user", content="Bob: roll 2d6 for me"),))


def context(**extra: object) -> ToolContext:
    return ToolContext(persona_id=1, clock=lambda: NOON, timezone="Europe/Paris", rng=random.Random(7), **extra)  # type: ignore[arg-type]


@pytest.fixture
async def server() -> AsyncIterator[FakeModelServer]:
    async with FakeModelServer() as running:
        yield running


def test_definitions_are_in_the_openai_tools_format() -> None:
    registry = default_registry()
    assert registry.names() == ("roll_dice", "current_time", "search_my_memories", "pin_memory")
    for definition in registry.definitions():
        assert definition["type"] == "function"
        function = definition["function"]
        assert function["name"] in registry
        assert function["description"]
        assert function["parameters"]["type"] == "object"
        assert function["parameters"]["additionalProperties"] is False
    assert plugin_names() == registry.names()


def test_plugins_choose_tools_and_unknown_plugins_are_refused() -> None:
    registry = default_registry()
    chosen = registry.for_plugins(["current_time", "roll_dice", "roll_dice"])
    assert chosen.names() == ("current_time", "roll_dice")
    assert registry.for_plugins(None).names() == ()
    with pytest.raises(DomainError, match="no plugin called 'weather'"):
        registry.for_plugins(["weather"])


def test_dice_notation_is_parsed_and_bounded() -> None:
    rng = random.Random(1)
    rolls, modifier, total = roll("3d6+2", rng)
    assert len(rolls) == 3 and all(1 <= r <= 6 for r in rolls)
    assert modifier == 2 and total == sum(rolls) + 2
    rolls, modifier, total = roll("d20-1", rng)
    assert len(rolls) == 1 and modifier == -1 and total == rolls[0] - 1
    for bad in ("101d6", "0d6", "2d1", "2d1001", "1d6+1001", "roll a die", "2d"):
        with pytest.raises(ToolError):
            roll(bad, rng)


async def test_roll_dice_reports_each_roll_and_the_total() -> None:
    output = await default_registry().execute("roll_dice", '{"notation": "2d6+3"}', context())
    same = random.Random(7)
    expected_rolls = [same.randint(1, 6) for _ in range(2)]
    assert output == f"Rolled 2d6+3: [{expected_rolls[0]}, {expected_rolls[1]}] + 3 = {sum(expected_rolls) + 3}"


async def test_current_time_uses_the_clock_and_the_time_zone() -> None:
    registry = default_registry()
    assert await registry.execute("current_time", "{}", context()) == (
        "Tuesday 4 March 2025, 13:00 in Europe/Paris (UTC+01:00)"
    )
    assert await registry.execute("current_time", {"timezone": "Asia/Tokyo"}, context()) == (
        "Tuesday 4 March 2025, 21:00 in Asia/Tokyo (UTC+09:00)"
    )
    bad = await registry.execute("current_time", {"timezone": "Mars/Olympus"}, context())
    assert bad.startswith("Error:") and "not a time zone" in bad


@pytest.mark.parametrize(
    ("name", "arguments", "message"),
    [
        ("roll_dice", "not json", "not valid JSON"),
        ("roll_dice", "[1, 2]", "must be a JSON object"),
        ("roll_dice", "{}", "missing argument 'notation'"),
        ("roll_dice", '{"notation": 6}', "'notation' must be of type string"),
        ("roll_dice", '{"notation": "1d6", "evil": true}', "unknown argument(s): evil"),
        ("roll_dice", '{"notation": "1000d6"}', "between 1 and 100 dice"),
        ("search_my_memories", '{"query": "tea", "limit": 50}', "'limit' must be at most 10"),
        ("launch_rockets", "{}", "no tool called 'launch_rockets'"),
    ],
)
async def test_bad_calls_come_back_as_tool_output_not_exceptions(name: str, arguments: str, message: str) -> None:
    output = await default_registry().execute(name, arguments, context())
    assert output.startswith("Error:")
    assert message in output


async def test_memory_tools_call_the_context_s_functions() -> None:
    searched: list[tuple[str, int]] = []
    pinned: list[tuple[str, int]] = []

    async def search(query: str, limit: int) -> Sequence[RecalledMemory]:
        searched.append((query, limit))
        return [RecalledMemory("Bob likes green tea", datetime(2025, 3, 3, 9, 0, tzinfo=UTC))]

    async def pin(content: str, importance: int) -> str:
        pinned.append((content, importance))
        return "Pinned: " + content

    registry = default_registry()
    tools = context(search_memories=search, pin_memory=pin)
    found = await registry.execute("search_my_memories", '{"query": "tea"}', tools)
    assert found == "- Bob likes green tea (yesterday)"
    assert searched == [("tea", 5)]  # the schema's default limit
    assert await registry.execute("pin_memory", '{"content": " Bob is allergic to cats "}', tools) == (
        "Pinned: Bob is allergic to cats"
    )
    assert pinned == [("Bob is allergic to cats", 8)]


async def test_memory_tools_report_refusals_and_absence_to_the_model() -> None:
    async def refuse(content: str, importance: int) -> str:
        raise DomainError("Bob has not agreed to be remembered.")

    async def broken(query: str, limit: int) -> Sequence[RecalledMemory]:
        raise RuntimeError("database is on fire")

    registry = default_registry()
    refused = await registry.execute("pin_memory", '{"content": "x"}', context(pin_memory=refuse))
    assert refused == "Error: Bob has not agreed to be remembered."
    failed = await registry.execute("search_my_memories", '{"query": "x"}', context(search_memories=broken))
    assert failed == "Error: search_my_memories failed (RuntimeError)."
    assert "database" not in failed  # internals do not reach the model
    missing = await registry.execute("search_my_memories", '{"query": "x"}', context())
    assert missing == "Error: memory search is not available here."


async def test_a_dice_call_round_trips_through_the_model_server(server: FakeModelServer) -> None:
    provider = OpenAICompatibleProvider(base_url=server.base_url, model="m", timeout_seconds=2.0)
    server.script(tool_call(("roll_dice", {"notation": "2d6"})), reply("You rolled a total of 7!"))
    registry = default_registry().for_plugins(["roll_dice"])
    result = await run_with_tools(provider, REQUEST, registry, context())
    await provider.aclose()

    assert result.reply.text == "You rolled a total of 7!"
    assert [run.name for run in result.runs] == ["roll_dice"]
    first, second = server.requests
    assert [t["function"]["name"] for t in first["tools"]] == ["roll_dice"]
    # The second request carries the assistant's call and the tool's output, tied by the call id.
    assistant, tool = second["messages"][-2:]
    assert assistant["role"] == "assistant"
    assert assistant["tool_calls"][0]["function"] == {"name": "roll_dice", "arguments": json.dumps({"notation": "2d6"})}
    assert tool["role"] == "tool" and tool["tool_call_id"] == assistant["tool_calls"][0]["id"]
    assert tool["content"] == result.runs[0].output and tool["content"].startswith("Rolled 2d6: [")


async def test_the_loop_stops_after_max_rounds_and_asks_for_text(server: FakeModelServer) -> None:
    provider = OpenAICompatibleProvider(base_url=server.base_url, model="m", timeout_seconds=2.0)
    dice = tool_call(("roll_dice", {"notation": "d6"}))
    server.script(dice, dice, reply("Enough dice."))
    result = await run_with_tools(provider, REQUEST, default_registry(), context(), max_rounds=2)
    await provider.aclose()
    assert result.reply.text == "Enough dice."
    assert len(result.runs) == 2
    assert "tools" in server.requests[1] and "tools" not in server.requests[2]  # the last call offers none


async def test_an_empty_final_answer_is_a_refusal(server: FakeModelServer) -> None:
    provider = OpenAICompatibleProvider(base_url=server.base_url, model="m", timeout_seconds=2.0)
    server.script(tool_call(("roll_dice", {"notation": "d6"}), text=""), tool_call(("roll_dice", {"notation": "d6"})))
    with pytest.raises(ModelRefused):
        await run_with_tools(provider, REQUEST, default_registry(), context(), max_rounds=1)
    await provider.aclose()


async def test_the_offline_responder_ignores_tools() -> None:
    request = ChatRequest(
        system="",
        messages=REQUEST.messages,
        voice=Voice(persona_id=3, name="Ada", message="roll 2d6 for me", author="Bob"),
    )
    result = await run_with_tools(OfflineResponder(), request, default_registry(), context())
    assert result.runs == ()
    assert result.reply.text
