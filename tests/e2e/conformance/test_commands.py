"""Application-command sync against the sandbox, limit by limit, as Discord documents them
(developers/interactions/application-commands.mdx): each bound exactly at the limit is accepted, one past it is
refused with 50035 and the field path (bulk errors start at the command's index), through the real discord.py
client: ``tree.sync()`` where discord.py can express the body, its HTTP layer with hand-made bodies otherwise."""

from __future__ import annotations

from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands

from bot.sandbox import Sandbox

pytestmark = pytest.mark.e2e

MAX_SAFE = 2**53 - 1


def slash(name: str = "cmd", description: str = "Does a thing", **fields: Any) -> dict[str, Any]:
    return {"type": 1, "name": name, "description": description, **fields}


def opt(name: str = "opt", type: int = 3, description: str = "An option", **fields: Any) -> dict[str, Any]:
    return {"type": type, "name": name, "description": description, **fields}


def menu(name: str, type: int = 2, **fields: Any) -> dict[str, Any]:
    return {"type": type, "name": name, **fields}


class Api:
    """The sandbox's command routes through discord.py's HTTP client (so refusals raise ``HTTPException``)."""

    def __init__(self, bot: discord.Client, sandbox: Sandbox) -> None:
        self.http = bot.http
        self.app = bot.application_id
        self.guild = sandbox.guild.id

    async def bulk(self, commands: list[dict[str, Any]], *, guild: bool = True) -> Any:
        if guild:
            return await self.http.bulk_upsert_guild_commands(self.app, self.guild, payload=commands)
        return await self.http.bulk_upsert_global_commands(self.app, payload=commands)

    async def create(self, command: dict[str, Any]) -> Any:
        return await self.http.upsert_guild_command(self.app, self.guild, command)

    async def edit(self, command_id: str, fields: dict[str, Any]) -> Any:
        return await self.http.edit_guild_command(self.app, self.guild, command_id, fields)


@pytest.fixture
async def api(sandbox: Sandbox, discord_client: Any) -> Api:
    return Api(await discord_client(), sandbox)


async def refused(call: Any, path: str, code: str | None = None) -> discord.HTTPException:
    """Awaits ``call``, which must fail with 50035 naming ``path`` (and ``code`` when given)."""
    with pytest.raises(discord.HTTPException) as caught:
        await call
    error = caught.value
    assert error.status == 400 and error.code == 50035, error.text
    assert f"In {path}: " in error.text, error.text
    if code is not None:
        node: Any = error._errors
        for part in path.split(".") if path != "_errors" else []:
            node = node[part]
        assert code in {e["code"] for e in node["_errors"]}, node
    return error


# ------------------------------------------------------------------------------------------ names


SLASH_NAMES_OK = ["a" * 32, "a", "ab-c_d", "日本語", "héllo", "ʼtis", "straße", "नमस्ते", "สวัสดี", "123", "ǆ"]
SLASH_NAMES_REFUSED = [
    ("a" * 33, "BASE_TYPE_BAD_LENGTH"),
    ("", "BASE_TYPE_BAD_LENGTH"),
    ("it's", "STRING_TYPE_REGEX"),  # ASCII apostrophe: Discord allows U+02BC, not U+0027
    ("two words", "STRING_TYPE_REGEX"),
    ("smile😀", "STRING_TYPE_REGEX"),
    ("Hello", "APPLICATION_COMMAND_INVALID_NAME"),  # a letter with a lowercase variant must be lowercase
    ("ÉTÉ", "APPLICATION_COMMAND_INVALID_NAME"),
]


@pytest.mark.parametrize("name", SLASH_NAMES_OK)
async def test_slash_command_and_option_names_within_the_rules_are_accepted(api: Api, name: str) -> None:
    [cmd] = await api.bulk([slash(name, options=[opt(name)])])
    assert cmd["name"] == name and cmd["options"][0]["name"] == name


@pytest.mark.parametrize(("name", "code"), SLASH_NAMES_REFUSED)
async def test_slash_command_names_outside_the_rules_are_refused(api: Api, name: str, code: str) -> None:
    await refused(api.bulk([slash("fine"), slash(name)]), "1.name", code)


@pytest.mark.parametrize(("name", "code"), SLASH_NAMES_REFUSED)
async def test_option_names_follow_the_same_rules(api: Api, name: str, code: str) -> None:
    await refused(api.bulk([slash(options=[opt("fine"), opt(name)])]), "0.options.1.name", code)


