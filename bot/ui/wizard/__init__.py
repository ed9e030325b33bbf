"""What the wizard looks like: one embed and one view per step, the modals, and the persistent components.

Every component's custom_id carries the draft id and the action (``wizard:<draft>:<action>[:<arg>]`` for buttons,
``wizsel:<draft>:<action>`` for selects, ``wizmodal:<draft>:<kind>[:<page>]`` for modals). The components are
:class:`discord.ui.DynamicItem`, so after a restart the new process still recognises them; all state is in the
draft. Their callbacks hand the click to the cog (``WizardHandler``): the UI draws, it does not decide.

The rooms: :mod:`.parts` (limits, components, embed pieces), :mod:`.steps` (a message per step), :mod:`.modals`
(the forms). Everything callers use is importable from here.
"""

from __future__ import annotations

from bot.core.text import clip
from bot.ui.wizard.modals import (
    WizardModal,
    basics_modal,
    character_modal,
    describe_modal,
    greetings_modal,
    memory_modal,
    modal_values,
    traits_modal,
)
from bot.ui.wizard.parts import (
    BRAND_COLOUR,
    BUTTON_LABEL_MAX,
    CHART_FILENAME,
    DESCRIPTION_MAX,
    EMBED_TOTAL_MAX,
    FIELD_VALUE_MAX,
    HANDLER_COG,
    MODAL_PATTERN,
    SELECT_TEXT_MAX,
    WizardButton,
    WizardHandler,
    WizardSelect,
    bar,
    needs_chart,
    option,
    traits_text,
)
from bot.ui.wizard.steps import chart_file, done_embed, resume_prompt, review_fields, template_choices, wizard_message

__all__ = [
    "BRAND_COLOUR",
    "BUTTON_LABEL_MAX",
    "CHART_FILENAME",
    "DESCRIPTION_MAX",
    "EMBED_TOTAL_MAX",
    "FIELD_VALUE_MAX",
    "HANDLER_COG",
    "MODAL_PATTERN",
    "SELECT_TEXT_MAX",
    "WizardButton",
    "WizardHandler",
    "WizardModal",
    "WizardSelect",
    "bar",
    "basics_modal",
    "character_modal",
    "chart_file",
    "clip",
    "describe_modal",
    "done_embed",
    "greetings_modal",
    "memory_modal",
    "modal_values",
    "needs_chart",
    "option",
    "resume_prompt",
    "review_fields",
    "template_choices",
    "traits_modal",
    "traits_text",
    "wizard_message",
]
