"""How actions move a wizard (pure): :func:`apply`, the one transition function, and its table of actions.

An action is what a button, select, modal or typed DM line asked for. :func:`apply` looks it up in
:data:`ACTIONS` and returns a new :class:`~bot.core.wizard.WizardState`, or raises
:class:`~bot.core.errors.DomainError` with a sentence for the user, leaving the old state as it was.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bot.core.errors import DomainError
from bot.core.personas import PRIVACY_FIELDS, BehaviorSettings, validate_avatar_url, validate_description, validate_name
from bot.core.traits import ALL_TRAITS
from bot.core.wizard import edits
from bot.core.wizard.steps import REPLY_WHEN, TOTAL_STEPS, WizardState, validate_step

Values = Sequence[Any] | Mapping[str, Any] | None
# An action's handler: (step, data, arg, values) -> the step after it; ``data`` (a copy) is changed in place.
Handler = Callable[[int, dict[str, Any], str | None, Values], int]


def _go(step: int, target: int, data: Mapping[str, Any]) -> int:
    if not 1 <= target <= TOTAL_STEPS:
        raise DomainError(f"There is no step {target}; the wizard has {TOTAL_STEPS}.")
    if target > step:
        # Forward only over complete steps: the first incomplete one says why.
        for earlier in range(step, target):
            validate_step(earlier, data)
    return target


def _single(values: Values, what: str) -> str:
    if isinstance(values, Sequence) and not isinstance(values, str) and len(values) == 1:
        return str(values[0])
    raise DomainError(f"Choose one {what}.")


# --------------------------------------------------------------------------------------------------- moving


def _next(step: int, data: dict[str, Any], arg: str | None, values: Values) -> int:
    validate_step(step, data)
    return min(TOTAL_STEPS, step + 1)


def _back(step: int, data: dict[str, Any], arg: str | None, values: Values) -> int:
    if step == 2 and data.get("quiz"):
        edits.pause_quiz(data)
    return max(1, step - 1)


def _goto(step: int, data: dict[str, Any], arg: str | None, values: Values) -> int:
    try:
        target = int(arg or "")
    except ValueError:
        raise DomainError("That is not a step of the wizard.") from None
    return _go(step, target, data)


# --------------------------------------------------------------------------------------------------- basics


def _basics(step: int, data: dict[str, Any], arg: str | None, values: Values) -> int:
    given = dict(values or {})
    data["name"] = validate_name(str(given.get("name", data.get("name") or "")))
    data["description"] = validate_description(str(given.get("description", data.get("description") or "")))
    data["avatar_url"] = validate_avatar_url(given.get("avatar_url", data.get("avatar_url")))
    return step


# --------------------------------------------------------------------------------------------------- personality


def _template(step: int, data: dict[str, Any], arg: str | None, values: Values) -> int:
    edits.apply_template(data, arg or _single(values, "template"))
    return step


def _quiz(step: int, data: dict[str, Any], arg: str | None, values: Values) -> int:
    edits.start_quiz(data, arg or "mini-ipip")
    return step


def _answer(step: int, data: dict[str, Any], arg: str | None, values: Values) -> int:
    edits.answer_question(data, arg)
    return step


def _quiz_back(step: int, data: dict[str, Any], arg: str | None, values: Values) -> int:
    edits.quiz_back(data)
    return step


def _quiz_stop(step: int, data: dict[str, Any], arg: str | None, values: Values) -> int:
    edits.pause_quiz(data)  # the answers stay for when it is started again
    return step


def _leanings(step: int, data: dict[str, Any], arg: str | None, values: Values) -> int:
    edits.set_leanings(data, list(values or []))
    return step


def _random(step: int, data: dict[str, Any], arg: str | None, values: Values) -> int:
    try:
        seed = int(arg or "")
    except ValueError:
        raise DomainError("A random personality needs a whole-number seed.") from None
    edits.randomise(data, seed)
    return step


def _adjust(step: int, data: dict[str, Any], arg: str | None, values: Values) -> int:
    edits.to_manual(data)
    data["adjust"] = {"trait": (data.get("adjust") or {}).get("trait") or ALL_TRAITS[0]}
    data["quiz"] = None
    return step


def _adjust_trait(step: int, data: dict[str, Any], arg: str | None, values: Values) -> int:
    trait = _single(values, "trait")
    if trait not in ALL_TRAITS:
        raise DomainError(f"There is no trait called '{trait}'.")
    data["adjust"] = {"trait": trait}
    return step


def _nudge(step: int, data: dict[str, Any], arg: str | None, values: Values) -> int:
    edits.nudge_trait(data, arg)
    return step


def _traits(step: int, data: dict[str, Any], arg: str | None, values: Values) -> int:
    edits.set_traits(data, dict(values or {}))
    return step


def _suggested(step: int, data: dict[str, Any], arg: str | None, values: Values) -> int:
    edits.apply_suggestions(data, dict(values or {}))
    return step


def _behavior(step: int, data: dict[str, Any], arg: str | None, values: Values) -> int:
    edits.set_behavior(data, dict(values or {}))
    return step


def _privacy(step: int, data: dict[str, Any], arg: str | None, values: Values) -> int:
    edits.set_privacy(data, dict(values or {}))
    return step


def _adjust_done(step: int, data: dict[str, Any], arg: str | None, values: Values) -> int:
    data["adjust"] = None
    return step


# --------------------------------------------------------------------------------------------------- memory


def _memory_preset(step: int, data: dict[str, Any], arg: str | None, values: Values) -> int:
    edits.set_memory_preset(data, arg or _single(values, "memory preset"))
    return step


def _memory(step: int, data: dict[str, Any], arg: str | None, values: Values) -> int:
    edits.set_memory_values(data, dict(values or {}))
    return step


def _encrypt(step: int, data: dict[str, Any], arg: str | None, values: Values) -> int:
    data["memory"] = {**data["memory"], "encrypt_sensitive": not data["memory"].get("encrypt_sensitive", False)}
    return step


# --------------------------------------------------------------------------------------------------- behaviour


def _reply_when(step: int, data: dict[str, Any], arg: str | None, values: Values) -> int:
    chosen = {str(v) for v in values or []}
    unknown = chosen - set(REPLY_WHEN)
    if unknown:
        raise DomainError(f"'{sorted(unknown)[0]}' is not a time to reply.")
    edits.change_behavior(data, {flag: key in chosen for key, flag in REPLY_WHEN.items()})
    return step


def _chattiness(step: int, data: dict[str, Any], arg: str | None, values: Values) -> int:
    level = int(edits.parse_number(_single(values, "chattiness level"), "Chattiness", 0, 100))
    edits.change_behavior(data, {"chattiness": level})
    return step


def _style(setting: str) -> Handler:
    """The handler of a one-of-a-list behaviour setting (``verbosity``, ``formality``)."""

    def handler(step: int, data: dict[str, Any], arg: str | None, values: Values) -> int:
        edits.change_behavior(data, {setting: _single(values, setting)})
        return step

    return handler


def _emoji(step: int, data: dict[str, Any], arg: str | None, values: Values) -> int:
    edits.change_behavior(data, {"emoji_use": edits.cycle(BehaviorSettings.EMOJI_USE, data["behavior"]["emoji_use"])})
    return step


def _threads(step: int, data: dict[str, Any], arg: str | None, values: Values) -> int:
    edits.change_behavior(data, {"reply_in_threads": not data["behavior"]["reply_in_threads"]})
    return step


# --------------------------------------------------------------------------------------------------- privacy


def _privacy_field(step: int, data: dict[str, Any], arg: str | None, values: Values) -> int:
    chosen_field = _single(values, "field")
    if chosen_field not in PRIVACY_FIELDS:
        raise DomainError(f"'{chosen_field}' is not a privacy field ({', '.join(PRIVACY_FIELDS)}).")
    data["privacy_field"] = chosen_field
    return step


def _visibility(step: int, data: dict[str, Any], arg: str | None, values: Values) -> int:
    edits.set_visibility(data, arg)
    return step


def _toggle(key: str) -> Handler:
    """The handler of a privacy switch (``remember_people``, ``shareable``)."""

    def handler(step: int, data: dict[str, Any], arg: str | None, values: Values) -> int:
        edits.toggle_privacy(data, key)
        return step

    return handler


# --------------------------------------------------------------------------------------------------- character


def _character(step: int, data: dict[str, Any], arg: str | None, values: Values) -> int:
    edits.set_character(data, dict(values or {}))
    return step


def _greetings(step: int, data: dict[str, Any], arg: str | None, values: Values) -> int:
    edits.set_greetings(data, dict(values or {}))
    return step


# --------------------------------------------------------------------------------------------------- the table

ACTIONS: dict[str, Handler] = {
    "next": _next,
    "back": _back,
    "goto": _goto,
    "basics": _basics,
    "template": _template,
    "quiz": _quiz,
    "answer": _answer,
    "quiz-back": _quiz_back,
    "quiz-stop": _quiz_stop,
    "leanings": _leanings,
    "random": _random,
    "adjust": _adjust,
    "adjust-trait": _adjust_trait,
    "nudge": _nudge,
    "traits": _traits,
    "adjust-done": _adjust_done,
    "suggested": _suggested,
    "behavior": _behavior,
    "privacy": _privacy,
    "memory-preset": _memory_preset,
    "memory": _memory,
    "reply-when": _reply_when,
    "chattiness": _chattiness,
    "verbosity": _style("verbosity"),
    "formality": _style("formality"),
    "emoji": _emoji,
    "threads": _threads,
    "privacy-field": _privacy_field,
    "visibility": _visibility,
    "remember": _toggle("remember_people"),
    "shareable": _toggle("shareable"),
    "encrypt": _encrypt,
    "character": _character,
    "greetings": _greetings,
}


def apply(state: WizardState, action: str, arg: str | None = None, values: Values = None) -> WizardState:
    """The state after ``action`` (see :mod:`bot.core.wizard` for ``data``); the input is never changed.

    Actions: ``next``, ``back``, ``goto`` (arg: step), ``basics`` (values: name, description, avatar_url),
    ``template`` (arg or one value), ``quiz`` (arg: instrument), ``answer`` (arg: 1..5), ``quiz-back``,
    ``quiz-stop``, ``leanings`` (values), ``random`` (arg: seed), ``adjust``, ``adjust-trait`` (one value),
    ``nudge`` (arg: m10/m1/p1/p10), ``traits`` (values: trait -> number), ``adjust-done``, ``memory-preset``
    (arg or one value), ``memory`` (values: setting -> value), ``reply-when`` (values), ``chattiness``,
    ``verbosity``, ``formality`` (one value each), ``emoji`` (cycles), ``threads`` (toggles), ``privacy-field``
    (one value), ``visibility`` (arg: owner/server/public), ``remember``, ``encrypt``, ``shareable``
    (toggle), ``character`` (values: character text field -> text; the others are kept), ``greetings`` (values:
    ``greetings_<n>`` -> the greetings of box n, separated by lines of ``---``; all are replaced), ``suggested``
    (values: traits suggested by a description, :meth:`bot.core.trait_suggestions.Suggestions.to_values`),
    ``behavior`` (values: behaviour setting -> typed value), ``privacy`` (values: privacy field -> visibility, or
    remember_people / shareable -> yes/no). Anything invalid raises :class:`DomainError`.
    """
    handler = ACTIONS.get(action)
    if handler is None:
        raise DomainError("That button does not belong to this wizard any more; run /persona create again.")
    data = copy.deepcopy(state.data)
    step = handler(state.step, data, arg, values)
    return WizardState(step=step, data=data)
