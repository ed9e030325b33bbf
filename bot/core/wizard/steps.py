"""The creation wizard's rules (pure): six steps, what each holds, how it validates, and how actions move it.

A wizard is a :class:`WizardState`: the step (1..6) and a JSON-able ``data`` dict, which is all a draft stores, so
any process can continue any wizard. :func:`apply` is the one transition function: it takes an action (what a
button, select, modal or typed DM line asked for) and returns a new state, or raises
:class:`~bot.core.errors.DomainError` with a sentence for the user, leaving the old state as it was.

The shape of ``data``::

    name, description, avatar_url          step 1
    traits (all fourteen, or None)          step 2, with personality = {mode, template, leanings, seed}
    quiz = {instrument, answers, position}  while a questionnaire is running (None otherwise)
    adjust = {trait}                        while traits are being adjusted by hand (None otherwise)
    memory (every MemoryConfig field), memory_preset (a preset name or "custom")   step 3
    behavior (BehaviorSettings)             step 4
    privacy (PrivacySettings), privacy_field (the field the visibility buttons change)   step 5
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.core import memory as memory_rules
from bot.core import personality, quiz
from bot.core.errors import DomainError
from bot.core.inputs import whole_number
from bot.core.personas import (
    PRIVACY_FIELDS,
    VISIBILITY,
    BehaviorSettings,
    PrivacySettings,
    validate_avatar_url,
    validate_description,
    validate_name,
)
from bot.core.traits import ALL_TRAITS, BIG_FIVE, label

TOTAL_STEPS = 6
STEP_TITLES: tuple[str, ...] = ("Basic info", "Personality", "Memory", "Behaviour", "Privacy & consent", "Review")
DRAFT_TTL = timedelta(hours=24)

# Manual adjustment: the nudges a button can make (custom_id-safe names), and the trait pages of the modal.
NUDGES: dict[str, int] = {"m10": -10, "m1": -1, "p1": 1, "p10": 10}
TRAIT_PAGE_SIZE = 5
TRAIT_PAGES: tuple[tuple[str, ...], ...] = tuple(
    ALL_TRAITS[i : i + TRAIT_PAGE_SIZE] for i in range(0, len(ALL_TRAITS), TRAIT_PAGE_SIZE)
)
# When to reply (step 4): the select's values and the behaviour flags they set.
REPLY_WHEN: dict[str, str] = {
    "mentioned": "reply_when_mentioned",
    "named": "reply_when_named",
    "replied": "reply_when_replied_to",
}
CHATTINESS_LEVELS: tuple[int, ...] = (0, 5, 10, 25, 50, 75, 100)
# The advanced memory modal: at most five text fields (Discord's limit for a modal).
MEMORY_MODAL_FIELDS: tuple[str, ...] = (
    "hot_memory_size",
    "warm_memory_size",
    "cold_memory_retention_days",
    "decay_function",
    "decay_rate",
)
DM_WORDS = {"next": "next", "back": "back", "cancel": "cancel", "create": "create", "save": "create"}


@dataclass(frozen=True)
class WizardState:
    """Where a wizard is (``step``, 1..6) and everything chosen so far (``data``, JSON-able)."""

    step: int
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class QuizProgress:
    """The question on screen: "Question ``number`` of ``total``", and the answer given to it before, if any."""

    instrument: str
    instrument_name: str
    number: int
    total: int
    text: str
    previous_answer: int | None


# --------------------------------------------------------------------------------------------------- building


def _memory_dict(config: memory_rules.MemoryConfig) -> dict[str, Any]:
    return memory_rules.config_to_dict(config)


def new_data(template_id: str | None = None) -> dict[str, Any]:
    """A fresh wizard's data: defaults everywhere, and the template's traits when one is named."""
    data: dict[str, Any] = {
        "name": "",
        "description": "",
        "avatar_url": None,
        "traits": None,
        "personality": {"mode": None, "template": None, "leanings": [], "seed": None},
        "quiz": None,
        "adjust": None,
        "memory": _memory_dict(memory_rules.default_config()),
        "memory_preset": _default_preset_name(),
        "behavior": BehaviorSettings().to_dict(),
        "privacy": PrivacySettings().to_dict(),
        "privacy_field": PRIVACY_FIELDS[0],
    }
    if template_id:
        _apply_template(data, template_id)
    return data


def _default_preset_name() -> str:
    default = memory_rules.default_config()
    for name in memory_rules.preset_names():
        if memory_rules.preset(name) == default:
            return name
    return "custom"


def data_from_persona(
    *,
    name: str,
    description: str,
    avatar_url: str | None,
    traits: Mapping[str, float],
    behavior: Mapping[str, Any],
    privacy: Mapping[str, Any],
    memory: Mapping[str, Any],
) -> dict[str, Any]:
    """The data of an edit wizard: a persona's current values, step by step."""
    data = new_data()
    config = {k: memory[k] for k in memory_rules.CONFIG_FIELDS if k in memory}
    data.update(
        name=name,
        description=description,
        avatar_url=avatar_url,
        traits={t: float(traits[t]) for t in ALL_TRAITS},
        behavior=BehaviorSettings.from_dict(behavior).to_dict(),
        privacy=PrivacySettings.from_dict(privacy).to_dict(),
    )
    data["personality"]["mode"] = "current"
    if set(config) == set(memory_rules.CONFIG_FIELDS):
        data["memory"] = _memory_dict(memory_rules.validate_config(config))
        data["memory_preset"] = _preset_matching(data["memory"])
    return data


