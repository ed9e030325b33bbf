"""The playground: scripted lines in, transcript out, through the real CLI and with a test bot."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from bot import __version__
from bot.sandbox import Sandbox
from bot.sandbox.playground import run
from tests.e2e.conftest import all_intents
from tests.support.reading import unnumbered

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
FILES = [("b.png", 3), ("notes.txt", 2)]


def test_cli_script_runs_about_and_a_message(tmp_path: Path) -> None:
    script = tmp_path / "script.txt"
    script.write_text("/about\nhello there\n/nope\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    env.update(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/bot.db", PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "bot", "sandbox", "--script", str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr
    lines = unnumbered(done.stdout.splitlines())
    about = lines.index("> /about")
    assert lines[about + 1] == "#general Persona Hub (only you):"
    assert "  ┃ Persona Hub" in lines[about + 2 : about + 10]
    assert f"  ┃ Version: {__version__}" in lines[about + 2 : about + 10]
    assert "  ┃ Database: SQLite" in lines[about + 2 : about + 10]
    hello = lines.index("> hello there")
    assert lines[hello + 1] == "#general Alice: hello there"
    refusal = lines[lines.index("> /nope") + 1]
    assert refusal.startswith("! no slash command /nope is synced here; known: [")
    assert "'about'" in refusal and "'nope'" not in refusal


class Form(discord.ui.Modal, title="Persona"):
    name = discord.ui.TextInput(label="Name")
    tone = discord.ui.TextInput(label="Tone", required=False, default="warm")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"made {self.name.value} ({self.tone.value})")


class Menu(discord.ui.View):
    @discord.ui.button(label="Make", custom_id="menu:make")
    async def make(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        await interaction.response.send_modal(Form())

    @discord.ui.select(
        custom_id="menu:colour",
        placeholder="Colour",
        options=[discord.SelectOption(label="Red", value="r"), discord.SelectOption(label="Blue", value="b")],
    )
    async def colour(self, interaction: discord.Interaction, select: discord.ui.Select) -> None:
        await interaction.response.send_message(f"colour {select.values[0]}")


async def test_script_drives_buttons_selects_and_modals(sandbox: Sandbox, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    bot = commands.Bot(command_prefix="!", intents=all_intents())

    @bot.tree.command(description="A menu")
    @app_commands.describe(title="heading")
    async def menu(interaction: discord.Interaction, title: str, count: int = 1) -> None:
        await interaction.response.send_message(f"{title} x{count}", view=Menu())

    @bot.event
    async def setup_hook() -> None:
        await bot.tree.sync()

    stdin = io.StringIO('/menu title:"Main menu" count:2\n:select 1 2\n:click Make\nMerlin\n\n#personas\n:quit\n')
    out = io.StringIO()
    assert await run(sandbox, bot, None, stdin=stdin, out=out) == 0
    text = unnumbered(out.getvalue().splitlines())
    at = text.index('> /menu title:"Main menu" count:2')
    assert text[at + 1 : at + 4] == [
        "#general Persona Hub: Main menu x2",
        "  buttons: [1] Make   (:click N)",
        "  select 1 Colour: (1) Red  (2) Blue   (:select 1 N)",
    ]
    chose = text.index("> :select 1 2")
    assert text[chose + 1 : chose + 3] == ["(chose: Blue)", "#general Persona Hub: colour b"]
    modal = text.index("> :click Make")
    assert text[modal + 1 : modal + 5] == ["┌ Persona", "│ Name: Merlin", "│ Tone (optional) [warm]: ", "└ submitted"]
    assert text[modal + 5] == "#general Persona Hub: made Merlin (warm)"
    assert "(now in #personas)" in text


class Card(discord.ui.Modal, title="Card"):
    intro = discord.ui.TextDisplay("Pick the details")
    tone = discord.ui.Label(
        text="Tone",
        component=discord.ui.RadioGroup(
            custom_id="tone",
            options=[
                discord.RadioGroupOption(label="Warm", value="warm"),
                discord.RadioGroupOption(label="Dry", value="dry"),
            ],
        ),
    )
    traits = discord.ui.Label(
        text="Traits",
        component=discord.ui.CheckboxGroup(
            custom_id="traits",
            options=[discord.CheckboxGroupOption(label=t.title(), value=t) for t in ("kind", "sly", "loud")],
            max_values=3,
        ),
    )
    mature = discord.ui.Label(text="Mature", component=discord.ui.Checkbox(custom_id="mature"))
    picture = discord.ui.Label(text="Picture", component=discord.ui.FileUpload(custom_id="picture"))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        values = [
            getattr(i.component, "value", None) or getattr(i.component, "values", None)
            for i in self.walk_children()
            if isinstance(i, discord.ui.Label)
        ]
        tone, traits, mature, files = values
        names = [f"{a.filename}:{len(await a.read())}" for a in files]
        await interaction.response.send_message(f"{tone} {','.join(traits)} mature={mature} {names[0]}")


class Panel(discord.ui.LayoutView):
    def __init__(self) -> None:
        super().__init__(timeout=None)
        make = discord.ui.Button(label="Make", custom_id="panel:make")
        make.callback = self.make  # type: ignore[method-assign]
        colour = discord.ui.Select(
            custom_id="panel:colour",
            placeholder="Colour",
            options=[discord.SelectOption(label="Red", value="r"), discord.SelectOption(label="Blue", value="b")],
        )
        colour.callback = self.colour  # type: ignore[method-assign]
        self.colour_select = colour
        self.add_item(discord.ui.TextDisplay("Welcome"))
        self.add_item(
            discord.ui.Container(
                discord.ui.TextDisplay("# Personas\nPick one"),
                discord.ui.Section("Make a new one", accessory=make),
                discord.ui.Separator(),
                discord.ui.Section("Merlin", accessory=discord.ui.Thumbnail("https://example.com/merlin.png")),
                discord.ui.MediaGallery(
                    discord.MediaGalleryItem("https://example.com/a.png"),
                    discord.MediaGalleryItem("attachment://b.png"),
                ),
                discord.ui.File("attachment://notes.txt"),
                discord.ui.ActionRow(colour),
            )
        )

    async def make(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(Card())

    async def colour(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"colour {self.colour_select.values[0]}")


async def test_script_reads_and_clicks_a_v2_message_and_fills_a_v2_modal(
    sandbox: Sandbox, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    bot = commands.Bot(command_prefix="!", intents=all_intents())

    @bot.tree.command(description="A V2 panel")
    async def panel(interaction: discord.Interaction) -> None:
        files = [discord.File(io.BytesIO(b"png"), "b.png"), discord.File(io.BytesIO(b"hi"), "notes.txt")]
        await interaction.response.send_message(view=Panel(), files=files)

    @bot.event
    async def setup_hook() -> None:
        await bot.tree.sync()

    picture = tmp_path / "face.png"
    picture.write_bytes(b"12345")
    stdin = io.StringIO(f"/panel\n:select 1 2\n:click Make\n2\n1,3\ny\n{picture}\n:quit\n")
    out = io.StringIO()
    assert await run(sandbox, bot, None, stdin=stdin, out=out) == 0
    text = unnumbered(out.getvalue().splitlines())
    at = text.index("> /panel")
    saved = tmp_path / "var" / "playground" / "files"
    panel_id = next(
        m.id for m in sandbox.state.messages.values() if [a.filename for a in m.attachments] == ["b.png", "notes.txt"]
    )
    assert text[at + 1 : at + 16] == [
        "#general Persona Hub:",
        "  Welcome",
        "  ▌ # Personas",
        "  ▌ Pick one",
        "  ▌ Make a new one   [1] Make   (:click N)",
        "  ▌ ────────────────────────",
        "  ▌ Merlin   🖼 merlin.png",
        "  ▌ 🖼 a.png, b.png",
        "  ▌ 📎 notes.txt",
        "  ▌ select 1 Colour: (1) Red  (2) Blue   (:select 1 1,2)",
        *[f"  📎 {name} ({size} bytes) → var/playground/files/{panel_id}-{name}" for name, size in FILES],
        "> :select 1 2",
        "(chose: Blue)",
        "#general Persona Hub: colour b",
    ]
    assert (saved / f"{panel_id}-notes.txt").read_bytes() == b"hi"  # saved, so it can be opened
    modal = text.index("> :click Make")
    assert text[modal + 1 : modal + 9] == [
        "┌ Card",
        "│ Pick the details",
        "│ Tone (1) Warm  (2) Dry: 2",
        "│ Traits [ ] (1) Kind  [ ] (2) Sly  [ ] (3) Loud (tick N,N): 1,3",
        "│ Mature [ ] (y/n): y",
        f"│ Picture (file paths, comma-separated): {picture}",
        "└ submitted",
        "#general Persona Hub: dry kind,loud mature=True face.png:5",
    ]


class Picks(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)
        options = [discord.SelectOption(label=n.title(), value=n, default=n in ("a", "c")) for n in ("a", "b", "c")]
        picks = discord.ui.Select(custom_id="picks", placeholder="Keep", options=options, min_values=0, max_values=3)
        picks.callback = self.chosen  # type: ignore[method-assign]
        self.picks = picks
        self.add_item(picks)
        ask = discord.ui.Button(label="Ask", custom_id="ask")
        ask.callback = self.ask  # type: ignore[method-assign]
        self.add_item(ask)

    async def chosen(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("kept " + ",".join(sorted(self.picks.values)))

    async def ask(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(Form())


async def test_script_shows_what_a_client_shows_and_survives_bad_input(
    sandbox: Sandbox, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    bot = commands.Bot(command_prefix="!", intents=all_intents())

    async def fruit_names(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        fruit = {"apple": "1", "apricot": "2", "banana": "3"}
        return [app_commands.Choice(name=n, value=v) for n, v in fruit.items() if n.startswith(current)]

    @bot.tree.command(description="Pick a fruit")
    @app_commands.autocomplete(fruit=fruit_names)
    async def eat(interaction: discord.Interaction, fruit: str) -> None:
        await interaction.response.send_message(f"ate {fruit}")

    @bot.tree.command(description="Show markup")
    async def markup(interaction: discord.Interaction) -> None:
        text = f"hi <@{sandbox.bob.id}> in <#{sandbox.general.id}>, <t:0:D>, <t:4102444800:R>"
        await interaction.response.send_message(text, view=Picks())

    @bot.tree.command(description="Read a file")
    async def upload(interaction: discord.Interaction, file: discord.Attachment) -> None:
        await interaction.response.send_message(file.filename)

    @bot.event
    async def setup_hook() -> None:
        await bot.tree.sync()

    lines = [
        "/eat fruit:ap?",
        "/eat fruit:2",
        "/markup",
        ":select 1 +2,-1",
        ":react 3 👍",
        ":reply 3 nice",
        ":click Ask in 3",
        ":cancel",
        "/upload file:~/no-such-file.json",
        ":react 99 👍",
        "still here",
        ":quit",
    ]
    out = io.StringIO()
    assert await run(sandbox, bot, None, stdin=io.StringIO("\n".join(lines) + "\n"), out=out) == 0
    text = out.getvalue().splitlines()

    def after(line: str, count: int = 1) -> list[str]:
        at = text.index(f"> {line}")
        return text[at + 1 : at + 1 + count]

    assert after("/eat fruit:ap?", 3) == [
        "suggestions for fruit: (type fruit:VALUE)",
        "  apple   → fruit:1",
        "  apricot   → fruit:2",
    ]
    assert after("/eat fruit:2") == ["[1] #general Persona Hub: ate 2"]
    shown = after("/markup", 3)
    assert (
        shown[0] == "[2] #general Persona Hub: hi @Bob in #general, 01 January 1970, in " + shown[0].rsplit("in ", 1)[1]
    )
    assert shown[0].endswith("years") and "<" not in shown[0]
    assert shown[2] == "  select 1 Keep: (1) ✓ A  (2) B  (3) ✓ C   (:select 1 1,2  or  +N / -N to add or drop)"
    assert after(":select 1 +2,-1", 2) == ["(chose: C, B; no longer: A)", "[3] #general Persona Hub: kept b,c"]
    assert after(":react 3 👍") == ["  [3] reactions: 👍 1"]
    assert after(":reply 3 nice") == ["[4] #general Alice ↪ [3] Persona Hub: nice"]
    assert after(":click Ask in 3", 2)[0] == "! message [3] has no buttons or selects"
    assert "└ cancelled (nothing was sent)" not in text  # nothing opened: the click was refused above
    assert after("/upload file:~/no-such-file.json") == ["! no file at ~/no-such-file.json"]
    assert after(":react 99 👍") == ["! no message [99] you can see"]
    assert after("still here") == ["[5] #general Alice: still here"]


async def test_a_modal_can_be_cancelled(sandbox: Sandbox, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    bot = commands.Bot(command_prefix="!", intents=all_intents())

    @bot.tree.command(description="Ask")
    async def ask(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(Form())

    @bot.event
    async def setup_hook() -> None:
        await bot.tree.sync()

    out = io.StringIO()
    assert await run(sandbox, bot, None, stdin=io.StringIO("/ask\n:cancel\nafter\n:quit\n"), out=out) == 0
    text = out.getvalue().splitlines()
    at = text.index("> /ask")
    assert text[at + 1 : at + 4] == ["┌ Persona", "│ Name: :cancel", "└ cancelled (nothing was sent)"]
    assert not any("made" in line for line in text)
    assert text[text.index("> after") + 1].endswith("Alice: after")
