"""Custom behaviours' reply templates: checked and compiled once, rendered in a sandbox within bounds, and what a
behaviour would do (``/behavior test``).

A reply template is written by a user, so it is untrusted *source*. Layers of defence, each enough on its own for
the known payloads (the language, its limits and the sandbox, :data:`MAX_DEPTH`, :data:`MAX_NODES`,
:data:`FILTERS`, are in :mod:`bot.templating.reply_language`; the budgets, the cache and rendering here):

1. **A budget, checked before anything expensive** (:func:`check_reply_template`). The source is at most 1,000
   characters. A pass over Jinja's tokens (linear, no recursion) refuses a template nested more than
   :data:`MAX_DEPTH` levels (blocks, brackets and ``not``/``if``/``else``/sign operators counted together) before
   the parser sees it: the parser recurses per bracket, so deep input would otherwise raise ``RecursionError``.
   Then the parsed tree must be at most :data:`MAX_DEPTH` levels deep (exactly, counted without recursion) and
   :data:`MAX_NODES` nodes: Python refuses to compile deeply nested generated code (``SyntaxError``: too many
   nested parentheses) and Jinja's code generation grows with depth. Last, compiling must take at most
   :data:`COMPILE_BUDGET` seconds of the compiling thread's CPU time (not the wall clock, which a busy machine
   stretches).
2. **A small language**: every node must be on an allow-list: text, ``{{ ... }}``, ``{% if %}``, the names
   ``persona``, ``author``, ``mood`` and ``time``, constants, comparisons, ``and``/``or``/``not``, ``~`` and a few
   filters (:data:`FILTERS`). No loops, calls, attribute or index access, arithmetic, assignments, macros,
   includes or blocks. With no loops and no arithmetic the work of a render is linear in the template's size.
3. **Jinja2's** ``ImmutableSandboxedEnvironment`` with no globals (no ``range``, ``lipsum``, ``cycler``, ...),
   only the allowed filters and tests, every binary operator intercepted and refused, ``StrictUndefined``, and
   no constant folding (Jinja's optimizer would run filters at compile time and costs more than linear time in
   the depth of an expression).
4. **Bounded rendering**: the output is built piece by piece and abandoned past :data:`MAX_OUTPUT` characters
   (plus the template's own whitespace) or :data:`RENDER_BUDGET` seconds.

Templates are compiled **once**: :func:`compiled_reply` keeps the compiled template (or the sentence refusing it)
in a bounded cache keyed by the source, so a message never recompiles; :func:`compilations` counts the real
compilations. Planning a message (:func:`plan_effects`, on the event loop) never compiles: a template missing from
the cache (dropped, or never loaded) skips its behaviour for that message with a WARNING and is compiled in a
worker thread for the next (:func:`ready_reply`); a template refused as too slow to compile stays refused there.
Services compile off the event loop (:func:`validate_behavior_off_loop`, :func:`warm`), at save
and when stored rows are loaded. A template stored before these limits that now exceeds them is refused when loaded (the
behaviour is skipped), never fatal.

Every failure is a :class:`~bot.core.errors.DomainError` with a sentence; nothing leaks and nothing hangs. When
behaviours fire (:func:`plan_effects`), one that fails in any way is skipped and logged as a WARNING with its id:
the others, and the persona's reply, go on.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from jinja2.exceptions import SecurityError, TemplateError

from bot.core import behaviors as rules
from bot.core.errors import DomainError
from bot.templating.reply_language import NAMES, SANDBOX, parse_checked

log = logging.getLogger(__name__)

MAX_OUTPUT = 1000
COMPILE_BUDGET = 0.25  # seconds; within the limits of the language a compilation takes a few milliseconds
CHECK_TIMEOUT = 2.0  # seconds a command waits for its check (it runs in a worker thread)
RENDER_BUDGET = 0.25  # seconds; a render does linear work, well under a millisecond (room for a busy machine)
# Compiled templates (and refusals) kept, least recently used dropped first: room for every template of a large
# deployment (a few KB each). A template dropped anyway is not recompiled on the event loop (plan_effects).
CACHE_SIZE = 8192


# ----------------------------------------------------------------------------------------------------
# The budget, and compiling once


class _TooSlow(DomainError):
    """Over the compile-time budget: not kept in the cache (a busy machine, not the template, may be why)."""


@dataclass(frozen=True)
class _Prepared:
    template: jinja2.Template | None
    refusal: str | None = None
    slow: bool = False  # refused over the compile-time budget: compiled again where compiling is allowed


_cache: OrderedDict[str, _Prepared] = OrderedDict()
_lock = threading.Lock()  # compilations run in worker threads as well as on the event loop
_compilations = 0
_pending: set[str] = set()  # sources being compiled in a worker thread for plan_effects
_pending_tasks: set[asyncio.Future[None]] = set()  # kept referenced until done


def compilations() -> int:
    """How many times a reply template was compiled by Jinja in this process (each source once while it stays
    in the cache)."""
    return _compilations


def clear_compiled() -> None:
    """Forget every compiled template, as a restart would (benchmarks measure the first load with it)."""
    with _lock:
        _cache.clear()


def _compile(source: str, budget: float) -> jinja2.Template:
    global _compilations
    # The budget counts this thread's CPU time, not the wall clock: it refuses a template that is costly to prepare,
    # and a busy machine (other processes, other threads holding the GIL) must not make a small one look costly.
    started = time.thread_time()
    tree = parse_checked(source)
    with _lock:
        _compilations += 1
    try:
        code = SANDBOX.compile(tree)
        template = SANDBOX.template_class.from_code(SANDBOX, code, SANDBOX.make_globals(None), None)
    except Exception:  # SyntaxError, RecursionError...: the checks above should make them impossible
        raise DomainError("The reply template could not be compiled; make it simpler.") from None
    if time.thread_time() - started > budget:
        raise _TooSlow("The reply template takes too long to prepare; make it shorter or simpler.")
    return template


def _cached(source: str) -> _Prepared | None:
    with _lock:
        found = _cache.get(source)
        if found is not None:
            _cache.move_to_end(source)
        return found


def compiled_reply(source: str, *, compile_budget: float = COMPILE_BUDGET) -> jinja2.Template:
    """The compiled template for ``source``, compiled at most once while it stays in the bounded cache (a refusal
    is kept too), or :class:`DomainError` saying why it is refused (the budget and language of the module
    docstring). Blank and over-long sources are refused by :func:`check_reply_template`."""
    found = _cached(source)
    if found is None or found.slow:
        try:
            found = _Prepared(_compile(source, compile_budget))
        except _TooSlow as error:
            # Kept so that planning never compiles it again on the loop; compiling it here (a save, a load, a
            # test) tries again, since a busy machine rather than the template may have been why.
            found = _Prepared(None, str(error), slow=True)
        except DomainError as error:
            found = _Prepared(None, str(error))
        with _lock:
            _cache[source] = found
            _cache.move_to_end(source)
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    if found.template is None:
        raise DomainError(found.refusal or "The reply template cannot be used.")
    return found.template


def _compile_later(source: str) -> bool:
    """Compile ``source`` in a worker thread, once at a time, for the next message that needs it; or at once when
    no event loop runs in this thread (nothing is stalled then): returns whether it is compiled now."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        _check_each([source])
        return True
    with _lock:
        if source in _pending:
            return False
        _pending.add(source)

    def done(future: asyncio.Future[None]) -> None:
        _pending_tasks.discard(future)
        with _lock:
            _pending.discard(source)

    future = loop.run_in_executor(None, _check_each, [source])
    _pending_tasks.add(future)
    future.add_done_callback(done)
    return False