def _preset_matching(values: Mapping[str, Any]) -> str:
    for name in memory_rules.preset_names():
        if _memory_dict(memory_rules.preset(name)) == dict(values):
            return name
    return "custom"


def persona_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """What the wizard made, as the keyword fields of a persona (name, description, avatar_url, traits,
    behavior, privacy, memory); every step is validated first."""
    for step in range(1, TOTAL_STEPS):
        validate_step(step, data)
    memory = dict(data["memory"])
    memory["shareable"] = bool(data["privacy"].get("shareable", False))
    return {
        "name": validate_name(data["name"]),
        "description": validate_description(data.get("description")),
        "avatar_url": validate_avatar_url(data.get("avatar_url")),
        "traits": personality.validate_traits(data["traits"]),
        "behavior": BehaviorSettings.from_dict(data["behavior"]).to_dict(),
        "privacy": PrivacySettings.from_dict(data["privacy"]).to_dict(),
        "memory": memory,
    }


# --------------------------------------------------------------------------------------------------- validation


def validate_step(step: int, data: Mapping[str, Any]) -> None:
    """Raise :class:`DomainError` saying what is missing or wrong in ``step``; return when it is complete."""
    if step == 1:
        validate_name(data.get("name") or "")
        validate_description(data.get("description"))
        validate_avatar_url(data.get("avatar_url"))
    elif step == 2:
        progress = quiz_progress(data)
        if progress is not None:
            raise DomainError(
                f"Finish the questionnaire first (question {progress.number} of {progress.total}), or stop it."
            )
        if data.get("traits") is None:
            raise DomainError("Choose a personality first: a template, a questionnaire, random, or by hand.")
        personality.validate_traits(data["traits"])
    elif step == 3:
        memory_rules.validate_config(data.get("memory") or {})
    elif step == 4:
        BehaviorSettings.from_dict(data.get("behavior"))
    elif step == 5:
        PrivacySettings.from_dict(data.get("privacy"))
    elif step == 6:
        for earlier in range(1, TOTAL_STEPS):
            validate_step(earlier, data)
    else:
        raise DomainError(f"There is no step {step}; the wizard has {TOTAL_STEPS}.")


def first_invalid_step(data: Mapping[str, Any], before: int = TOTAL_STEPS) -> int | None:
    """The first step before ``before`` that does not validate, or None."""
    for step in range(1, before):
        try:
            validate_step(step, data)
        except DomainError:
            return step
    return None


