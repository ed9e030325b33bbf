"""Query-string bounds on the routes the sandbox serves: message history ``limit`` 1-100 and ``before``/``after``/
``around`` snowflakes (developers/resources/message, "Get Channel Messages"), reaction users ``limit`` 1-100 and
``type`` 0/1 ("Get Reactions"), pins ``limit`` 1-50 ("Get Channel Pins"), thread members ``limit`` 1-100
(developers/resources/channel, "List Thread Members"). Each bound accepted, one past refused with ``50035`` naming
the parameter, through discord.py's HTTP client where it sends the parameter."""

from __future__ import annotations

import discord
import pytest

from bot.sandbox import Sandbox
from tests.e2e.conformance.msg_helpers import assert_form_error, codes_at, raw, refusal

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("limit", "message"),
    [(101, "int value should be less than or equal to 100."), (0, "int value should be greater than or equal to 1.")],
    ids=["101", "0"],
)
async def test_history_limit_is_1_to_100(sandbox: Sandbox, discord_client, limit: int, message: str) -> None:
    bot = await discord_client()
    for i in range(3):
        await sandbox.send(sandbox.general, f"m{i}")
    assert len(await bot.http.logs_from(sandbox.general.id, 100)) == 3
    assert len(await bot.http.logs_from(sandbox.general.id, 1)) == 1
    assert_form_error(await refusal(bot.http.logs_from(sandbox.general.id, limit)), "limit", message)


async def test_discord_py_history_pages_by_100(sandbox: Sandbox, discord_client) -> None:
    """``history(limit=150)`` asks 100 then 50, so it keeps working."""
    bot = await discord_client()
    for i in range(120):
        await sandbox.send(sandbox.general, f"m{i}")
    seen = [m async for m in bot.get_channel(sandbox.general.id).history(limit=150)]
    assert len(seen) == 120
    limits = [r.query.get("limit") for r in sandbox.requests("GET", "/channels/{channel_id}/messages")]
    assert limits[0] == "100"


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"limit": "many"}, "limit", "NUMBER_TYPE_COERCE"),
        ({"before": "yesterday"}, "before", "NUMBER_TYPE_COERCE"),
        ({"after": "-1"}, "after", "NUMBER_TYPE_COERCE"),
        ({"around": "x"}, "around", "NUMBER_TYPE_COERCE"),
    ],
    ids=["limit", "before", "after", "around"],
)
async def test_history_parameters_are_typed(sandbox: Sandbox, params: dict, field: str, code: str) -> None:
    status, answer = await raw(sandbox, "GET", f"/channels/{sandbox.general.id}/messages", params=params)
    assert status == 400 and answer["code"] == 50035 and codes_at(answer, field) == [code]


async def test_reaction_users_limit_is_1_to_100(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    m = await sandbox.send(sandbox.general, "react")
    await sandbox.react(m, "👍", user=sandbox.bob)
    users = await bot.http.get_reaction_users(sandbox.general.id, m.id, "👍", 100)
    assert [int(u["id"]) for u in users] == [sandbox.bob.id]
    error = await refusal(bot.http.get_reaction_users(sandbox.general.id, m.id, "👍", 101))
    assert_form_error(error, "limit", "int value should be less than or equal to 100.")
    error = await refusal(bot.http.get_reaction_users(sandbox.general.id, m.id, "👍", 0))
    assert_form_error(error, "limit", "int value should be greater than or equal to 1.")
    await bot.http.get_reaction_users(sandbox.general.id, m.id, "👍", 25, type=1)
    error = await refusal(bot.http.get_reaction_users(sandbox.general.id, m.id, "👍", 25, type=2))
    assert_form_error(error, "type")


async def test_pins_limit_is_1_to_50(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    m = await sandbox.send(sandbox.general, "pin me")
    await bot.http.pin_message(sandbox.general.id, m.id)
    pins = await bot.http.pins_from(sandbox.general.id, limit=50)
    assert [item["message"]["id"] for item in pins["items"]] == [str(m.id)]
    error = await refusal(bot.http.pins_from(sandbox.general.id, limit=51))
    assert_form_error(error, "limit", "int value should be less than or equal to 50.")
    error = await refusal(bot.http.pins_from(sandbox.general.id, before="not a time"))
    assert_form_error(error, "before")
    assert [p.id async for p in bot.get_channel(sandbox.general.id).pins()] == [m.id]


async def test_thread_members_limit_is_1_to_100(sandbox: Sandbox, discord_client) -> None:
    """discord.py sends no parameters here; the bounds are asked raw."""
    bot = await discord_client()
    thread = await sandbox.create_thread(sandbox.general, "scene")
    members = await bot.http.get_thread_members(thread.id)
    assert isinstance(members, list)
    path = f"/channels/{thread.id}/thread-members"
    status, _ = await raw(sandbox, "GET", path, params={"limit": "100", "with_member": "true"})
    assert status == 200
    status, answer = await raw(sandbox, "GET", path, params={"limit": "101"})
    assert status == 400 and codes_at(answer, "limit") == ["NUMBER_TYPE_MAX"]
    status, answer = await raw(sandbox, "GET", path, params={"with_member": "perhaps"})
    assert status == 400 and codes_at(answer, "with_member") == ["BOOLEAN_TYPE_COERCE"]


async def test_a_refused_query_is_recorded_as_a_400(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    with pytest.raises(discord.HTTPException):
        await bot.http.logs_from(sandbox.general.id, 101)
    assert sandbox.requests("GET", "/channels/{channel_id}/messages")[-1].status == 400