def ready_reply(source: str) -> jinja2.Template | None:
    """The compiled template for ``source`` if it is already compiled, None if not (then it is compiled in a worker
    thread for the next time: never here, as this runs on the event loop), or :class:`DomainError` when it is
    refused. What planning a message uses."""
    _check_shape(source)
    found = _cached(source)
    if found is None and _compile_later(source):
        found = _cached(source)
    if found is None:
        return None
    if found.template is None:
        raise DomainError(found.refusal or "The reply template cannot be used.")
    return found.template


async def compiled_in_background() -> None:
    """Wait for the compilations :func:`ready_reply` started (tests and benchmarks)."""
    while _pending_tasks:
        await asyncio.gather(*list(_pending_tasks), return_exceptions=True)


def check_reply_template(source: str, *, compile_budget: float = COMPILE_BUDGET) -> jinja2.Template:
    """The compiled template, if ``source`` is within the budget and only uses what reply templates allow
    (module docstring); otherwise :class:`DomainError` saying what is wrong. Compiles at most once per source
    (:func:`compiled_reply`); a coroutine compiles off the loop (:func:`validate_behavior_off_loop`, :func:`warm`)."""
    _check_shape(source)
    return compiled_reply(source, compile_budget=compile_budget)


def _check_shape(source: Any) -> None:
    if not isinstance(source, str) or not source.strip():
        raise DomainError("The reply template cannot be blank.")
    if len(source) > rules.REPLY_TEMPLATE_MAX:
        raise DomainError(
            f"The reply template is {len(source)} characters long; the limit is {rules.REPLY_TEMPLATE_MAX}."
        )