# --------------------------------------------------------------------------------------------------- quiz


def quiz_progress(data: Mapping[str, Any]) -> QuizProgress | None:
    """The running questionnaire's current question, or None when no questionnaire is running."""
    running = data.get("quiz")
    if not running:
        return None
    instrument = running["instrument"]
    items = quiz.questions(instrument)
    position = int(running.get("position", 0))
    answers = list(running.get("answers") or [])
    name = next((i.name for i in quiz.instruments() if i.id == instrument), instrument)
    return QuizProgress(
        instrument=instrument,
        instrument_name=name,
        number=position + 1,
        total=len(items),
        text=items[position].text,
        previous_answer=int(answers[position]) if position < len(answers) else None,
    )


def _start_quiz(data: dict[str, Any], instrument: str) -> None:
    items = quiz.questions(instrument)  # an unknown instrument raises here
    if not items:
        raise DomainError("That questionnaire has no questions.")
    data["quiz"] = {"instrument": instrument.strip().lower(), "answers": [], "position": 0}
    data["adjust"] = None


def _answer(data: dict[str, Any], value: str | None) -> None:
    running = data.get("quiz")
    if not running:
        raise DomainError("No questionnaire is running; start one from the personality step.")
    answer = whole_number(value or "")
    if answer is None or not quiz.LOWEST_ANSWER <= answer <= quiz.HIGHEST_ANSWER:
        raise DomainError("Answers go from 1 (very inaccurate) to 5 (very accurate).")
    total = len(quiz.questions(running["instrument"]))
    answers = list(running.get("answers") or [])
    position = int(running.get("position", 0))
    if position < len(answers):
        answers[position] = answer
    else:
        answers.append(answer)
    position += 1
    if position >= total:
        big_five = quiz.score(running["instrument"], answers)
        data["traits"] = personality.derive_traits(big_five)
        data["personality"] = {**data["personality"], "mode": "quiz", "template": None, "quiz": running["instrument"]}
        data["quiz"] = None
        return
    data["quiz"] = {**running, "answers": answers, "position": position}


def _quiz_back(data: dict[str, Any]) -> None:
    running = data.get("quiz")
    if not running:
        raise DomainError("No questionnaire is running.")
    position = int(running.get("position", 0))
    if position == 0:
        raise DomainError("This is the first question; there is nothing before it.")
    data["quiz"] = {**running, "position": position - 1}


# --------------------------------------------------------------------------------------------------- traits


def _apply_template(data: dict[str, Any], template_id: str) -> None:
    template = personality.get_template(template_id)
    data["traits"] = dict(template.traits)
    data["personality"] = {**data["personality"], "mode": "template", "template": template.id}
    data["quiz"] = None


def _randomise(data: dict[str, Any], seed: Any) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise DomainError("A random personality needs a whole-number seed.")
    leanings = list(data["personality"].get("leanings") or [])
    data["traits"] = personality.random_traits(seed, leanings)
    data["personality"] = {**data["personality"], "mode": "random", "template": None, "seed": seed}
    data["quiz"] = None


def _set_leanings(data: dict[str, Any], values: Sequence[str]) -> None:
    known = {leaning.id for leaning in personality.list_leanings()}
    chosen = [str(v) for v in values]
    unknown = [v for v in chosen if v not in known]
    if unknown:
        raise DomainError(f"There is no leaning called '{unknown[0]}'.")
    # Leanings that contradict each other are found now, not when Random is pressed.
    personality.random_traits(0, chosen)
    data["personality"] = {**data["personality"], "leanings": chosen}


def _current_traits(data: Mapping[str, Any]) -> dict[str, float]:
    traits = data.get("traits")
    if traits is None:
        return personality.derive_traits(dict.fromkeys(BIG_FIVE, 50.0))
    return {t: float(traits[t]) for t in ALL_TRAITS}


