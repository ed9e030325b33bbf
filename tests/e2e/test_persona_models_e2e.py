"""Per-persona models end to end: ``/persona model`` sets a model and sampling settings that the next reply's
request carries to the fake model server; a persona with its own server (a second fake server on another loopback
port, the operator allowing private addresses) is answered from there while another persona stays on the bot's; and
with the operator's setting off a loopback address is refused with a sentence and nothing is stored; a persona's
server is asked with the bot's stop-sequence limit and its redirects are not followed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db import models
from bot.sandbox import Sandbox
from bot.services import crypto
from tests.e2e.test_conversation_e2e import answer_from, persona_in
from tests.fakes.model_server import FakeModelServer, redirect, reply
from tests.support.bots import bot_on
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

KEY = crypto.generate_key()


async def say(sandbox: Sandbox, command: str, **options: object) -> str:
    """The bot's private answer to a slash command, as text (content and embed)."""
    message = await (await sandbox.slash(command, **options)).message()
    assert message.ephemeral
    parts = [message.content or ""]
    for embed in message.embeds:
        parts += [embed.get("title", ""), embed.get("description", ""), (embed.get("footer") or {}).get("text", "")]
        parts += [f"{field['name']}: {field['value']}" for field in embed.get("fields", [])]
    return "\n".join(parts)


async def stored(bot, persona_id: int) -> models.PersonaModel | None:
    async with bot.db.session() as session:
        return (
            await session.execute(select(models.PersonaModel).where(models.PersonaModel.persona_id == persona_id))
        ).scalar_one_or_none()


async def test_persona_model_sets_the_model_and_temperature_a_reply_is_asked_with(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer
) -> None:
    model_server.script(reply("First, with the default."), reply("Now with my own model."))
    async with bot_on(sandbox, database_file, model_server) as bot:
        persona_id = await persona_in(bot, sandbox)
        await sandbox.send(sandbox.general, "Ada, hello")
        await answer_from(bot, sandbox)
        assert model_server.requests[-1]["model"] == "fake-model"
        assert model_server.requests[-1]["temperature"] == 0.8

        shown = await say(sandbox, "persona model", persona="Ada")
        assert "default (fake-model)" in shown and "API key:** not set" in shown
        saved = await say(
            sandbox, "persona model", persona="Ada", model="tiny-llama", temperature=0.25, top_p=0.5, max_tokens=64
        )
        assert "tiny-llama" in saved and "0.25" in saved and "(saved)" in saved
        # Someone else cannot see or change it.
        refused = await (
            await sandbox.slash("persona model", as_user=sandbox.bob, persona=str(persona_id), temperature=1.5)
        ).message()
        assert refused.ephemeral and "owner" in refused.content
        row = await stored(bot, persona_id)
        assert row is not None and (row.model, row.temperature, row.top_p, row.max_tokens) == (
            "tiny-llama",
            0.25,
            0.5,
            64,
        )

        first = sandbox.history(sandbox.general)[-1]
        await sandbox.send(sandbox.general, "Ada, again please")
        answer = await answer_from(bot, sandbox, after=first.id)
        assert answer.content == "Now with my own model."
        body = model_server.requests[-1]
        assert (body["model"], body["temperature"], body["top_p"], body["max_tokens"]) == ("tiny-llama", 0.25, 0.5, 64)
        assert "presence_penalty" not in body

        shown = await say(sandbox, "persona show", persona="Ada")
        assert "Voice: tiny-llama (its own choice); temperature 0.25, top-p 0.5, max tokens 64" in shown
        assert "1 persona(s) here speak with their own" in await say(sandbox, "about")

        reset = await say(sandbox, "persona model", persona="Ada", reset=True)
        assert "default (fake-model)" in reset and await stored(bot, persona_id) is None


