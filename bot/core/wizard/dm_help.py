"""What can be typed on each step of the wizard in a DM (pure): the answer to ``help``."""

from __future__ import annotations

from bot.core import memory as memory_rules
from bot.core import personality, quiz
from bot.core.character import TEXT_FIELDS
from bot.core.personas import PRIVACY_FIELDS, VISIBILITY, BehaviorSettings
from bot.core.wizard.steps import STEP_TITLES, TOTAL_STEPS, WizardState

ANYWHERE = (
    "Anywhere: `next` (or `skip`), `back`, `step <n>`, `show`, `cancel`, `create` (on the review), `help`. "
    "Any field can be set from any step by typing `<field>: <value>`."
)


def _basics() -> list[str]:
    return [
        "Type the name, then the description (or `name: ...`, `description: ...`).",
        "Send an image, or `avatar: <link>`, for the avatar.",
    ]


def _personality() -> list[str]:
    templates = ", ".join(t.name for t in personality.list_templates())
    instruments = ", ".join(f"`{i.id}`" for i in quiz.instruments())
    leanings = ", ".join(lean.id for lean in personality.list_leanings())
    return [
        f"A template by name: {templates}.",
        f"`describe: <a few sentences>` suggests traits from a description (`describe` alone reads the one from "
        f"step 1); `random` rolls one (steer it first with `leanings: <names>`, from {leanings}).",
        f"`quiz` starts the questionnaire ({instruments} by name): answer each question with 1 to 5, `back` "
        "goes to the question before, `stop` ends it.",
        "Set traits by hand: `curiosity 80, humor 30` (each 0 to 100).",
    ]


def _memory() -> list[str]:
    presets = ", ".join(f"`{name}`" for name in memory_rules.preset_names())
    return [
        f"A preset: {presets}; `encrypt: yes/no` for sensitive memories.",
        "Or a setting: `hot memory size: 30`, `warm memory size: 200`, `cold memory retention days: 90`, "
        "`decay function: exponential`, `decay rate: 0.05`.",
    ]


def _behavior() -> list[str]:
    return [
        "`reply when: mentioned, named, replied` (or `never`); `chattiness: 0..100`.",
        f"`verbosity: {'/'.join(BehaviorSettings.VERBOSITY)}`, `formality: {'/'.join(BehaviorSettings.FORMALITY)}`, "
        f"`emoji: {'/'.join(BehaviorSettings.EMOJI_USE)}`, `threads: yes/no`.",
        "`cooldown: <seconds>`, `exchange depth: 0..20`, `mood reactions: yes/no`.",
    ]


def _privacy() -> list[str]:
    fields = ", ".join(PRIVACY_FIELDS)
    return [
        f"Who sees what: `<field> visibility: {'/'.join(VISIBILITY)}`, for {fields} (e.g. `mood visibility: public`).",
        "`remember people: yes/no`, `shareable: yes/no`.",
    ]


def _review() -> list[str]:
    names = ", ".join(f"`{name.replace('_', ' ')}`" for name in TEXT_FIELDS)
    return [
        f"The character: {names} — e.g. `scenario: a lighthouse at night` (a message may run over several lines).",
        "`alternate greetings: first --- second` (greetings separated by `---`).",
        "`create` makes the persona.",
    ]


def dm_help(state: WizardState) -> str:
    """What can be typed now: the step's own words, then the words that work anywhere."""
    if state.step == 2 and state.data.get("quiz"):
        lines = ["Answer with a number from 1 (very inaccurate) to 5 (very accurate); `back`, `stop`."]
    else:
        lines = {1: _basics, 2: _personality, 3: _memory, 4: _behavior, 5: _privacy}.get(state.step, _review)()
    title = f"**Step {state.step} of {TOTAL_STEPS}: {STEP_TITLES[state.step - 1]}**"
    return "\n".join([title, *(f"- {line}" for line in lines), ANYWHERE])