def _manual(data: dict[str, Any]) -> None:
    data["traits"] = _current_traits(data)
    data["personality"] = {**data["personality"], "mode": "manual", "template": None}


def parse_number(text: Any, what: str, low: float | None = None, high: float | None = None) -> float:
    """A number typed by a person ("42", " 3.5 "), or DomainError naming ``what``."""
    try:
        number = float(str(text).strip().replace(",", "."))
    except ValueError:
        raise DomainError(f"{what} must be a number; got '{str(text).strip()[:40]}'.") from None
    if not math.isfinite(number):
        raise DomainError(f"{what} must be a number; got '{str(text).strip()[:40]}'.")
    if low is not None and high is not None and not low <= number <= high:
        raise DomainError(f"{what} must be from {low:g} to {high:g}; got {number:g}.")
    return number


def _set_traits(data: dict[str, Any], values: Mapping[str, Any]) -> None:
    current = _current_traits(data)
    for key, text in values.items():
        if key not in ALL_TRAITS:
            raise DomainError(f"There is no trait called '{key}'.")
        current[key] = parse_number(text, label(key), 0, 100)
    data["traits"] = personality.validate_traits(current)
    data["personality"] = {**data["personality"], "mode": "manual", "template": None}


def _nudge(data: dict[str, Any], how: str | None) -> None:
    if how not in NUDGES:
        raise DomainError("That adjustment is not one of -10, -1, +1, +10.")
    adjust = data.get("adjust") or {}
    trait = adjust.get("trait") or ALL_TRAITS[0]
    current = _current_traits(data)
    current[trait] = float(min(100.0, max(0.0, current[trait] + NUDGES[how])))
    data["traits"] = current
    data["personality"] = {**data["personality"], "mode": "manual", "template": None}


# --------------------------------------------------------------------------------------------------- memory


def _memory_preset(data: dict[str, Any], name: str) -> None:
    config = memory_rules.preset(name)
    data["memory"] = {
        **_memory_dict(config),
        "encrypt_sensitive": bool(data["memory"].get("encrypt_sensitive", False)),
    }
    data["memory_preset"] = name.strip().lower()


def _memory_values(data: dict[str, Any], values: Mapping[str, Any]) -> None:
    merged = dict(data["memory"])
    for key, text in values.items():
        if key not in memory_rules.CONFIG_FIELDS:
            raise DomainError(f"There is no memory setting called {key}.")
        if isinstance(text, str) and key in ("decay_function", "decay_schedule"):
            merged[key] = text.strip().lower()
        elif isinstance(text, str):
            number = parse_number(text, key.replace("_", " ").capitalize())
            merged[key] = int(number) if number.is_integer() and key != "decay_rate" else number
        else:
            merged[key] = text
    data["memory"] = _memory_dict(memory_rules.validate_config(merged))
    data["memory_preset"] = _preset_matching(data["memory"])


# --------------------------------------------------------------------------------------------------- behaviour


def _behavior(data: dict[str, Any], changes: Mapping[str, Any]) -> None:
    data["behavior"] = BehaviorSettings.from_dict({**data["behavior"], **changes}).to_dict()


def _cycle(options: Sequence[str], current: str) -> str:
    return options[(list(options).index(current) + 1) % len(options)] if current in options else options[0]


# --------------------------------------------------------------------------------------------------- privacy


def _visibility(data: dict[str, Any], level: str | None) -> None:
    if level not in VISIBILITY:
        raise DomainError(f"Visibility is one of {', '.join(VISIBILITY)}.")
    target = data.get("privacy_field") or PRIVACY_FIELDS[0]
    privacy = copy.deepcopy(data["privacy"])
    privacy["visibility"][target] = level
    data["privacy"] = PrivacySettings.from_dict(privacy).to_dict()


def _toggle_privacy(data: dict[str, Any], key: str) -> None:
    data["privacy"] = PrivacySettings.from_dict({**data["privacy"], key: not data["privacy"].get(key, False)}).to_dict()