@pytest.mark.parametrize("type_", [2, 3])
async def test_user_and_message_command_names_take_capitals_and_spaces_up_to_32(api: Api, type_: int) -> None:
    names = ["Another take", "X" * 32]
    made = await api.bulk([menu(n, type_) for n in names])
    assert [c["name"] for c in made] == names and all(c["description"] == "" for c in made)
    await refused(api.bulk([menu("X" * 33, type_)]), "0.name", "BASE_TYPE_BAD_LENGTH")


@pytest.mark.parametrize("type_", [2, 3])
async def test_user_and_message_commands_take_no_description_and_no_options(api: Api, type_: int) -> None:
    await refused(api.bulk([menu("Look", type_, description="x")]), "0.description")
    await refused(api.bulk([menu("Look", type_, options=[opt()])]), "0.options")


async def test_a_name_refused_by_single_create_and_edit_names_the_field_without_an_index(api: Api) -> None:
    await refused(api.create(slash("Upper")), "name", "APPLICATION_COMMAND_INVALID_NAME")
    made = await api.create(slash("lower"))
    await refused(api.edit(made["id"], {"name": "it's"}), "name", "STRING_TYPE_REGEX")
    await refused(api.edit(made["id"], {"description": "d" * 101}), "description", "BASE_TYPE_BAD_LENGTH")
    edited = await api.edit(made["id"], {"description": "d" * 100})
    assert edited["description"] == "d" * 100 and edited["id"] == made["id"]


async def test_names_are_unique_per_type_and_options_per_level(api: Api) -> None:
    await refused(api.bulk([slash("same"), slash("same")]), "1", "APPLICATION_COMMANDS_DUPLICATE_NAME")
    assert len(await api.bulk([slash("same"), menu("same", 2), menu("same", 3)])) == 3
    await refused(api.bulk([slash(options=[opt("a"), opt("a")])]), "0.options.1.name")
    other = await api.create(slash("other"))
    await refused(api.edit(other["id"], {"name": "same"}), "name", "APPLICATION_COMMANDS_DUPLICATE_NAME")


# ----------------------------------------------------------------------------------- descriptions


@pytest.mark.parametrize(("length", "ok"), [(1, True), (100, True), (0, False), (101, False)])
async def test_command_and_option_descriptions_are_1_to_100(api: Api, length: int, ok: bool) -> None:
    text = "d" * length
    for body, path in (
        (slash(description=text), "0.description"),
        (slash(options=[opt(description=text)]), "0.options.0.description"),
    ):
        if ok:
            await api.bulk([body])
        else:
            await refused(api.bulk([body]), path, "BASE_TYPE_BAD_LENGTH")


# ------------------------------------------------------------------------------- options, choices


@pytest.mark.parametrize(("count", "ok"), [(25, True), (26, False)])
async def test_at_most_25_options_per_level(api: Api, count: int, ok: bool) -> None:
    params = [opt(f"o{k}") for k in range(count)]
    subs = [opt(f"s{k}", 1) for k in range(count)]
    grouped = [opt("g", 2, options=[opt(f"s{k}", 1) for k in range(count)])]
    nested = [opt("s", 1, options=params)]
    cases = (
        (params, "0.options"),
        (subs, "0.options"),
        (grouped, "0.options.0.options"),
        (nested, "0.options.0.options"),
    )
    for options, path in cases:
        if ok:
            await api.bulk([slash(options=options)])
        else:
            await refused(api.bulk([slash(options=options)]), path, "BASE_TYPE_MAX_LENGTH")


@pytest.mark.parametrize(("count", "ok"), [(25, True), (26, False)])
async def test_at_most_25_choices(api: Api, count: int, ok: bool) -> None:
    body = slash(options=[opt(choices=[{"name": f"c{k}", "value": f"v{k}"} for k in range(count)])])
    if ok:
        await api.bulk([body])
    else:
        await refused(api.bulk([body]), "0.options.0.choices", "BASE_TYPE_MAX_LENGTH")


@pytest.mark.parametrize(
    ("choice", "path", "code"),
    [
        ({"name": "n" * 101, "value": "v"}, "name", "BASE_TYPE_BAD_LENGTH"),
        ({"name": "", "value": "v"}, "name", "BASE_TYPE_BAD_LENGTH"),
        ({"name": "n", "value": "v" * 101}, "value", "BASE_TYPE_MAX_LENGTH"),
        ({"name": "n", "value": 3}, "value", None),
        ({"name": "n", "name_localizations": {"fr": "n" * 101}, "value": "v"}, "name_localizations.fr", None),
    ],
)
async def test_choice_names_1_to_100_and_string_values_up_to_100(
    api: Api, choice: dict[str, Any], path: str, code: str | None
) -> None:
    await api.bulk([slash(options=[opt(choices=[{"name": "n" * 100, "value": "v" * 100}])])])
    await refused(api.bulk([slash(options=[opt(choices=[choice])])]), f"0.options.0.choices.0.{path}", code)