async def warm(sources: Iterable[Any]) -> None:
    """Compile, in one worker thread, the reply templates among ``sources`` not yet in the cache (refusals are
    kept too), so that reading stored behaviours never compiles on the event loop."""
    missing = [s for s in dict.fromkeys(s for s in sources if isinstance(s, str)) if _cached(s) is None]
    if missing:
        await asyncio.to_thread(_check_each, missing)


def _check_each(sources: Iterable[str]) -> None:
    for source in sources:
        try:
            check_reply_template(source)
        except DomainError:
            continue  # kept in the cache; the behaviour is skipped where it is read


def template_variables(
    *, persona_name: str, author_name: str, mood: str, now: datetime, timezone: str = "UTC"
) -> dict[str, str]:
    """The read-only context of a reply template: persona, author, mood (words) and time ("14:05")."""
    local = now.astimezone(ZoneInfo(timezone)) if now.tzinfo is not None else now
    return {"persona": persona_name, "author": author_name, "mood": mood, "time": local.strftime("%H:%M")}


def render_reply(source: str, variables: Mapping[str, str]) -> str:
    """A reply template rendered in the sandbox from its compiled form (checked and compiled once), at most
    :data:`MAX_OUTPUT` characters and :data:`RENDER_BUDGET` seconds; :class:`DomainError` for anything else."""
    return _render(check_reply_template(source), variables)


def _render(template: jinja2.Template, variables: Mapping[str, str]) -> str:
    context = {name: str(variables.get(name, "")) for name in NAMES}
    # The output is built piece by piece so that neither its size nor its time can run past the bounds; the
    # template's own text can add at most its length in surrounding whitespace.
    cap = MAX_OUTPUT + rules.REPLY_TEMPLATE_MAX
    pieces: list[str] = []
    size = 0
    started = time.thread_time()  # CPU time of this thread, as for compiling
    stream = template.generate(context)
    try:
        for piece in stream:
            pieces.append(piece)
            size += len(piece)
            if size > cap:
                raise DomainError(f"The reply template produced more than {cap} characters; the limit is {MAX_OUTPUT}.")
            if time.thread_time() - started > RENDER_BUDGET:
                raise DomainError("The reply template took too long to render; make it simpler.")
    except DomainError:
        raise
    except SecurityError as error:
        raise DomainError(f"The reply template tried something not allowed: {error}.") from None
    except TemplateError as error:
        raise DomainError(f"The reply template could not be rendered: {error.message}.") from None
    except Exception:  # TypeError, ValueError, OverflowError, ...: nothing of the internals reaches the owner
        raise DomainError("The reply template could not be rendered.") from None
    finally:
        if isinstance(stream, Generator):  # Jinja gives a generator: close it so an abandoned render stops there
            stream.close()
    text = "".join(pieces).strip()
    if len(text) > MAX_OUTPUT:
        raise DomainError(f"The reply template produced {len(text)} characters; the limit is {MAX_OUTPUT}.")
    if not text:
        raise DomainError("The reply template produced an empty reply.")
    return text


def validate_behavior(
    name: Any,
    trigger_kind: Any,
    trigger_config: Any,
    action_kind: Any,
    action_config: Any,
    *,
    enabled: bool = True,
    id: int | None = None,
) -> rules.Behavior:
    """:func:`bot.core.behaviors.validate_behavior` with reply templates checked by the sandbox's rules."""
    return rules.validate_behavior(
        name,
        trigger_kind,
        trigger_config,
        action_kind,
        action_config,
        enabled=enabled,
        id=id,
        check_template=_check_only,
    )


def _check_only(source: str) -> None:
    """:func:`check_reply_template` for :func:`bot.core.behaviors.validate_behavior`, which wants only the refusal."""
    check_reply_template(source)


async def validate_behavior_off_loop(
    name: Any,
    trigger_kind: Any,
    trigger_config: Any,
    action_kind: Any,
    action_config: Any,
    *,
    timeout: float = CHECK_TIMEOUT,
) -> rules.Behavior:
    """:func:`validate_behavior` in a worker thread (a reply template is compiled there, once), refused with a
    sentence when it takes longer than ``timeout`` seconds: what ``/behavior add`` runs before storing."""
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(validate_behavior, name, trigger_kind, trigger_config, action_kind, action_config),
            timeout,
        )
    except TimeoutError:
        raise DomainError("The reply template took too long to check; make it shorter or simpler.") from None


@dataclass(frozen=True)
class BehaviorEffects:
    """What the matching behaviours do to one message."""

    instructions: tuple[str, ...] = ()  # add to PromptContext.instructions
    reply: str | None = None  # the first reply template that rendered: send it instead of asking the model
    emotion_triggers: tuple[str, ...] = ()
    reactions: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default=())  # reply templates that failed (the behaviour is skipped)
    trigger_behaviors: tuple[str, ...] = ()  # the name of the behaviour behind each of emotion_triggers