# --------------------------------------------------------------------------------------------------- moving


def _go(step: int, target: int, data: Mapping[str, Any]) -> int:
    if not 1 <= target <= TOTAL_STEPS:
        raise DomainError(f"There is no step {target}; the wizard has {TOTAL_STEPS}.")
    if target > step:
        # Forward only over complete steps: the first incomplete one says why.
        for earlier in range(step, target):
            validate_step(earlier, data)
    return target


def _single(values: Sequence[Any] | Mapping[str, Any] | None, what: str) -> str:
    if isinstance(values, Sequence) and not isinstance(values, str) and len(values) == 1:
        return str(values[0])
    raise DomainError(f"Choose one {what}.")


def apply(
    state: WizardState,
    action: str,
    arg: str | None = None,
    values: Sequence[Any] | Mapping[str, Any] | None = None,
) -> WizardState:
    """The state after ``action`` (see the module docstring for ``data``); the input is never changed.

    Actions: ``next``, ``back``, ``goto`` (arg: step), ``basics`` (values: name, description, avatar_url),
    ``template`` (arg or one value), ``quiz`` (arg: instrument), ``answer`` (arg: 1..5), ``quiz-back``,
    ``quiz-stop``, ``leanings`` (values), ``random`` (arg: seed), ``adjust``, ``adjust-trait`` (one value),
    ``nudge`` (arg: m10/m1/p1/p10), ``traits`` (values: trait -> number), ``adjust-done``, ``memory-preset``
    (arg or one value), ``memory`` (values: setting -> value), ``reply-when`` (values), ``chattiness``,
    ``verbosity``, ``formality`` (one value each), ``emoji`` (cycles), ``threads`` (toggles), ``privacy-field``
    (one value), ``visibility`` (arg: owner/server/public), ``remember``, ``encrypt``, ``shareable``
    (toggle). Anything invalid raises :class:`DomainError`.
    """
    data = copy.deepcopy(state.data)
    step = state.step
    if action == "next":
        validate_step(step, data)
        step = min(TOTAL_STEPS, step + 1)
    elif action == "back":
        if step == 2 and data.get("quiz"):
            data["quiz"] = None
        step = max(1, step - 1)
    elif action == "goto":
        try:
            target = int(arg or "")
        except ValueError:
            raise DomainError("That is not a step of the wizard.") from None
        step = _go(step, target, data)
    elif action == "basics":
        given = dict(values or {})  # type: ignore[arg-type]
        data["name"] = validate_name(str(given.get("name", data.get("name") or "")))
        data["description"] = validate_description(str(given.get("description", data.get("description") or "")))
        data["avatar_url"] = validate_avatar_url(given.get("avatar_url", data.get("avatar_url")))
    elif action == "template":
        _apply_template(data, arg or _single(values, "template"))
    elif action == "quiz":
        _start_quiz(data, arg or "mini-ipip")
    elif action == "answer":
        _answer(data, arg)
    elif action == "quiz-back":
        _quiz_back(data)
    elif action == "quiz-stop":
        data["quiz"] = None
    elif action == "leanings":
        _set_leanings(data, list(values or []))
    elif action == "random":
        try:
            seed = int(arg or "")
        except ValueError:
            raise DomainError("A random personality needs a whole-number seed.") from None
        _randomise(data, seed)
    elif action == "adjust":
        _manual(data)
        data["adjust"] = {"trait": (data.get("adjust") or {}).get("trait") or ALL_TRAITS[0]}
        data["quiz"] = None
    elif action == "adjust-trait":
        trait = _single(values, "trait")
        if trait not in ALL_TRAITS:
            raise DomainError(f"There is no trait called '{trait}'.")
        data["adjust"] = {"trait": trait}
    elif action == "nudge":
        _nudge(data, arg)
    elif action == "traits":
        _set_traits(data, dict(values or {}))  # type: ignore[arg-type]
    elif action == "adjust-done":
        data["adjust"] = None
    elif action == "memory-preset":
        _memory_preset(data, arg or _single(values, "memory preset"))
    elif action == "memory":
        _memory_values(data, dict(values or {}))  # type: ignore[arg-type]
    elif action == "reply-when":
        chosen = {str(v) for v in values or []}
        unknown = chosen - set(REPLY_WHEN)
        if unknown:
            raise DomainError(f"'{sorted(unknown)[0]}' is not a time to reply.")
        _behavior(data, {flag: key in chosen for key, flag in REPLY_WHEN.items()})
    elif action == "chattiness":
        level = int(parse_number(_single(values, "chattiness level"), "Chattiness", 0, 100))
        _behavior(data, {"chattiness": level})
    elif action in ("verbosity", "formality"):
        _behavior(data, {action: _single(values, action)})
    elif action == "emoji":
        _behavior(data, {"emoji_use": _cycle(BehaviorSettings.EMOJI_USE, data["behavior"]["emoji_use"])})
    elif action == "threads":
        _behavior(data, {"reply_in_threads": not data["behavior"]["reply_in_threads"]})
    elif action == "privacy-field":
        chosen_field = _single(values, "field")
        if chosen_field not in PRIVACY_FIELDS:
            raise DomainError(f"'{chosen_field}' is not a privacy field ({', '.join(PRIVACY_FIELDS)}).")
        data["privacy_field"] = chosen_field
    elif action == "visibility":
        _visibility(data, arg)
    elif action == "remember":
        _toggle_privacy(data, "remember_people")
    elif action == "shareable":
        _toggle_privacy(data, "shareable")
    elif action == "encrypt":
        data["memory"] = {**data["memory"], "encrypt_sensitive": not data["memory"].get("encrypt_sensitive", False)}
    else:
        raise DomainError("That button does not belong to this wizard any more; run /persona create again.")
    return WizardState(step=step, data=data)