@pytest.mark.parametrize(("type_", "ok", "bad"), [(4, MAX_SAFE, MAX_SAFE + 1), (10, 2.0**53, 2.0**54), (4, 1, 1.5)])
async def test_numeric_choice_values_and_bounds_stay_in_range(api: Api, type_: int, ok: Any, bad: Any) -> None:
    await api.bulk([slash(options=[opt(type=type_, choices=[{"name": "n", "value": ok}])])])
    await api.bulk([slash(options=[opt(type=type_, min_value=-ok, max_value=ok)])])
    await refused(
        api.bulk([slash(options=[opt(type=type_, choices=[{"name": "n", "value": bad}])])]),
        "0.options.0.choices.0.value",
    )
    await refused(api.bulk([slash(options=[opt(type=type_, max_value=bad)])]), "0.options.0.max_value")
    await refused(api.bulk([slash(options=[opt(type=type_, min_value=-bad)])]), "0.options.0.min_value")


async def test_min_value_may_not_exceed_max_value(api: Api) -> None:
    await api.bulk([slash(options=[opt(type=4, min_value=5, max_value=5)])])
    await refused(api.bulk([slash(options=[opt(type=4, min_value=6, max_value=5)])]), "0.options.0.max_value")


@pytest.mark.parametrize(
    ("field", "ok", "bad"),
    [("min_length", 0, -1), ("min_length", 6000, 6001), ("max_length", 1, 0), ("max_length", 6000, 6001)],
)
async def test_string_length_bounds(api: Api, field: str, ok: int, bad: int) -> None:
    await api.bulk([slash(options=[opt(**{field: ok})])])
    await refused(api.bulk([slash(options=[opt(**{field: bad})])]), f"0.options.0.{field}")


async def test_autocomplete_may_not_be_set_with_choices(api: Api) -> None:
    await api.bulk([slash(options=[opt(autocomplete=True)])])
    body = slash(options=[opt(autocomplete=True, choices=[{"name": "n", "value": "v"}])])
    await refused(api.bulk([body]), "0.options.0.autocomplete")


async def test_required_options_come_before_optional_ones(api: Api) -> None:
    await api.bulk([slash(options=[opt("a", required=True), opt("b")])])
    body = slash(options=[opt("a"), opt("b", required=True)])
    await refused(api.bulk([body]), "0.options.1", "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID")
    in_sub = slash(options=[opt("s", 1, options=[opt("a"), opt("b", required=True)])])
    await refused(api.bulk([in_sub]), "0.options.0.options.1", "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID")


@pytest.mark.parametrize(
    ("options", "path"),
    [
        ([opt("s", 1, options=[opt("inner", 1)])], "0.options.0.options.0.type"),  # subcommand in a subcommand
        ([opt("s", 1, options=[opt("inner", 2)])], "0.options.0.options.0.type"),  # group in a subcommand
        ([opt("g", 2, options=[opt("inner", 2)])], "0.options.0.options.0.type"),  # group in a group
        ([opt("g", 2, options=[opt("param", 3)])], "0.options.0.options.0.type"),  # parameter in a group
        ([opt("s", 1), opt("param", 3)], "0.options.0.type"),  # subcommands mixed with parameters
        ([opt("bad", 12)], "0.options.0.type"),
    ],
)
async def test_subcommand_nesting_follows_discord(api: Api, options: list[dict[str, Any]], path: str) -> None:
    await refused(api.bulk([slash(options=options)]), path)


async def test_a_well_nested_tree_is_accepted(api: Api) -> None:
    tree = [opt("g", 2, options=[opt("s", 1, options=[opt("p", 4, required=True)])]), opt("t", 1)]
    [cmd] = await api.bulk([slash(options=tree)])
    assert cmd["options"][0]["options"][0]["options"][0]["name"] == "p"


# ---------------------------------------------------------------------- size, counts, permissions


def sized(total: int) -> dict[str, Any]:
    """A slash command whose names, descriptions and choice names and values come to exactly ``total``
    (7991 to 8090): "big" (3) and a 100-character description, three options of 3 + 100 + 25 choices of 1 + 100
    (2628 each), and a last option "o03" whose description takes the rest."""
    full = [opt(f"o{k:02d}", description="d" * 100, choices=[{"name": "n", "value": "v" * 100}] * 25) for k in range(3)]
    last = opt("o03", description="d" * (total - 7990))
    return slash("big", "d" * 100, options=[*full, last])


