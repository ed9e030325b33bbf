"""Public profiles, endorsements, verification and subscriptions end to end: the real bot against the sandbox.

Publish asks for confirmation and records consent; another member sees the profile (per privacy), endorses it, an
admin verifies it; unpublish hides it. A tier sold through a sandbox SKU shows Discord's premium button, and the
sandbox's entitlement events start and end the subscription.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select

from bot.clock import utcnow
from bot.db import models
from bot.sandbox import Sandbox
from bot.sandbox.harness import walk_components
from bot.services import personas, profiles, subscriptions, timeline
from bot.services.personas import Actor, PersonaInput
from tests.e2e.test_persona_wizard import answer, click
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e


async def make_persona(bot: Any, sandbox: Sandbox, name: str, **visibility: str) -> int:
    async with bot.db.transaction() as session:
        record = await personas.create(
            session,
            Actor(user_id=sandbox.alice.id, guild_id=sandbox.guild.id),
            PersonaInput(name=name, description=f"{name}'s story", privacy={"visibility": visibility}),
            now=utcnow(),
        )
    return record.id


def field_names(message: Any) -> set[str]:
    return {f["name"] for f in message.embeds[0].get("fields", [])}


async def test_publish_profile_endorse_verify_unpublish(sandbox: Sandbox, running_bot: Any) -> None:
    bot = running_bot
    ada = await make_persona(bot, sandbox, "Ada", profile="owner", timeline="owner")

    # Bob cannot see a persona that is not published.
    hidden = await answer(await sandbox.slash("profile", persona=str(ada), as_user=sandbox.bob))
    assert hidden.ephemeral and "found no persona" in hidden.content

    asked = await answer(await sandbox.slash("persona publish", persona="Ada", display_name="Ada Lovelace"))
    assert asked.ephemeral and asked.embeds[0]["title"] == "Publish Ada?"
    scope = asked.embeds[0]["fields"][0]["value"]
    assert "Public timeline events**: only you" in scope and "members of this server" in scope
    async with bot.db.session() as session:  # nothing happens before the owner confirms
        assert (await session.get(models.Persona, ada)).is_public is False
    done = await click(sandbox, asked, "Publish")
    assert done.embeds[0]["title"] == "Ada is published" and not done.buttons()
    async with bot.db.session() as session:
        [record] = await profiles.publication_history(session, ada)
    assert record.granted and record.scope == "publish" and record.recorded_by == sandbox.alice.id

    seen = await answer(await sandbox.slash("profile", persona="Ada", as_user=sandbox.bob))
    assert seen.embeds[0]["title"] == "Ada Lovelace" and seen.embeds[0]["description"] == "Ada's story"
    assert "Timeline" not in field_names(seen)  # the owner keeps the timeline to herself
    own = await answer(await sandbox.slash("profile", persona="Ada"))
    assert "Timeline" in field_names(own)

    endorsed = await answer(await sandbox.slash("endorse", persona="Ada", text="Brilliant", as_user=sandbox.bob))
    assert "You endorse **Ada**" in endorsed.content
    again = await answer(await sandbox.slash("endorse", persona="Ada", text="Still brilliant", as_user=sandbox.bob))
    assert "updated" in again.content
    # Without a status it says the status as it is and changes nothing.
    shown = await answer(await sandbox.slash("admin verify", persona="Ada"))
    assert "**Ada** is Not verified" in shown.content and "give a status" in shown.content
    seen = await answer(await sandbox.slash("profile", persona="Ada", as_user=sandbox.bob))
    assert {f["name"]: f["value"] for f in seen.embeds[0]["fields"]}.get("Verification") != "✅ Verified"
    verified = await answer(await sandbox.slash("admin verify", persona="Ada", status="verified"))
    assert "Verified" in verified.content and "was Not verified" in verified.content
    seen = await answer(await sandbox.slash("profile", persona="Ada", as_user=sandbox.bob))
    fields = {f["name"]: f["value"] for f in seen.embeds[0]["fields"]}
    assert fields["Verification"] == "✅ Verified"
    assert fields["Endorsements (1)"] == f"<@{sandbox.bob.id}>: “Still brilliant”"

    gone = await answer(await sandbox.slash("persona unpublish", persona="Ada"))
    assert "no longer public" in gone.content
    hidden = await answer(await sandbox.slash("profile", persona=str(ada), as_user=sandbox.bob))
    assert not hidden.embeds and "found no persona" in hidden.content  # owner-only again, as before publishing
    async with bot.db.session() as session:
        latest = (await profiles.publication_history(session, ada))[0]
    assert latest.granted is False and latest.recorded_by == sandbox.alice.id


async def test_a_sku_tier_sells_through_discord_and_entitlements_drive_it(sandbox: Sandbox, running_bot: Any) -> None:
    bot = running_bot
    sku = sandbox.add_sku("Ada Gold")
    ada = await make_persona(bot, sandbox, "Ada")
    async with bot.db.transaction() as session:
        await profiles.publish(
            session, Actor(sandbox.alice.id, sandbox.guild.id), ada, profiles.PublishSettings(), now=utcnow()
        )

    offered = await sandbox.autocomplete("tiers add", "sku", "gold", options={"persona": str(ada), "name": "Gold"})
    assert offered == [{"name": "Ada Gold", "value": str(sku.id)}]
    added = await answer(
        await sandbox.slash("tiers add", persona="Ada", name="Gold", priority_replies=True, sku=str(sku.id))
    )
    assert "sold through Discord" in added.content

    offer = await answer(await sandbox.slash("subscribe", persona="Ada", tier="Gold", as_user=sandbox.bob))
    [button] = [c for c in walk_components(offer.components) if c.get("type") == 2]
    assert button["style"] == 6 and int(button["sku_id"]) == sku.id  # Discord's premium purchase button

    async def subscription_status() -> str | None:
        async with bot.db.session() as session:
            row = (
                await session.execute(select(models.Subscription).where(models.Subscription.user_id == sandbox.bob.id))
            ).scalar_one_or_none()
        return row.status if row is not None else None

    entitlement = sandbox.grant(sku, user=sandbox.bob)
    await eventually(lambda: _is(subscription_status, "active"), "the subscription to start", timeout=5)
    mine = await answer(await sandbox.slash("subscriptions", as_user=sandbox.bob))
    assert "Current (1)" in {f["name"] for f in mine.embeds[0]["fields"]}
    again = await answer(await sandbox.slash("subscribe", persona="Ada", tier="Gold", as_user=sandbox.bob))
    assert again.embeds[0]["title"] == "Already subscribed" and not again.buttons()

    sandbox.delete_entitlement(entitlement)
    await eventually(lambda: _is(subscription_status, "ended"), "the subscription to end", timeout=5)


async def _is(read: Callable[[], Awaitable[str | None]], expected: str) -> bool:
    return await read() == expected


def embed_text_size(embed: dict[str, Any]) -> int:
    """The characters Discord counts toward its 6,000 per message (titles, descriptions, fields, footer, author)."""
    size = len(embed.get("title") or "") + len(embed.get("description") or "")
    size += len((embed.get("footer") or {}).get("text") or "") + len((embed.get("author") or {}).get("name") or "")
    return size + sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))


async def test_a_long_timeline_fits_in_one_message_and_says_what_it_left_out(
    sandbox: Sandbox, running_bot: Any
) -> None:
    """Ten events of 1,000 characters each are more than an embed may hold: the answer still comes (the sandbox
    refuses what Discord refuses), with the events that fit and a word on the rest."""
    bot = running_bot
    ada = await make_persona(bot, sandbox, "Ada")
    async with bot.db.transaction() as session:
        for index in range(10):
            await timeline.record(session, ada, "post", f"Post {index}", "x" * 1000, now=utcnow())
    shown = await answer(await sandbox.slash("timeline", persona="Ada"))
    [embed] = shown.embeds
    assert 0 < len(embed["fields"]) < 10 and embed_text_size(embed) <= 6000
    left_out = 10 - len(embed["fields"])
    assert embed["footer"]["text"] == f"{left_out} more events did not fit in this message."


async def test_ten_long_tiers_fit_in_one_message(sandbox: Sandbox, running_bot: Any) -> None:
    """Ten tiers of 1,000-character descriptions (the most a persona may have) are more than an embed may hold."""
    bot = running_bot
    ada = await make_persona(bot, sandbox, "Ada")
    async with bot.db.transaction() as session:
        for index in range(10):
            await subscriptions.create_tier(
                session,
                Actor(sandbox.alice.id, sandbox.guild.id),
                ada,
                name=f"Tier {index}",
                description="d" * 1000,
                now=utcnow(),
            )
    shown = await answer(await sandbox.slash("tiers list", persona="Ada"))
    [embed] = shown.embeds
    assert 0 < len(embed["fields"]) < 10 and embed_text_size(embed) <= 6000
    assert embed["footer"]["text"].startswith(f"{10 - len(embed['fields'])} more tiers did not fit")
