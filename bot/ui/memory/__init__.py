"""What ``/memory`` and ``/privacy`` show: health and optimisation reports, a tier chart, search results, memory
choices, the forget confirmation, the settings editor (preset select, forms), consent, forget-me and export.

Builders from service data to ``discord.Embed`` / views / modals, and one chart (PNG bytes), one module each; this
package re-exports them for the cogs (``from bot.ui import memory as memory_ui``). No I/O. Discord's limits
(256-character titles, 1024-character field values, 6000 characters per embed, 100-character choice names,
45-character modal labels) are applied here.

Buttons and the preset select are ``DynamicItem``s (their custom ids carry the persona and memory ids), so a
message sent before a restart still works; clicks go to the cog named by :data:`MEMORY_HANDLER_COG` /
:data:`PRIVACY_HANDLER_COG`. The settings forms are answered by the memory cog's interaction listener (by
:data:`CONFIG_MODAL_PATTERN`), for the same reason.
"""

from __future__ import annotations

from bot.core.text import clip  # the memory cog's replies are clipped with it too
from bot.ui.memory.common import (
    MEMORY_COLOUR,
    MEMORY_HANDLER_COG,
    PRIVACY_HANDLER_COG,
    done_embed,
)
from bot.ui.memory.components import MEMORY_BUTTON_TEMPLATE, MemoryButton, forget_confirmation
from bot.ui.memory.invitation import CONSENT_BUTTON_TEMPLATE, ConsentButton
from bot.ui.memory.paging import SEARCH_PAGE_TEMPLATE, SearchPageButton, page_view, query_of
from bot.ui.memory.privacy import (
    CONSENT_EXPLAINED,
    CONSENT_HISTORY_SHOWN,
    CONSENT_PERSONAS_SHOWN,
    EXPORT_FILENAME,
    PRIVACY_BUTTON_TEMPLATE,
    PersonaDecision,
    PrivacyButton,
    consent_embed,
    export_summary,
    forget_me_confirmation,
    forgotten_embed,
)
from bot.ui.memory.reports import (
    TIER_CHART_FILENAME,
    TierPicture,
    chart_file,
    health_embed,
    optimization_embed,
    tier_chart,
)
from bot.ui.memory.search import explain, memory_choice_label, memory_text, search_embed
from bot.ui.memory.settings import (
    CONFIG_MODAL_PATTERN,
    CONFIG_SECTIONS,
    MEMORY_SELECT_TEMPLATE,
    SECTION_BUTTONS,
    ConfigModal,
    PresetSelect,
    config_embed,
    config_modal,
    config_view,
    parse_config_form,
)

__all__ = [
    "CONFIG_MODAL_PATTERN",
    "CONFIG_SECTIONS",
    "CONSENT_BUTTON_TEMPLATE",
    "CONSENT_EXPLAINED",
    "CONSENT_HISTORY_SHOWN",
    "CONSENT_PERSONAS_SHOWN",
    "EXPORT_FILENAME",
    "MEMORY_BUTTON_TEMPLATE",
    "MEMORY_COLOUR",
    "MEMORY_HANDLER_COG",
    "MEMORY_SELECT_TEMPLATE",
    "PRIVACY_BUTTON_TEMPLATE",
    "PRIVACY_HANDLER_COG",
    "SEARCH_PAGE_TEMPLATE",
    "SECTION_BUTTONS",
    "TIER_CHART_FILENAME",
    "ConfigModal",
    "ConsentButton",
    "MemoryButton",
    "PersonaDecision",
    "PresetSelect",
    "PrivacyButton",
    "SearchPageButton",
    "TierPicture",
    "chart_file",
    "clip",
    "config_embed",
    "config_modal",
    "config_view",
    "consent_embed",
    "done_embed",
    "explain",
    "export_summary",
    "forget_confirmation",
    "forget_me_confirmation",
    "forgotten_embed",
    "health_embed",
    "memory_choice_label",
    "memory_text",
    "optimization_embed",
    "page_view",
    "parse_config_form",
    "query_of",
    "search_embed",
    "tier_chart",
]
