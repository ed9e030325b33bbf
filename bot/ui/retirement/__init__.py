"""What retirement looks like, re-exported here (the cog writes ``ui.plan_embed(...)``):

- :mod:`.plan`: the words for each choice, the saved plan's embed, and the ``/retire now`` confirmation;
- :mod:`.form`: the plan form (selects and a modal), saved in one step;
- :mod:`.ceremony`: the ceremony embed with a mood chart of the persona's life, the result, and the legacy.

The callbacks hand the decision back to the cog (``on_save``, ``on_confirm``): the UI draws, it does not decide.
"""

from __future__ import annotations

from bot.ui.retirement.ceremony import (
    CHART_FILENAME,
    FAREWELL_COLOUR,
    ceremony_embed,
    chart_file,
    legacy_embed,
    life_mood_chart,
    result_embed,
)
from bot.ui.retirement.form import FORM_TIMEOUT, PlanDetailsModal, PlanForm, SaveHandler, form_embed
from bot.ui.retirement.plan import (
    ACCESS_WORDS,
    ARCHIVAL_WORDS,
    DELETION_WORDS,
    SHOW_WORDS,
    confirm_embed,
    confirm_retire,
    plan_embed,
    triggers_text,
)

__all__ = [
    "ACCESS_WORDS",
    "ARCHIVAL_WORDS",
    "CHART_FILENAME",
    "DELETION_WORDS",
    "FAREWELL_COLOUR",
    "FORM_TIMEOUT",
    "SHOW_WORDS",
    "PlanDetailsModal",
    "PlanForm",
    "SaveHandler",
    "ceremony_embed",
    "chart_file",
    "confirm_embed",
    "confirm_retire",
    "form_embed",
    "legacy_embed",
    "life_mood_chart",
    "plan_embed",
    "result_embed",
    "triggers_text",
]