@pytest.mark.parametrize(("total", "ok"), [(8000, True), (8001, False)])
async def test_a_slash_command_holds_at_most_8000_characters(api: Api, total: int, ok: bool) -> None:
    body = sized(total)
    if ok:
        await api.bulk([body])
        await api.create(body)
    else:
        await refused(api.bulk([slash("small"), body]), "1", "APPLICATION_COMMAND_TOO_LARGE")
        error = await refused(api.create(body), "_errors")
        assert "Command exceeds maximum size (8000)" in error.text


async def test_the_size_counts_the_longest_localization(api: Api) -> None:
    body = sized(8000)
    body["description_localizations"] = {"fr": "d" * 99}
    await api.bulk([body])
    body["description_localizations"] = {"fr": "é" * 100, "de": "d" * 100}  # as long as the default: still 8000
    await api.bulk([body])
    body = sized(7999)
    body["name_localizations"] = {"fr": "grand"}  # 5 characters instead of 3: 8001
    await refused(api.bulk([body]), "0", "APPLICATION_COMMAND_TOO_LARGE")


@pytest.mark.parametrize(("type_", "limit"), [(1, 100), (2, 15), (3, 15)])
async def test_at_most_100_slash_and_15_user_and_15_message_commands(api: Api, type_: int, limit: int) -> None:
    def make(k: int) -> dict[str, Any]:
        return slash(f"c{k}") if type_ == 1 else menu(f"C {k}", type_)

    for guild in (True, False):
        assert len(await api.bulk([make(k) for k in range(limit)], guild=guild)) == limit
        with pytest.raises(discord.HTTPException) as caught:
            await api.bulk([make(k) for k in range(limit + 1)], guild=guild)
        assert caught.value.code == 30032 and f"({limit})" in caught.value.text
    # One more by single create is refused too; re-creating an existing name overwrites (200).
    with pytest.raises(discord.HTTPException) as caught:
        await api.create(make(limit))
    assert caught.value.code == 30032
    assert (await api.create(make(0)))["name"] == make(0)["name"]


async def test_a_bulk_list_holds_at_most_130_commands(api: Api) -> None:
    full = [slash(f"c{k}") for k in range(100)] + [menu(f"U {k}", 2) for k in range(15)]
    full += [menu(f"M {k}", 3) for k in range(15)]
    assert len(await api.bulk(full)) == 130
    await refused(api.bulk([*full, slash("extra")]), "_errors")


@pytest.mark.parametrize(("given", "stored"), [("8", "8"), (8, "8"), ("0", "0"), (None, None)])
async def test_default_member_permissions_come_back_as_a_string(api: Api, given: Any, stored: Any) -> None:
    [cmd] = await api.bulk([slash(default_member_permissions=given)])
    assert cmd["default_member_permissions"] == stored
    [listed] = await api.http.get_guild_commands(api.app, api.guild)
    assert listed["default_member_permissions"] == stored


async def test_default_member_permissions_must_be_a_bit_set(api: Api) -> None:
    await refused(api.bulk([slash(default_member_permissions="admin")]), "0.default_member_permissions")


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"name_localizations": {"xx": "nom"}}, "0.name_localizations.xx"),
        ({"name_localizations": {"fr": "Nom"}}, "0.name_localizations.fr"),
        ({"name_localizations": {"fr": "n" * 33}}, "0.name_localizations.fr"),
        ({"description_localizations": {"de": "d" * 101}}, "0.description_localizations.de"),
        ({"description_localizations": {"de": ""}}, "0.description_localizations.de"),
        ({"options": [opt(name_localizations={"ja": "Ｂig"})]}, "0.options.0.name_localizations.ja"),
    ],
)
async def test_localizations_use_discord_locales_and_the_fields_rules(
    api: Api, fields: dict[str, Any], path: str
) -> None:
    good = {"name_localizations": {"fr": "nom", "zh-CN": "生日"}, "description_localizations": {"de": "d" * 100}}
    await api.bulk([slash(**good, options=[opt(name_localizations={"ja": "大きい"})])])
    await refused(api.bulk([slash(**fields)]), path)


# ---------------------------------------------------------------- through discord.py's CommandTree


