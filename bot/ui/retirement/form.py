"""The retirement plan form: selects for archival, access, extras and deletion, a modal for the farewell and the
numbers, then Save plan or Discard.

The form keeps its choices in the view (a plan is saved in one step, with "Save plan"); a form left open across a
restart simply expires and says so. Saving hands the form back to the cog (``on_save``): the UI draws, it does not
decide.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

import discord

from bot.core import retirement as rules
from bot.core.errors import DomainError
from bot.core.inputs import parse_whole, require_storable
from bot.core.text import clip
from bot.services.retirement import PlanInput
from bot.ui.guards import only_for
from bot.ui.retirement.plan import ACCESS_WORDS, ARCHIVAL_WORDS, DELETION_WORDS, SHOW_WORDS, plan_fields
from bot.ui.wizard import BRAND_COLOUR

FORM_TIMEOUT = 900.0

# The extras select: plan flags and what the ceremony shows, in one multi-select.
EXTRAS = {
    "achievements": "Preserve achievements",
    "timeline": "Preserve the timeline",
    "community": "Let the community read archived memories",
    "research": "Open to research (anonymised export)",
    "export": "DM me the full export",
    "invite": "Invite followers to the ceremony",
    **{f"show:{k}": f"Ceremony shows: {v}" for k, v in SHOW_WORDS.items()},
}


def _form_plan(state: PlanInput) -> rules.Plan:
    """The form's choices as a plan, for display (unvalidated values are shown as they are)."""
    draft = state.draft()
    return rules.Plan(
        triggers=tuple(draft.triggers),
        memory_archival=draft.memory_archival,
        archival_threshold=draft.archival_threshold,
        achievement_preservation=draft.achievement_preservation,
        timeline_preservation=draft.timeline_preservation,
        archive_access=draft.archive_access,
        community_access=draft.community_access,
        research_access=draft.research_access,
        ceremony_channel_id=draft.ceremony_channel_id,
        ceremony=draft.ceremony,
        farewell_message=draft.farewell_message,
        farewell_by_model=draft.farewell_by_model,
        data_retention_days=draft.data_retention_days,
        data_export=draft.data_export,
        data_deletion=tuple(draft.data_deletion),
    )


def form_embed(persona_name: str, state: PlanInput) -> discord.Embed:
    embed = discord.Embed(
        title=clip(f"Plan {persona_name}'s retirement", 256),
        description=(
            "Choose below what is kept, who may read the legacy and what is deleted when the retention ends; "
            "**Farewell & retention…** sets the farewell text and the numbers. Nothing is saved until **Save plan**."
        ),
        colour=BRAND_COLOUR,
    )
    plan_fields(embed, _form_plan(state))
    return embed


def _extras_of(state: PlanInput) -> set[str]:
    chosen = {
        "achievements": state.achievement_preservation,
        "timeline": state.timeline_preservation,
        "community": state.community_access,
        "research": state.research_access,
        "export": state.data_export,
        "invite": state.invite_followers,
    }
    keys = {k for k, v in chosen.items() if v}
    keys.update(f"show:{k}" for k in state.ceremony_show)
    return keys


def _with_extras(state: PlanInput, values: Sequence[str]) -> PlanInput:
    chosen = set(values)
    return replace(
        state,
        achievement_preservation="achievements" in chosen,
        timeline_preservation="timeline" in chosen,
        community_access="community" in chosen,
        research_access="research" in chosen,
        data_export="export" in chosen,
        invite_followers="invite" in chosen,
        ceremony_show=tuple(k for k in rules.CEREMONY_SHOWS if f"show:{k}" in chosen),
    )


class PlanDetailsModal(discord.ui.Modal):
    """The farewell text and the numbers of the plan."""

    def __init__(self, form: PlanForm) -> None:
        super().__init__(title="Farewell & retention", timeout=FORM_TIMEOUT)
        self.form = form
        state = form.state
        self.farewell: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label="Farewell (empty: the persona writes it)",
            custom_id="farewell",
            style=discord.TextStyle.paragraph,
            default=state.farewell_message or None,
            max_length=rules.FAREWELL_MAX,
            required=False,
        )
        self.retention: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label="Days the data is kept after retirement",
            custom_id="retention",
            default=str(state.data_retention_days),
            max_length=5,
        )
        self.threshold: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label="Importance threshold (1-10) for 'important'",
            custom_id="threshold",
            default=str(state.archival_threshold),
            max_length=2,
        )
        self.ceremony_days: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label="Days the ceremony stays open",
            custom_id="ceremony_days",
            default=str(state.ceremony_days),
            max_length=3,
        )
        for item in (self.farewell, self.retention, self.threshold, self.ceremony_days):
            self.add_item(item)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        try:
            state = replace(
                self.form.state,
                farewell_message=require_storable(self.farewell.value, "The farewell").strip() or None,
                data_retention_days=parse_whole(
                    self.retention.value, "The retention", minimum=1, maximum=rules.RETENTION_DAYS_MAX
                ),
                archival_threshold=parse_whole(
                    self.threshold.value,
                    "The importance threshold",
                    minimum=rules.THRESHOLD_MIN,
                    maximum=rules.THRESHOLD_MAX,
                ),
                ceremony_days=parse_whole(
                    self.ceremony_days.value, "The ceremony's length", minimum=0, maximum=rules.CEREMONY_DAYS_MAX
                ),
            )
        except DomainError as error:
            await interaction.response.send_message(str(error), ephemeral=True)
            return
        self.form.state = state
        await interaction.response.edit_message(
            embed=form_embed(self.form.persona_name, state), view=self.form.rebuilt()
        )


