"""The event loop while a reply template at the size limit fires (issue 15, item 7; target: longest stall <= 100 ms).

The real bot runs against the sandbox on a temporary SQLite file (one process, one event loop: the sandbox's stalls
count too, so the figures are upper bounds). Ada gets the behaviour of ``bench/reply_templates.py`` through the
service, Grace the same template through ``/behavior add``: a legal template as heavy as the budget allows. Figures:

- ``reply_template_compile_ms``: checking and compiling that template once, cold (in a worker thread at save).
- ``reply_template_render_ms``: rendering it from the cache, as each message does (p50 and p99).
- ``reply_template_loop_stall_max``: the event loop's longest stall over ``/behavior add`` of the template (``_add``),
  the first message after the compiled templates are forgotten (``_first_message``: as after a restart, they are
  compiled in a worker thread when the behaviours are read) and MESSAGES more (``_messages``), each answered by
  the template.
- ``reply_template_compilations``: compilations during those messages (1: the first read after the "restart").
- ``reply_template_answer``: message sent -> the persona's answer posted (p50 and p99).
"""

from __future__ import annotations

import time

from bench.common import note, report, report_latency, running_bot
from bench.reply_templates import add_limit_behavior, firing_message, limit_template, longest_stall
from bot.clock import utcnow
from bot.sandbox import Sandbox
from bot.services import bindings, personas
from bot.services.personas import Actor, PersonaInput
from bot.templating import behavior_templates

MESSAGES = 50
RENDERS = 2_000
VARIABLES = {"persona": "Ada Lovelace", "author": "Alice", "mood": "calm", "time": "12:00"}


def compile_and_render() -> None:
    source = limit_template()
    behavior_templates.clear_compiled()
    started = time.perf_counter()
    behavior_templates.check_reply_template(source)
    report("reply_template_compile_ms", (time.perf_counter() - started) * 1000, "ms")
    durations = []
    for _ in range(RENDERS):
        started = time.perf_counter()
        behavior_templates.render_reply(source, VARIABLES)
        durations.append((time.perf_counter() - started) * 1000)
    report_latency("reply_template_render_ms", durations)


async def firing() -> None:
    async with Sandbox() as sandbox, running_bot(sandbox) as bot:
        fast = {"cooldown_seconds": 0, "chattiness": 0}
        ids = {}
        for name, owner in (("Ada", sandbox.alice), ("Grace", sandbox.bob)):
            actor = Actor(owner.id, sandbox.guild.id)
            async with bot.db.transaction() as session:
                record = await personas.create(session, actor, PersonaInput(name=name, behavior=fast), now=utcnow())
                await bindings.activate(
                    session, actor, record.id, sandbox.general.id, channel_guild_id=sandbox.guild.id, now=utcnow()
                )
            ids[name] = record.id
        async with bot.db.transaction() as session:
            await add_limit_behavior(session, sandbox.alice.id, sandbox.guild.id, ids["Ada"], now=utcnow())
        behavior_templates.clear_compiled()
        stalls = {}
        async with longest_stall() as stall:
            handle = await sandbox.slash(
                "behavior add", as_user=sandbox.bob, persona=str(ids["Grace"]), name="At the limit",
                trigger="keywords", trigger_value="harbour", action="reply", action_value=limit_template(),
            )  # fmt: skip
            added = await handle.message(timeout=10)
            assert "Added" in added.content, added.content
        stalls["add"] = stall.longest_ms
        # As after a restart: no compiled templates and no cached casts, so the first message reads the behaviours
        # and compiles them in a worker thread (planning never compiles on the loop).
        behavior_templates.clear_compiled()
        bot.get_cog("ConversationCog").casts.clear()  # type: ignore[union-attr]
        before = behavior_templates.compilations()
        answers = []
        for phase, count in (("first_message", 1), ("messages", MESSAGES)):
            async with longest_stall() as stall:
                for _ in range(count):
                    started = time.perf_counter()
                    sent = await sandbox.send(sandbox.general, firing_message("Ada"))
                    answer = await sandbox.wait_for_message(sandbox.general, author="Ada", after=sent, timeout=10)
                    answers.append((time.perf_counter() - started) * 1000)
                    assert "ADA" in answer.content, answer
            stalls[phase] = stall.longest_ms
        # The same bot answering without a template (the offline responder): what the loop stalls anyway.
        async with longest_stall() as stall:
            for _ in range(MESSAGES):
                sent = await sandbox.send(sandbox.general, "Grace, how are you today?")
                await sandbox.wait_for_message(sandbox.general, author="Grace", after=sent, timeout=10)
        baseline = stall.longest_ms
        report("reply_template_loop_stall_max", max(stalls.values()), "ms")
        for phase, longest in stalls.items():
            report(f"reply_template_loop_stall_{phase}", longest, "ms")
        report("reply_template_loop_stall_baseline_no_template", baseline, "ms")
        report("reply_template_compilations", behavior_templates.compilations() - before, "count")
        report_latency("reply_template_answer", answers[1:])
        note(f"first answer after the restart-like reset: {answers[0]:.1f} ms")


async def main() -> None:
    compile_and_render()
    await firing()