async def test_tree_sync_failure_is_parsed_by_discord_py(sandbox: Sandbox, discord_client: Any) -> None:
    """discord.py turns the sandbox's nested errors into ``CommandSyncFailure`` naming the command and parameter."""
    bot = await discord_client()
    tree: app_commands.CommandTree = bot.tree

    @tree.command(name="pick", description="Pick one")
    @app_commands.describe(what="What to pick")
    @app_commands.choices(what=[app_commands.Choice(name="n" * 100, value="v" * 100)])
    async def pick(interaction: discord.Interaction, what: str) -> None:
        pass

    guild = discord.Object(sandbox.guild.id)
    tree.copy_global_to(guild=guild)
    [synced] = await tree.sync(guild=guild)
    assert synced.name == "pick"

    pick._params["what"].choices = [app_commands.Choice(name="n" * 101, value="v")]
    with pytest.raises(app_commands.CommandSyncFailure) as caught:
        await tree.sync(guild=guild)
    message = str(caught.value)
    assert caught.value.code == 50035
    assert "In command 'pick'" in message and "In parameter 'what'" in message
    assert "choices.0.name: Must be between 1 and 100 in length." in message


async def test_tree_sync_of_an_oversized_command_is_refused(sandbox: Sandbox, discord_client: Any) -> None:
    bot = await discord_client()
    tree: app_commands.CommandTree = bot.tree
    group = app_commands.Group(name="huge", description="d" * 100)
    for k in range(25):

        async def callback(interaction: discord.Interaction, text: str) -> None:
            pass

        command = app_commands.Command(name=f"sub{k:02d}", description="d" * 100, callback=callback)
        command._params["text"].description = "d" * 100
        command._params["text"].choices = [app_commands.Choice(name="n", value="v" * 10) for _ in range(25)]
        group.add_command(command)
    tree.add_command(group, guild=discord.Object(sandbox.guild.id))
    with pytest.raises(app_commands.CommandSyncFailure) as caught:
        await tree.sync(guild=discord.Object(sandbox.guild.id))
    assert "Command exceeds maximum size (8000)" in str(caught.value)


async def test_listing_gives_the_requesters_localization_unless_asked_for_the_dictionaries(
    sandbox: Sandbox, api: Api
) -> None:
    choice = {"name": "red", "name_localizations": {"fr": "rouge"}, "value": "r"}
    body = slash(
        "colour",
        name_localizations={"en-US": "color", "fr": "couleur"},
        description_localizations={"fr": "Une couleur"},
        options=[opt("shade", name_localizations={"fr": "teinte"}, choices=[choice])],
    )
    [made] = await api.bulk([body])
    assert made["name_localizations"] == {"en-US": "color", "fr": "couleur"}  # bulk answers carry the dictionaries
    [listed] = await api.http.get_guild_commands(api.app, api.guild)  # discord.py asks without the flag, in en-US
    assert "name_localizations" not in listed and listed["name_localized"] == "color"
    assert "description_localized" not in listed  # no en-US (nor en-GB) description
    assert "name_localizations" not in listed["options"][0]["choices"][0]
    url = f"{sandbox.server.api_url}/applications/{api.app}/guilds/{api.guild}/commands"
    headers = {"Authorization": f"Bot {sandbox.token}", "X-Discord-Locale": "fr"}
    async with aiohttp.ClientSession() as http:
        async with http.get(url, headers=headers) as response:
            [french] = await response.json()
        async with http.get(url, headers=headers, params={"with_localizations": "true"}) as response:
            [full] = await response.json()
    assert french["name_localized"] == "couleur" and french["description_localized"] == "Une couleur"
    assert french["options"][0]["name_localized"] == "teinte"
    assert french["options"][0]["choices"][0]["name_localized"] == "rouge"
    assert full["name_localizations"] == made["name_localizations"] and "name_localized" not in full


async def test_localized_option_names_are_distinct_on_their_level(api: Api) -> None:
    fine = [opt("a", name_localizations={"fr": "x"}), opt("b", name_localizations={"fr": "y", "de": "x"})]
    await api.bulk([slash(options=fine)])
    as_default = [opt("a"), opt("b", name_localizations={"fr": "a"})]
    await refused(api.bulk([slash(options=as_default)]), "0.options.1.name_localizations.fr")
    same_locale = [opt("a", name_localizations={"fr": "x"}), opt("b", name_localizations={"fr": "x"})]
    await refused(api.bulk([slash(options=same_locale)]), "0.options.1.name_localizations.fr")


async def test_command_types_are_discords(api: Api) -> None:
    [made] = await api.bulk([{**slash(), "type": None}])  # absent or null: CHAT_INPUT
    assert made["type"] == 1
    await refused(api.bulk([slash(), {**slash("other"), "type": "slash"}]), "1.type", "BASE_TYPE_CHOICES")
    await refused(api.bulk([{**slash(), "type": 4}]), "0.type")  # no entry-point command in a guild
