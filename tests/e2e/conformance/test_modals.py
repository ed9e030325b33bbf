"""Modal callbacks (interaction response type 9; developers/interactions/receiving-and-responding.mdx, Modal, and
developers/components/reference.mdx): each limit at the bound accepted and one past refused with ``50035`` and the
field path, both sent by discord.py's ``send_modal`` with ``ui.Modal`` / ``ui.Label`` / ``ui.RadioGroup`` ... where
discord.py builds the shape, raw callback bodies where it cannot."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import discord
import pytest
from discord import ui

from bot.sandbox import Sandbox
from tests.e2e.conformance.test_layouts import codes_at

pytestmark = pytest.mark.e2e

Shape = Callable[[], "ui.Modal | dict[str, Any]"]


def modal(*items: ui.Item[Any], title: str = "Form", custom_id: str = "form") -> ui.Modal:
    m = ui.Modal(title=title, custom_id=custom_id)
    for item in items:
        m.add_item(item)
    return m


def label(component: ui.Item[Any], text: str = "Field", description: str | None = None) -> ui.Label[Any]:
    return ui.Label(text=text, component=component, description=description)


def text_input(**kwargs: Any) -> ui.TextInput[Any]:
    return ui.TextInput(custom_id=kwargs.pop("custom_id", "t"), **kwargs)


def radio(n: int) -> ui.RadioGroup[Any]:
    return ui.RadioGroup(
        custom_id="r", options=[discord.RadioGroupOption(label=f"o{k}", value=f"o{k}") for k in range(n)]
    )


def checkboxes(n: int, **kwargs: Any) -> ui.CheckboxGroup[Any]:
    opts = [discord.CheckboxGroupOption(label=f"o{k}", value=f"o{k}") for k in range(n)]
    return ui.CheckboxGroup(custom_id="c", options=opts, **kwargs)


def raw_label(component: dict[str, Any]) -> dict[str, Any]:
    return {"custom_id": "form", "title": "Form", "components": [{"type": 18, "label": "F", "component": component}]}


async def open_interaction(sandbox: Sandbox, bot: discord.Client) -> discord.Interaction:
    """A button press the bot may answer with a modal, as discord.py sees it."""
    waiter = asyncio.ensure_future(bot.wait_for("interaction", timeout=3))
    sandbox.server.create_interaction(3, sandbox.alice, sandbox.general, {"custom_id": "open", "component_type": 2})
    return await waiter


async def send(sandbox: Sandbox, bot: discord.Client, shape: ui.Modal | dict[str, Any]) -> None:
    interaction = await open_interaction(sandbox, bot)
    if isinstance(shape, ui.Modal):
        await interaction.response.send_modal(shape)
    else:
        route = discord.http.Route("POST", "/interactions/{i}/{t}/callback", i=interaction.id, t=interaction.token)
        await bot.http.request(route, json={"type": 9, "data": shape})


# Each case: the modal at the bound, the modal one past it, the path and the code.
BOUNDS: dict[str, tuple[Shape, Shape, str, str]] = {
    "title 45": (
        lambda: modal(label(text_input()), title="t" * 45),
        lambda: modal(label(text_input()), title="t" * 46),
        "data.title",
        "BASE_TYPE_BAD_LENGTH",
    ),
    "custom_id 100": (
        lambda: modal(label(text_input()), custom_id="c" * 100),
        lambda: modal(label(text_input()), custom_id="c" * 101),
        "data.custom_id",
        "BASE_TYPE_BAD_LENGTH",
    ),
    "5 components": (
        lambda: modal(*[label(text_input(custom_id=f"t{n}")) for n in range(5)]),
        lambda: {
            "custom_id": "form",
            "title": "Form",
            "components": [{"type": 10, "content": f"line {n}"} for n in range(6)],
        },
        "data.components",
        "BASE_TYPE_BAD_LENGTH",
    ),
    "label 45": (
        lambda: modal(label(text_input(), text="l" * 45)),
        lambda: modal(label(text_input(), text="l" * 46)),
        "data.components.0.label",
        "BASE_TYPE_BAD_LENGTH",
    ),
    "label description 100": (
        lambda: modal(label(text_input(), description="d" * 100)),
        lambda: modal(label(text_input(), description="d" * 101)),
        "data.components.0.description",
        "BASE_TYPE_MAX_LENGTH",
    ),
    "text input max_length 4000": (
        lambda: modal(label(text_input(max_length=4000))),
        lambda: modal(label(text_input(max_length=4001))),
        "data.components.0.component.max_length",
        "NUMBER_TYPE_MAX",
    ),
    "text input min_length 4000": (
        lambda: modal(label(text_input(min_length=4000))),
        lambda: modal(label(text_input(min_length=4001))),
        "data.components.0.component.min_length",
        "NUMBER_TYPE_MAX",
    ),
    "text input value 4000": (
        lambda: modal(label(text_input(default="v" * 4000))),
        lambda: modal(label(text_input(default="v" * 4001))),
        "data.components.0.component.value",
        "BASE_TYPE_MAX_LENGTH",
    ),
    "text input placeholder 100": (
        lambda: modal(label(text_input(placeholder="p" * 100))),
        lambda: modal(label(text_input(placeholder="p" * 101))),
        "data.components.0.component.placeholder",
        "BASE_TYPE_MAX_LENGTH",
    ),
    "text input style 1|2": (
        lambda: modal(label(text_input(style=discord.TextStyle.paragraph))),
        lambda: raw_label({"type": 4, "custom_id": "t", "style": 3}),
        "data.components.0.component.style",
        "BASE_TYPE_CHOICES",
    ),
    "V1 row text input label 45": (
        lambda: modal(ui.TextInput(label="l" * 45, custom_id="t")),
        lambda: modal(ui.TextInput(label="l" * 46, custom_id="t")),
        "data.components.0.components.0.label",
        "BASE_TYPE_BAD_LENGTH",
    ),
    "radio group 10 options": (
        lambda: modal(label(radio(10))),
        lambda: modal(label(radio(11))),
        "data.components.0.component.options",
        "BASE_TYPE_BAD_LENGTH",
    ),
    "radio group 2 options at least": (
        lambda: modal(label(radio(2))),
        lambda: modal(label(radio(1))),
        "data.components.0.component.options",
        "BASE_TYPE_BAD_LENGTH",
    ),
    "checkbox group 10 options": (
        lambda: modal(label(checkboxes(10))),
        lambda: modal(label(checkboxes(11))),
        "data.components.0.component.options",
        "BASE_TYPE_BAD_LENGTH",
    ),
    "checkbox group max_values 10": (
        lambda: modal(label(checkboxes(10, max_values=10))),
        lambda: modal(label(checkboxes(10, max_values=11))),
        "data.components.0.component.max_values",
        "NUMBER_TYPE_MAX",
    ),
    "checkbox group min_values 0 only when not required": (
        lambda: modal(label(checkboxes(3, min_values=0, required=False))),
        lambda: modal(label(checkboxes(3, min_values=0))),
        "data.components.0.component.min_values",
        "NUMBER_TYPE_MIN",
    ),
    "file upload max_values 10": (
        lambda: modal(label(ui.FileUpload(custom_id="f", max_values=10))),
        lambda: modal(label(ui.FileUpload(custom_id="f", max_values=11))),
        "data.components.0.component.max_values",
        "NUMBER_TYPE_MAX",
    ),
    "file upload min_values 10": (
        lambda: modal(label(ui.FileUpload(custom_id="f", min_values=10, max_values=10))),
        lambda: modal(label(ui.FileUpload(custom_id="f", min_values=11, max_values=10))),
        "data.components.0.component.min_values",
        "NUMBER_TYPE_MAX",
    ),
    "file upload 10 file types": (
        lambda: raw_label({"type": 19, "custom_id": "f", "file_types": ["image", *[f".x{n}" for n in range(9)]]}),
        lambda: raw_label({"type": 19, "custom_id": "f", "file_types": ["image", *[f".x{n}" for n in range(10)]]}),
        "data.components.0.component.file_types",
        "BASE_TYPE_MAX_LENGTH",
    ),
    "string select 25 options": (
        lambda: modal(label(ui.Select(custom_id="s", options=[discord.SelectOption(label=str(n)) for n in range(25)]))),
        lambda: raw_label(
            {"type": 3, "custom_id": "s", "options": [{"label": str(n), "value": str(n)} for n in range(26)]}
        ),
        "data.components.0.component.options",
        "BASE_TYPE_BAD_LENGTH",
    ),
}


@pytest.mark.parametrize("case", list(BOUNDS))
async def test_bound_accepted_and_one_past_refused(sandbox: Sandbox, discord_client, case: str) -> None:
    bot = await discord_client()
    at_bound, past, path, code = BOUNDS[case]
    await send(sandbox, bot, at_bound())
    opened = [i for i in sandbox.state.interactions.values() if i.response_type == 9]
    assert len(opened) == 1
    with pytest.raises(discord.HTTPException) as caught:
        await send(sandbox, bot, past())
    e = caught.value
    assert e.status == 400 and e.code == 50035 and f"In {path}:" in e.text
    assert code in codes_at(e, path)


# Shapes refused whatever their size: (data, path, code).
SHAPES: dict[str, tuple[dict[str, Any], str, str]] = {
    "no components": (
        {"custom_id": "form", "title": "Form", "components": []},
        "data.components",
        "BASE_TYPE_BAD_LENGTH",
    ),
    "no title": (
        {"custom_id": "form", "components": [{"type": 10, "content": "x"}]},
        "data.title",
        "BASE_TYPE_REQUIRED",
    ),
    "container in a modal": (
        {"custom_id": "form", "title": "Form", "components": [{"type": 17, "components": []}]},
        "data.components.0",
        "UNION_TYPE_CHOICES",
    ),
    "button in a label": (
        raw_label({"type": 2, "style": 1, "custom_id": "b", "label": "b"}),
        "data.components.0.component",
        "UNION_TYPE_CHOICES",
    ),
    "select in a V1 row": (
        {
            "custom_id": "form",
            "title": "Form",
            "components": [{"type": 1, "components": [{"type": 5, "custom_id": "u"}]}],
        },
        "data.components.0.components.0",
        "UNION_TYPE_CHOICES",
    ),
    "disabled select": (
        raw_label({"type": 5, "custom_id": "u", "disabled": True}),
        "data.components.0.component.disabled",
        "BASE_TYPE_CHOICES",
    ),
    "file type without a dot": (
        raw_label({"type": 19, "custom_id": "f", "file_types": ["pdf"]}),
        "data.components.0.component.file_types.0",
        "BASE_TYPE_CHOICES",
    ),
    "label without a component": (
        {"custom_id": "form", "title": "Form", "components": [{"type": 18, "label": "F"}]},
        "data.components.0.component",
        "BASE_TYPE_REQUIRED",
    ),
    "custom id twice": (
        {
            "custom_id": "form",
            "title": "Form",
            "components": [
                {"type": 18, "label": "A", "component": {"type": 23, "custom_id": "same"}},
                {"type": 18, "label": "B", "component": {"type": 23, "custom_id": "same"}},
            ],
        },
        "data.components.1.component.custom_id",
        "COMPONENT_CUSTOM_ID_DUPLICATED",
    ),
}


@pytest.mark.parametrize("case", list(SHAPES))
async def test_shapes_discord_refuses(sandbox: Sandbox, discord_client, case: str) -> None:
    bot = await discord_client()
    data, path, code = SHAPES[case]
    with pytest.raises(discord.HTTPException) as caught:
        await send(sandbox, bot, data)
    assert caught.value.code == 50035 and code in codes_at(caught.value, path)
    assert not [i for i in sandbox.state.interactions.values() if i.response_type == 9]


async def test_every_v2_modal_component_together_is_accepted(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    everything = modal(
        ui.TextDisplay("Tell us about the persona"),
        label(checkboxes(3, required=False, min_values=0, max_values=2), text="Traits"),
        label(ui.Checkbox(custom_id="nsfw", default=False), text="Mature"),
        label(ui.UserSelect(custom_id="owner"), text="Owner", description="Who keeps it"),
        label(ui.FileUpload(custom_id="card", min_values=0, max_values=10, required=False), text="Card"),
    )
    await send(sandbox, bot, everything)
    shown = next(i for i in sandbox.state.interactions.values() if i.response_type == 9).response_data or {}
    assert [c["type"] for c in shown["components"]] == [10, 18, 18, 18, 18]
    assert [c["component"]["type"] for c in shown["components"][1:]] == [22, 23, 5, 19]


# ---------------------------------------------------------------------------------------------- end to end


class Persona(ui.Modal, title="New persona"):
    tone = ui.Label(
        text="Tone",
        component=ui.RadioGroup(
            custom_id="tone",
            options=[
                discord.RadioGroupOption(label="Warm", value="warm"),
                discord.RadioGroupOption(label="Dry", value="dry"),
            ],
        ),
    )
    traits = ui.Label(
        text="Traits",
        component=ui.CheckboxGroup(
            custom_id="traits",
            options=[discord.CheckboxGroupOption(label=t.title(), value=t) for t in ("kind", "sly", "loud")],
            max_values=3,
        ),
    )
    mature = ui.Label(text="Mature", component=ui.Checkbox(custom_id="mature"))
    card = ui.Label(text="Card", component=ui.FileUpload(custom_id="card", max_values=2))
    owner = ui.Label(text="Owner", component=ui.UserSelect(custom_id="owner"))

    def __init__(self, got: dict[str, Any]) -> None:
        super().__init__()
        self.got = got

    async def on_submit(self, interaction: discord.Interaction) -> None:
        assert isinstance(self.tone.component, ui.RadioGroup)
        assert isinstance(self.traits.component, ui.CheckboxGroup)
        assert isinstance(self.mature.component, ui.Checkbox)
        assert isinstance(self.card.component, ui.FileUpload)
        assert isinstance(self.owner.component, ui.UserSelect)
        files = {a.filename: await a.read() for a in self.card.component.values}
        self.got["modal"] = (
            self.tone.component.value,
            self.traits.component.values,
            self.mature.component.value,
            files,
            [u.id for u in self.owner.component.values],
        )
        await interaction.response.send_message("saved")


class Panel(ui.LayoutView):
    def __init__(self, got: dict[str, Any]) -> None:
        super().__init__(timeout=None)
        self.got = got
        make = ui.Button(label="Make", custom_id="panel:make")
        make.callback = self.make  # type: ignore[method-assign]
        colour = ui.Select(
            custom_id="panel:colour",
            placeholder="Colour",
            options=[discord.SelectOption(label="Red", value="r"), discord.SelectOption(label="Blue", value="b")],
        )
        colour.callback = self.colour  # type: ignore[method-assign]
        self.colour_select = colour
        self.add_item(
            ui.Container(
                ui.TextDisplay("# Personas"),
                ui.Section("Make a new one", accessory=make),
                ui.Separator(),
                ui.ActionRow(colour),
                accent_colour=0x5865F2,
            )
        )

    async def make(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(Persona(self.got))

    async def colour(self, interaction: discord.Interaction) -> None:
        self.got["colour"] = self.colour_select.values
        await interaction.response.send_message(f"colour {self.colour_select.values[0]}")


async def test_a_v2_panel_and_a_v2_modal_end_to_end(sandbox: Sandbox, discord_client) -> None:
    bot = await discord_client()
    got: dict[str, Any] = {}
    await bot.get_channel(sandbox.general.id).send(view=Panel(got))
    panel = await sandbox.wait_for_message(sandbox.general)
    assert panel.is_v2 and panel.content == ""
    assert panel.texts() == ["# Personas", "Make a new one"]
    assert [b["label"] for b in panel.buttons()] == ["Make"]
    assert [s["placeholder"] for s in panel.selects()] == ["Colour"]

    chose = await sandbox.select(panel, ["Blue"], user=sandbox.bob)
    assert (await chose.message()).content == "colour b" and got["colour"] == ["b"]

    opened = await sandbox.click(panel, label="Make")
    shown = await opened.modal()
    assert shown["title"] == "New persona" and [c["type"] for c in shown["components"]] == [18] * 5
    with pytest.raises(AssertionError, match="radio group 'Tone' is required"):
        await sandbox.submit_modal(opened, Traits=["kind"], Card=("a.png", b"png"), Owner=sandbox.bob)
    with pytest.raises(AssertionError, match="has no option 'Odd'"):
        await sandbox.submit_modal(opened, Tone="Odd", Card=("a.png", b"png"), Owner=sandbox.bob)
    submitted = await sandbox.submit_modal(
        opened,
        Tone="Dry",
        traits=["Kind", "loud"],
        Mature=True,
        card=[("a.png", b"png bytes"), ("notes.txt", b"text")],
        Owner=sandbox.bob,
    )
    assert (await submitted.message()).content == "saved"
    assert got["modal"] == (
        "dry",
        ["kind", "loud"],
        True,
        {"a.png": b"png bytes", "notes.txt": b"text"},
        [sandbox.bob.id],
    )
    data = submitted.interaction.data
    assert set(data["resolved"]["attachments"]) == set(data["components"][3]["component"]["values"])
    assert data["resolved"]["users"].keys() == {str(sandbox.bob.id)}
    # Discord numbered the components it got without an id, and the submission carries those ids.
    assert [(c["id"], c["component"]["id"]) for c in data["components"]] == [(1, 2), (3, 4), (5, 6), (7, 8), (9, 10)]