SaveHandler = Callable[[discord.Interaction, "PlanForm"], Awaitable[None]]


Handler = Callable[[discord.Interaction], Awaitable[None]]


class _FormSelect(discord.ui.Select["PlanForm"]):
    """A select of the plan form; a choice goes to the form's ``handler``."""

    def __init__(self, handler: Handler, **options: Any) -> None:
        super().__init__(**options)
        self.handler = handler

    async def callback(self, interaction: discord.Interaction) -> None:
        await self.handler(interaction)


class _FormButton(discord.ui.Button["PlanForm"]):
    """A button of the plan form; a click goes to the form's ``handler``."""

    def __init__(self, handler: Handler, **options: Any) -> None:
        super().__init__(**options)
        self.handler = handler

    async def callback(self, interaction: discord.Interaction) -> None:
        await self.handler(interaction)


class PlanForm(discord.ui.View):
    """The plan form: selects for archival, access, extras and deletion; the details modal; save or cancel."""

    def __init__(self, *, owner_id: int, persona_id: int, persona_name: str, state: PlanInput, on_save: SaveHandler):
        super().__init__(timeout=FORM_TIMEOUT)
        self.owner_id = owner_id
        self.persona_id = persona_id
        self.persona_name = persona_name
        self.state = state
        self.on_save = on_save
        self._build()

    def rebuilt(self) -> PlanForm:
        self.clear_items()
        self._build()
        return self

    def _build(self) -> None:
        state = self.state
        archival = _FormSelect(
            self._archival,
            custom_id="retire:archival",
            placeholder="Which memories the legacy keeps",
            options=[
                discord.SelectOption(label=f"Keep {words}", value=key, default=key == state.memory_archival)
                for key, words in ARCHIVAL_WORDS.items()
            ],
            row=0,
        )
        access = _FormSelect(
            self._access,
            custom_id="retire:access",
            placeholder="Who may read the legacy",
            options=[
                discord.SelectOption(label=f"Legacy open to {words}", value=key, default=key == state.archive_access)
                for key, words in ACCESS_WORDS.items()
            ],
            row=1,
        )
        chosen = _extras_of(state)
        extras = _FormSelect(
            self._extras,
            custom_id="retire:extras",
            placeholder="Preservation, access, export, ceremony",
            min_values=0,
            max_values=len(EXTRAS),
            options=[
                discord.SelectOption(label=label, value=key, default=key in chosen) for key, label in EXTRAS.items()
            ],
            row=2,
        )
        deletion = _FormSelect(
            self._deletion,
            custom_id="retire:deletion",
            placeholder="Deleted when the retention ends",
            min_values=0,
            max_values=len(rules.DELETION_KINDS),
            options=[
                discord.SelectOption(
                    label=clip(f"Delete {DELETION_WORDS[k]}", 100), value=k, default=k in state.data_deletion
                )
                for k in rules.DELETION_KINDS
            ],
            row=3,
        )
        details = _FormButton(self._details, label="Farewell & retention…", custom_id="retire:details", row=4)
        save = _FormButton(
            self._save, label="Save plan", custom_id="retire:save", style=discord.ButtonStyle.primary, row=4
        )
        cancel = _FormButton(self._discard, label="Discard", custom_id="retire:discard", row=4)
        for item in (archival, access, extras, deletion, details, save, cancel):
            self.add_item(item)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await only_for(interaction, self.owner_id, "This form belongs to someone else.")

    async def _redraw(self, interaction: discord.Interaction) -> None:
        await interaction.response.edit_message(embed=form_embed(self.persona_name, self.state), view=self.rebuilt())

    @staticmethod
    def _values(interaction: discord.Interaction) -> list[str]:
        data: Any = interaction.data or {}
        return [str(v) for v in data.get("values", [])]

    async def _archival(self, interaction: discord.Interaction) -> None:
        self.state = replace(self.state, memory_archival=self._values(interaction)[0])
        await self._redraw(interaction)

    async def _access(self, interaction: discord.Interaction) -> None:
        self.state = replace(self.state, archive_access=self._values(interaction)[0])
        await self._redraw(interaction)

    async def _extras(self, interaction: discord.Interaction) -> None:
        self.state = _with_extras(self.state, self._values(interaction))
        await self._redraw(interaction)

    async def _deletion(self, interaction: discord.Interaction) -> None:
        self.state = replace(self.state, data_deletion=tuple(self._values(interaction)))
        await self._redraw(interaction)

    async def _details(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(PlanDetailsModal(self))

    async def _save(self, interaction: discord.Interaction) -> None:
        await self.on_save(interaction, self)

    async def _discard(self, interaction: discord.Interaction) -> None:
        self.stop()
        await interaction.response.edit_message(
            embed=discord.Embed(title="Plan discarded", description="Nothing was saved.", colour=BRAND_COLOUR),
            view=None,
        )