# --------------------------------------------------------------------------------------------------- DM text


def interpret_text(state: WizardState, text: str, image_url: str | None = None) -> tuple[str, str | None, Any]:
    """What a message typed in a DM means for the wizard, as ``(action, arg, values)`` for :func:`apply`
    (or ``cancel`` / ``create`` / ``show``, which the service handles).

    ``next``, ``back``, ``cancel`` and ``create`` are words of their own. On step 1, ``name: ...``,
    ``description: ...`` and ``avatar: <link>`` set that field; an image sets the avatar; other text fills the
    name first, then the description. On step 2 a template's id or name picks it, and ``random`` rolls one; on
    step 3 a preset name picks it. Anything else raises :class:`DomainError` saying what can be typed.
    """
    cleaned = (text or "").strip()
    word = cleaned.lower()
    if word in DM_WORDS:
        return DM_WORDS[word], None, None
    if state.step == 1:
        fields: dict[str, Any] = {}
        if image_url:
            fields["avatar_url"] = image_url
        if cleaned:
            key, sep, rest = cleaned.partition(":")
            key = key.strip().lower()
            if sep and key in ("name", "description", "avatar"):
                fields["avatar_url" if key == "avatar" else key] = rest.strip()
            elif not state.data.get("name"):
                fields["name"] = cleaned
            else:
                fields["description"] = cleaned
        if fields:
            return "basics", None, fields
    elif state.step == 2 and cleaned:
        if word == "random":
            return "random", None, None
        for template in personality.list_templates():
            if word in (template.id, template.name.lower()):
                return "template", template.id, None
    elif state.step == 3 and word in memory_rules.preset_names():
        return "memory-preset", word, None
    hint = {
        1: "type the name (then the description), or 'name: ...', 'description: ...', 'avatar: <link>'",
        2: "type a template's name or 'random', or use the buttons",
        3: f"type a preset ({', '.join(memory_rules.preset_names())}), or use the buttons",
    }.get(state.step, "use the buttons")
    raise DomainError(f"On this step, {hint}; 'next', 'back', 'cancel' and 'create' work anywhere.")