async def test_a_persona_with_its_own_server_is_answered_there_and_another_stays_on_the_bots(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer
) -> None:
    async with FakeModelServer() as own_server:
        own_server.script(reply("From my own server."))
        model_server.script(reply("From the bot's server."))
        async with bot_on(
            sandbox, database_file, model_server, allow_private_model_servers=True, memory_encryption_key=KEY
        ) as bot:
            ada = await persona_in(bot, sandbox, "Ada")
            await persona_in(bot, sandbox, "Grace", channel_id=sandbox.personas.id)
            refused = await say(sandbox, "persona model", persona="Ada", server=own_server.base_url)
            assert "do not let personas use another model server" in refused and await stored(bot, ada) is None
            allowed = await say(sandbox, "admin models", own_servers=True)
            assert "Owners may point a persona at another model server" in allowed
            saved = await say(
                sandbox, "persona model", persona="Ada", server=own_server.base_url, api_key="sk-own-key", model="own-m"
            )
            assert "API key:** set" in saved and "sk-own-key" not in saved
            row = await stored(bot, ada)
            assert row is not None and row.api_key_encrypted and "sk-own-key" not in row.api_key_encrypted

            await sandbox.send(sandbox.general, "Ada, where are you from?")
            answer = await answer_from(bot, sandbox, "Ada")
            assert answer.content == "From my own server."
            assert own_server.requests[-1]["model"] == "own-m"
            assert own_server.headers[-1].get("Authorization") == "Bearer sk-own-key"
            before = len(own_server.requests)

            await sandbox.send(sandbox.personas, "Grace, where are you from?")
            other = await answer_from(bot, sandbox, "Grace", channel=sandbox.personas)
            assert other.content == "From the bot's server."
            assert model_server.requests[-1]["model"] == "fake-model" and len(own_server.requests) == before
            assert len(bot.model_servers) == 1


async def test_a_private_address_is_refused_while_the_operator_does_not_allow_it(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer
) -> None:
    async with bot_on(sandbox, database_file, model_server, memory_encryption_key=KEY) as bot:
        ada = await persona_in(bot, sandbox)
        await say(sandbox, "admin models", own_servers=True)
        for address in (model_server.base_url, "http://localhost:1/v1", "http://169.254.169.254/latest", "ftp://x/v1"):
            refused = await say(sandbox, "persona model", persona="Ada", server=address, temperature=0.1)
            assert "private, loopback or link-local" in refused or "http:// or https://" in refused
        assert await stored(bot, ada) is None  # nothing changed, not even the temperature given with it


async def test_a_persona_server_is_asked_like_the_bots_and_its_redirect_is_not_followed(
    sandbox: Sandbox, database_file: Path, model_server: FakeModelServer
) -> None:
    """LLM_MAX_STOP_SEQUENCES holds for a persona's server too; a 307 from it (towards 169.254.169.254, here a third
    fake server standing for it) is not followed: that server is never asked and the persona does not answer."""
    async with FakeModelServer() as own_server, FakeModelServer() as metadata:
        own_server.script(reply("From my own server."), redirect(f"{metadata.base_url}/chat/completions"))
        metadata.script(reply("From the metadata service."))
        async with bot_on(
            sandbox,
            database_file,
            model_server,
            allow_private_model_servers=True,
            memory_encryption_key=KEY,
            llm_max_stop_sequences=1,
        ) as bot:
            await persona_in(bot, sandbox, "Ada")
            await say(sandbox, "admin models", own_servers=True)
            await say(sandbox, "persona model", persona="Ada", server=own_server.base_url)
            await sandbox.send(sandbox.general, "Ada, where are you from?")
            first = await answer_from(bot, sandbox, "Ada")
            assert first.content == "From my own server."
            assert len(own_server.requests[-1].get("stop") or []) <= 1

            await sandbox.send(sandbox.general, "Ada, and now?")
            await eventually(lambda: len(own_server.requests) == 2, "the redirecting answer")
            await asyncio.sleep(1.0)
            assert metadata.requests == []
            assert not [m for m in sandbox.state.messages.values() if "metadata" in (m.content or "")]
