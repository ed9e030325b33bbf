"""Interactions through the sandbox: slash commands, autocomplete, components, modals, follow-ups, deadlines."""

from __future__ import annotations

import asyncio
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from bot.sandbox import P, Sandbox, SandboxError
from tests.e2e.conftest import all_intents

pytestmark = pytest.mark.e2e


class Pick(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=30)
        self.seen: list[str] = []

    @discord.ui.button(label="Yes", custom_id="pick:yes", style=discord.ButtonStyle.success)
    async def yes(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.seen.append("yes")
        await interaction.response.edit_message(content="You chose yes", view=None)

    @discord.ui.button(label="Later", custom_id="pick:later")
    async def later(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.seen.append("later")
        await interaction.response.defer()  # type 6

    @discord.ui.button(label="Form", custom_id="pick:form")
    async def form(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.send_modal(Describe())

    @discord.ui.select(
        custom_id="pick:mood",
        placeholder="Mood",
        max_values=2,
        options=[
            discord.SelectOption(label="Happy", value="happy"),
            discord.SelectOption(label="Sad", value="sad"),
            discord.SelectOption(label="Calm", value="calm"),
        ],
    )
    async def mood(self, interaction: discord.Interaction, select: discord.ui.Select) -> None:
        await interaction.response.send_message(f"moods: {','.join(select.values)}", ephemeral=True)

    @discord.ui.select(cls=discord.ui.UserSelect, custom_id="pick:user")
    async def who(self, interaction: discord.Interaction, select: discord.ui.UserSelect) -> None:
        await interaction.response.send_message(f"user: {select.values[0].name}")


class Describe(discord.ui.Modal, title="Describe your persona"):
    name = discord.ui.TextInput(label="Name", custom_id="desc:name", max_length=20)
    bio = discord.ui.TextInput(label="Bio", style=discord.TextStyle.paragraph, required=False, default="n/a")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"{self.name.value} / {self.bio.value}", ephemeral=True)


def make_bot(guild_id: int, record: dict[str, Any]) -> commands.Bot:
    bot = commands.Bot(command_prefix="!", intents=all_intents())
    persona = app_commands.Group(name="persona", description="Personas")
    admin = app_commands.Group(name="admin", description="Admin tools", parent=persona)

    @persona.command(description="Create a persona")
    @app_commands.describe(template="Template name")
    async def create(interaction: discord.Interaction, template: str, level: int = 1) -> None:
        await interaction.response.send_message(f"created from {template} at {level}")

    @create.autocomplete("template")
    async def template_ac(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        names = ["bard", "barbarian", "cleric", "wizard"]
        return [app_commands.Choice(name=n.title(), value=n) for n in names if n.startswith(current)]

    @admin.command(description="Everything")
    async def everything(
        interaction: discord.Interaction,
        text: str,
        count: int,
        flag: bool,
        member: discord.Member,
        channel: discord.TextChannel,
        role: discord.Role,
        who: discord.User | discord.Role,
        ratio: float,
        file: discord.Attachment,
    ) -> None:
        record["everything"] = (
            text,
            count,
            flag,
            member.id,
            channel.id,
            role.id,
            who.id,
            ratio,
            file.filename,
            await file.read(),
        )
        await interaction.response.send_message("ok", ephemeral=True)

    @admin.command(description="Slow")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        await asyncio.sleep(0.05)
        await interaction.followup.send("done thinking")
        await interaction.followup.send("and another", ephemeral=False)

    bot.tree.add_command(persona, guild=discord.Object(guild_id))

    @bot.tree.command(description="Buttons")
    async def pick(interaction: discord.Interaction) -> None:
        view = Pick()
        record["view"] = view
        await interaction.response.send_message("Pick one", view=view)

    @bot.tree.command(description="Edits itself")
    async def edity(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("v1")
        await interaction.edit_original_response(content="v2")
        original = await interaction.original_response()
        record["original"] = original.content
        await interaction.followup.send("temp", ephemeral=True)
        await interaction.delete_original_response()

    @bot.tree.command(description="Too slow")
    async def late(interaction: discord.Interaction) -> None:
        await asyncio.sleep(0.3)
        try:
            await interaction.response.send_message("late")
        except discord.NotFound as e:
            record["late"] = e.code

    @bot.tree.command(description="Modal")
    async def describe(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(Describe())

    @bot.tree.command(description="Admins only")
    @app_commands.default_permissions(manage_guild=True)
    async def secret(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("secret")

    return bot


@pytest.fixture
async def app(sandbox: Sandbox, discord_client) -> dict[str, Any]:
    record: dict[str, Any] = {}
    bot = make_bot(sandbox.guild.id, record)
    await discord_client(bot)
    await bot.tree.sync()
    await bot.tree.sync(guild=discord.Object(sandbox.guild.id))
    record["bot"] = bot
    return record


async def test_slash_with_subcommand_group_answers(sandbox: Sandbox, app) -> None:
    h = await sandbox.slash("persona create", template="bard", level=3)
    answer = await h.message()
    assert answer.content == "created from bard at 3" and not answer.ephemeral
    assert answer.author == sandbox.bot_user.username
    assert answer.message.type == 20 and answer.message.interaction_metadata["user"]["id"] == str(sandbox.alice.id)
    assert h.response_type == 4
    assert sandbox.history()[-1].id == answer.id  # everyone sees it


async def test_options_of_every_type_resolve_in_the_bot(sandbox: Sandbox, app) -> None:
    role = sandbox.add_role("Bards")
    h = await sandbox.slash(
        "persona admin everything",
        text="hi",
        count=7,
        flag=True,
        member=sandbox.bob,
        options={"channel": sandbox.personas},
        role=role,
        who=sandbox.alice,
        ratio=0.5,
        file=("notes.txt", b"some notes"),
    )
    answer = await h.message()
    assert answer.ephemeral
    assert app["everything"] == (
        "hi",
        7,
        True,
        sandbox.bob.id,
        sandbox.personas.id,
        role.id,
        sandbox.alice.id,
        0.5,
        "notes.txt",
        b"some notes",
    )


async def test_slash_validation_is_the_discord_clients(sandbox: Sandbox, app) -> None:
    with pytest.raises(SandboxError, match="needs option 'template'"):
        await sandbox.slash("persona create")
    with pytest.raises(SandboxError, match="no slash command /nope"):
        await sandbox.slash("nope")
    with pytest.raises(SandboxError, match="no option"):
        await sandbox.slash("persona create", template="x", colour="red")
    with pytest.raises(SandboxError, match="needs a number"):
        await sandbox.slash("persona create", template="x", level="high")
    with pytest.raises(SandboxError, match="lacks the permissions"):
        await sandbox.slash("secret", as_user=sandbox.bob)
    assert await (await sandbox.slash("secret", as_user=sandbox.alice)).message()  # alice owns the guild


async def test_autocomplete_returns_the_bots_choices(sandbox: Sandbox, app) -> None:
    choices = await sandbox.autocomplete("persona create", "template", "bar")
    assert choices == [{"name": "Bard", "value": "bard"}, {"name": "Barbarian", "value": "barbarian"}]


async def test_buttons_update_defer_and_selects(sandbox: Sandbox, app) -> None:
    h = await sandbox.slash("pick")
    msg = await h.message()
    assert [b["label"] for b in msg.buttons()] == ["Yes", "Later", "Form"]

    later = await sandbox.click(msg, label="Later")
    assert await later.response() == 6
    assert app["view"].seen == ["later"]

    sel = await sandbox.select(msg, ["happy", "Calm"], custom_id="pick:mood", user=sandbox.bob)
    private = await sel.message()
    assert private.content == "moods: happy,calm" and private.ephemeral
    assert private.id in [p.id for p in sandbox.ephemeral_for(sandbox.bob)]
    assert private.id not in [p.id for p in sandbox.history(as_user=sandbox.alice)]
    assert private.id in [p.id for p in sandbox.history(as_user=sandbox.bob)]
    with pytest.raises(SandboxError, match="no option"):
        await sandbox.select(msg, ["angry"], custom_id="pick:mood")

    who = await sandbox.select(msg, [sandbox.bob], custom_id="pick:user")
    assert (await who.message()).content == "user: bob"

    yes = await sandbox.click(msg, label="Yes")
    assert await yes.response() == 7
    updated = sandbox.state.messages[msg.id]
    assert updated.content == "You chose yes" and updated.components == []


async def test_modal_from_command_and_from_button(sandbox: Sandbox, app) -> None:
    opened = await sandbox.slash("describe")
    modal = await opened.modal()
    assert modal["title"] == "Describe your persona"
    submitted = await sandbox.submit_modal(opened, Name="Merlin", Bio="Old wizard")
    answer = await submitted.message()
    assert answer.content == "Merlin / Old wizard" and answer.ephemeral

    # Optional field left out: its default is sent; a required one missing is refused.
    again = await sandbox.slash("describe")
    with pytest.raises(SandboxError, match="required"):
        await sandbox.submit_modal(again, Bio="x")
    done = await sandbox.submit_modal(again, **{"desc:name": "Nim"})
    assert (await done.message()).content == "Nim / n/a"

    pick = await (await sandbox.slash("pick")).message()
    form = await sandbox.click(pick, label="Form")
    sub = await sandbox.submit_modal(form, Name="Ash")
    assert (await sub.message()).content == "Ash / n/a"


async def test_defer_then_followups_fill_the_thinking_message(sandbox: Sandbox, app) -> None:
    h = await sandbox.slash("persona admin slow")
    assert await h.response() == 5
    first = await h.message()
    # The first follow-up replaces the ephemeral "thinking" message, as on Discord.
    assert first.id == h.interaction.original_message_id and first.content == "done thinking"
    assert first.ephemeral and not first.loading
    extra = await h.followups(1)
    assert extra[0].content == "and another" and not extra[0].ephemeral


async def test_edit_original_and_delete_original(sandbox: Sandbox, app) -> None:
    h = await sandbox.slash("edity")
    await sandbox.wait_for_request("DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/@original")
    assert app["original"] == "v2"
    original = sandbox.state.messages[h.interaction.original_message_id]
    assert original.deleted and original.content == "v2"
    routes = [r.key for r in sandbox.requests() if "webhook_token" in r.route or "callback" in r.route]
    assert routes == [
        "POST /interactions/{interaction_id}/{interaction_token}/callback",
        "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/@original",
        "GET /webhooks/{webhook_id}/{webhook_token}/messages/@original",
        "POST /webhooks/{webhook_id}/{webhook_token}",
        "DELETE /webhooks/{webhook_id}/{webhook_token}/messages/@original",
    ]


async def test_late_first_response_gets_unknown_interaction(sandbox: Sandbox, app) -> None:
    sandbox.server.interaction_deadline = 0.1
    h = await sandbox.slash("late")
    with pytest.raises(SandboxError, match="too late"):
        await h.response(timeout=3)
    await sandbox.wait_until(lambda: "late" in app, 3, "the bot to see its error")
    assert app["late"] == 10062


async def test_expired_token_refuses_followups(sandbox: Sandbox, app) -> None:
    h = await sandbox.slash("persona create", template="bard")
    await h.message()
    sandbox.server.interaction_token_ttl = 0.0
    webhook = discord.Webhook.from_url(
        f"https://discord.com/api/webhooks/{sandbox.bot_user.id}/{h.interaction.token}", client=app["bot"]
    )
    with pytest.raises(discord.HTTPException) as err:
        await webhook.send("too late", wait=True)
    assert err.value.status == 401 and err.value.code == 50027


async def test_second_acknowledgement_is_refused(sandbox: Sandbox, app) -> None:
    h = await sandbox.slash("persona create", template="bard")
    await h.message()
    bot = app["bot"]
    with pytest.raises(discord.HTTPException) as err:
        await bot.http.request(
            discord.http.Route("POST", "/interactions/{i}/{t}/callback", i=h.interaction.id, t=h.interaction.token),
            json={"type": 4, "data": {"content": "again"}},
        )
    assert err.value.code == 40060


async def test_commands_in_dms_and_ephemeral_privacy(sandbox: Sandbox, app) -> None:
    dm = await sandbox.open_dm(sandbox.bob)
    h = await sandbox.slash("pick", as_user=sandbox.bob, in_channel=dm)
    msg = await h.message()
    assert msg.channel_id == dm.id and h.interaction.payload["user"]["id"] == str(sandbox.bob.id)
    assert "member" not in h.interaction.payload
    with pytest.raises(SandboxError, match="no slash command /persona"):
        await sandbox.slash("persona create", template="x", in_channel=dm)  # a guild command


async def test_app_permissions_reflect_the_bot(sandbox: Sandbox, app) -> None:
    sandbox.set_permissions(sandbox.personas, sandbox.bot_user, deny=P.EMBED_LINKS)
    h = await sandbox.slash("persona create", template="bard", in_channel=sandbox.personas)
    await h.message()
    perms = discord.Permissions(int(h.interaction.payload["app_permissions"]))
    assert perms.send_messages and not perms.embed_links