def plan_effects(matched: Iterable[rules.Behavior], variables: Mapping[str, str]) -> BehaviorEffects:
    """The effects of the behaviours :func:`bot.core.behaviors.matching_behaviors` returned, in order. A reply
    template that fails in any way skips its behaviour only (a WARNING names it; ``problems`` says why): the other
    behaviours, and the persona's reply, go on. This runs on the event loop, so it never compiles: a template not
    in the cache skips its behaviour for this message and is compiled in a worker thread (:func:`ready_reply`)."""
    instructions: list[str] = []
    reply: str | None = None
    triggers: list[str] = []
    reactions: list[str] = []
    problems: list[str] = []
    sources: list[str] = []
    for behavior in matched:
        action = behavior.action
        if isinstance(action, rules.InstructionAction):
            instructions.append(action.text)
        elif isinstance(action, rules.ReplyAction):
            if reply is None:
                try:
                    template = ready_reply(action.template)
                    if template is None:  # not compiled (dropped from the cache): never compiled on the loop
                        why = "its reply template is being prepared; it will answer from the next message on"
                        log.warning("custom behaviour %s (%r) was skipped: %s", behavior.id, behavior.name, why)
                        problems.append(f"{behavior.name}: {why}")
                        continue
                    reply = _render(template, variables)
                except Exception as error:  # one behaviour's failure is its own, never the channel's
                    why = str(error) if isinstance(error, DomainError) else f"it failed ({type(error).__name__})"
                    log.warning("custom behaviour %s (%r) was skipped: %s", behavior.id, behavior.name, why)
                    problems.append(f"{behavior.name}: {why}")
        elif isinstance(action, rules.EmotionAction):
            triggers.append(action.trigger)
            sources.append(behavior.name)
        elif action.emoji not in reactions:
            reactions.append(action.emoji)
    return BehaviorEffects(
        tuple(instructions), reply, tuple(triggers), tuple(reactions), tuple(problems), tuple(sources)
    )


@dataclass(frozen=True)
class BehaviorTest:
    """What a behaviour would do with a sample message (``/behavior test``)."""

    matched: bool
    summary: str  # a sentence for the user
    reply: str | None = None
    instruction: str | None = None
    emotion_trigger: str | None = None
    reaction: str | None = None


def test_behavior(
    behavior: rules.Behavior,
    *,
    message_text: str,
    emoji: str | None = None,
    emotions: Mapping[str, float] | None = None,
    now: datetime,
    persona_name: str,
    author_name: str,
    mood: str = "neutral",
    timezone: str = "UTC",
) -> BehaviorTest:
    """Whether ``behavior`` fires for this sample and what it would do; a broken reply template raises
    :class:`DomainError` (so the owner sees why). A disabled behaviour is tested as if enabled."""
    fires = rules.trigger_matches(behavior.trigger, message_text, emoji, emotions or {}, now)
    if not fires:
        return BehaviorTest(False, f"'{behavior.name}' would not fire for this message.")
    action = behavior.action
    head = f"'{behavior.name}' would fire and {rules.describe_action(behavior)}"
    # Fired by the sample reaction only (the emoji is not in the sample message): what a reaction does.
    by_reaction = isinstance(behavior.trigger, rules.EmojiTrigger) and not rules.trigger_matches(
        behavior.trigger, message_text, None, {}, now
    )
    if isinstance(action, rules.ReplyAction):
        variables = template_variables(
            persona_name=persona_name, author_name=author_name, mood=mood, now=now, timezone=timezone
        )
        text = render_reply(action.template, variables)
        if by_reaction:
            said = f"'{behavior.name}' would answer this reaction, in reply to the message, with: {text}"
            return BehaviorTest(True, f"{said}\n({rules.REPLY_ON_REACTIONS}.)", reply=text)
        return BehaviorTest(True, f"'{behavior.name}' would fire and reply: {text}", reply=text)
    if isinstance(action, rules.InstructionAction):
        if by_reaction:
            said = f"'{behavior.name}' matches this reaction but does nothing on it: its instruction applies when"
            return BehaviorTest(True, f"{said} the emoji is in a message ({rules.INSTRUCTION_NOT_ON_REACTIONS}).")
        return BehaviorTest(True, head + ".", instruction=action.text)
    if isinstance(action, rules.EmotionAction):
        return BehaviorTest(True, head + ".", emotion_trigger=action.trigger)
    return BehaviorTest(True, head + ".", reaction=action.emoji)


test_behavior.__test__ = False  # type: ignore[attr-defined]  # not a pytest test, despite the name
