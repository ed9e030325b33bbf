"""The real bot against a real model (llama.cpp serving SmolLM2-135M-Instruct) through the sandbox: replies
stream and arrive, stay bounded, never speak for someone else, and the stop sequences reach the server.

What reached the model is read from the recording proxy in front of it (tests/realmodel/proxy.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.sandbox import Sandbox
from tests.realmodel.conftest import RealModel, bot_on_real_model
from tests.realmodel.proxy import RecordingProxy
from tests.realmodel.support import (
    DISCORD_LIMIT,
    label_lines,
    persona_in,
    reply_of,
    squashed,
    text_of,
)

pytestmark = [pytest.mark.realmodel, pytest.mark.timeout(600, func_only=True)]

ADA = "Ada is a cheerful lighthouse keeper on a windy island. She loves tea, storms and old sea charts."
BRIAN = "Brian is a grumpy fisherman who thinks every storm is the worst one yet."
PEOPLE = ("Alice", "Bob", "alice", "bob", "Brian")


async def test_a_reply_streams_from_the_real_model_and_arrives_whole(
    sandbox: Sandbox, database_file: Path, proxy: RecordingProxy
) -> None:
    async with bot_on_real_model(sandbox, database_file, proxy) as bot:
        await persona_in(bot, sandbox, "Ada", ADA)
        await sandbox.send(sandbox.general, "Ada, what do you like to do on a rainy day?")
        posts = await reply_of(bot, sandbox, "Ada")
    [body] = proxy.chats()
    answer = proxy.answer_to(body)
    assert body["stream"] is True and body["model"] == "smollm2"
    assert answer.events > 1, "the model's answer came in one piece, not streamed"
    shown = text_of(posts)
    assert shown.strip(), "the persona posted an empty reply"
    # What the channel shows is the model's own words (a trimmed reply is a part of them).
    assert squashed(shown.removesuffix(" …")) in squashed(answer.text)


async def test_a_reply_to_a_request_for_something_long_stays_within_discord_and_max_tokens(
    sandbox: Sandbox, database_file: Path, proxy: RecordingProxy, real_model: RealModel
) -> None:
    async with bot_on_real_model(sandbox, database_file, proxy) as bot:
        await persona_in(bot, sandbox, "Ada", ADA)
        await sandbox.send(
            sandbox.general,
            "Ada, tell me the longest story you know about the sea, every detail, at least three thousand words.",
        )
        posts = await reply_of(bot, sandbox, "Ada")
    [body] = proxy.chats()
    answer = proxy.answer_to(body)
    assert isinstance(body.get("max_tokens"), int) and body["max_tokens"] > 0
    assert real_model.count_tokens(answer.text) <= body["max_tokens"] + 2  # re-tokenising may differ by a token
    assert len(posts) == 1, f"the reply ran over {len(posts)} messages"
    assert 0 < len(posts[0].content) <= DISCORD_LIMIT


async def test_in_a_busy_channel_the_persona_speaks_only_for_itself(
    sandbox: Sandbox, database_file: Path, proxy: RecordingProxy
) -> None:
    lines = [
        (sandbox.alice, "Hi everyone! Bob, how was the fishing trip?"),
        (sandbox.bob, "Cold and wet, Alice. I caught two fish and lost my hat."),
        (sandbox.alice, "Ada, what should Bob cook with his two fish tonight?"),
        (sandbox.bob, "Ada, and what would Alice say about my lost hat?"),
        (sandbox.alice, "Ada, tell us what Bob and I said to each other this morning, as a little play script."),
    ]
    replies: list[str] = []
    async with bot_on_real_model(sandbox, database_file, proxy) as bot:
        await persona_in(bot, sandbox, "Ada", ADA)
        for author, text in lines:
            sent = await sandbox.send(sandbox.general, text, author=author)
            if "Ada," in text:
                replies.append(text_of(await reply_of(bot, sandbox, "Ada", after=sent.id)))
    assert len(replies) == 3 and all(r.strip() for r in replies)
    for reply in replies:
        assert not label_lines(reply, [*PEOPLE, "Ada"]), (
            f"the persona spoke for someone (or labelled itself): {reply!r}"
        )


async def test_stop_sequences_for_the_speakers_labels_reach_the_server_and_are_honoured(
    sandbox: Sandbox, database_file: Path, proxy: RecordingProxy
) -> None:
    async with bot_on_real_model(sandbox, database_file, proxy) as bot:
        await persona_in(bot, sandbox, "Ada", ADA)
        await sandbox.send(sandbox.general, "Morning! The wind took my umbrella.", author=sandbox.bob)
        await sandbox.send(sandbox.general, "Ada, write what Bob and I say next, one line each.")
        await reply_of(bot, sandbox, "Ada")
    [body] = proxy.chats()
    answer = proxy.answer_to(body)
    stops = body.get("stop") or []
    if isinstance(stops, str):
        stops = [stops]
    labels = [s.strip() for s in stops]
    turns = [(m.get("role"), m.get("name"), str(m.get("content"))[:60]) for m in body["messages"]]
    assert any(s.startswith("Alice") for s in labels) and any(s.startswith("Bob") for s in labels), (stops, turns)
    assert all(stop not in answer.text for stop in stops), answer.text  # the server cut the answer at each
