"""REST objects in Discord's documented shapes: snowflakes and permission sets as strings, messages without the
gateway's extra fields, webhook authors as user objects, components echoed in Discord's normalised form, the
guild and application objects with the fields Discord sends and no others."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.sandbox import Sandbox
from tests.e2e.conformance.shapes_support import (
    MESSAGE_FIELDS,
    MESSAGE_REQUIRED,
    USER_FIELDS,
    Rest,
    non_string_ids,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
async def rest(sandbox: Sandbox) -> AsyncIterator[Rest]:
    async with aiohttp.ClientSession() as http:
        yield Rest(sandbox, http)


async def post(rest: Rest, channel_id: int, body: dict[str, Any]) -> dict[str, Any]:
    status, data = await rest("POST", f"/channels/{channel_id}/messages", body)
    assert status == 200, data
    return data


# ------------------------------------------------------------------------------------------ snowflakes


async def test_snowflakes_and_permission_sets_are_strings_everywhere(sandbox: Sandbox, rest: Rest) -> None:
    """developers/reference.mdx, "Snowflakes": "they are always returned as strings in the HTTP API"; permission
    sets are strings too (developers/topics/permissions.mdx)."""
    g, ch = sandbox.guild.id, sandbox.general.id
    sandbox.set_permissions(sandbox.general, sandbox.bob, allow=1 << 11, deny=1 << 6)
    await sandbox.send(sandbox.general, f"hi <@{sandbox.bob.id}>")
    button = {"type": 2, "style": 1, "custom_id": "b", "emoji": {"name": "lul", "id": 41771983429993937}}
    await post(rest, ch, {"content": "custom emoji", "components": [{"type": 1, "components": [button]}]})
    await rest("POST", f"/channels/{ch}/webhooks", {"name": "relay"})
    sandbox.grant(sandbox.add_sku("Patron"), user=sandbox.alice)
    thread = await sandbox.create_thread(sandbox.general, "scene")
    app = f"/applications/{sandbox.bot_user.id}"
    docs = {
        "guild": await rest("GET", f"/guilds/{g}", with_counts="true"),
        "channels": await rest("GET", f"/guilds/{g}/channels"),
        "channel": await rest("GET", f"/channels/{ch}"),
        "roles": await rest("GET", f"/guilds/{g}/roles"),
        "members": await rest("GET", f"/guilds/{g}/members", limit="10"),
        "messages": await rest("GET", f"/channels/{ch}/messages"),
        "webhooks": await rest("GET", f"/channels/{ch}/webhooks"),
        "application": await rest("GET", "/applications/@me"),
        "my guilds": await rest("GET", "/users/@me/guilds"),
        "me": await rest("GET", "/users/@me"),
        "thread": await rest("GET", f"/channels/{thread.id}"),
        "active threads": await rest("GET", f"/guilds/{g}/threads/active"),
        "skus": await rest("GET", app + "/skus"),
        "entitlements": await rest("GET", app + "/entitlements"),
    }
    for name, (status, doc) in docs.items():
        assert status == 200, (name, doc)
        assert non_string_ids(doc) == [], name
    overwrite = next(o for o in docs["channel"][1]["permission_overwrites"] if o["id"] == str(sandbox.bob.id))
    assert (overwrite["allow"], overwrite["deny"]) == (str(1 << 11), str(1 << 6))


# ------------------------------------------------------------------------------------------ messages


async def test_a_rest_message_has_the_documented_fields_and_no_gateway_extras(sandbox: Sandbox, rest: Rest) -> None:
    """developers/resources/message.mdx: ``guild_id`` and ``member`` are MESSAGE_CREATE/UPDATE's extra fields
    (developers/events/gateway-events.mdx), not the message object's."""
    sent = await post(rest, sandbox.general.id, {"content": "hello"})
    status, fetched = await rest("GET", f"/channels/{sandbox.general.id}/messages/{sent['id']}")
    assert status == 200
    for data in (sent, fetched):
        assert MESSAGE_REQUIRED <= set(data) <= MESSAGE_FIELDS, set(data) ^ MESSAGE_FIELDS
        assert "guild_id" not in data and "member" not in data and "channel_type" not in data
        assert set(data["author"]) <= USER_FIELDS


async def test_a_webhook_message_author_is_a_user_object_with_the_webhook_id(sandbox: Sandbox, rest: Rest) -> None:
    """message.mdx note [1]: for a webhook "the author object corresponds to the webhook's id, username, and
    avatar" (a hash, as every avatar), no ``avatar_url``."""
    _, hook = await rest("POST", f"/channels/{sandbox.general.id}/webhooks", {"name": "relay"})
    url = sandbox.server.api_url + f"/webhooks/{hook['id']}/{hook['token']}"
    body = {"content": "in character", "username": "Merlin", "avatar_url": "https://example.org/merlin.png"}
    async with rest.http.post(url, json=body, params={"wait": "true"}) as r:
        sent = await r.json()
    author = sent["author"]
    assert set(author) <= USER_FIELDS and "avatar_url" not in author
    assert (author["id"], author["username"], sent["webhook_id"]) == (hook["id"], "Merlin", hook["id"])
    assert isinstance(author["avatar"], str) and len(author["avatar"]) == 32
    int(author["avatar"], 16)
    async with rest.http.post(url, json={"content": "plain"}, params={"wait": "true"}) as r:
        plain = await r.json()
    assert (plain["author"]["username"], plain["author"]["avatar"]) == ("relay", None)


# ------------------------------------------------------------------------------------------ components


async def test_legacy_components_get_sequential_ids_and_normalised_emoji(sandbox: Sandbox, rest: Rest) -> None:
    """components/reference.mdx, "Anatomy of a Component": the ``id`` "is generated sequentially if left empty"
    and "won't use another id that exists in the message"; ``0`` counts as empty. Button emoji are partial emoji
    (``name`` for unicode; ``id``, ``name``, ``animated`` for custom ones); a select's ``required`` "is ignored
    in messages"."""
    components = [
        {
            "type": 1,
            "components": [
                {"type": 2, "style": 1, "label": "A", "custom_id": "a", "emoji": {"name": "🔥", "id": None}},
                {"type": 2, "style": 2, "label": "B", "custom_id": "b", "id": 2},
                {"type": 2, "style": 2, "custom_id": "c", "emoji": {"name": "lul", "id": 41771983429993937}},
            ],
        },
        {
            "type": 1,
            "id": 0,
            "components": [
                {
                    "type": 3,
                    "custom_id": "pick",
                    "required": True,
                    "options": [{"label": "x", "value": "x", "emoji": {"name": "🎭", "id": None}}],
                }
            ],
        },
    ]
    data = await post(rest, sandbox.general.id, {"content": "choose", "components": components})
    row1, row2 = data["components"]
    a, b, c = row1["components"]
    select = row2["components"][0]
    assert [row1["id"], a["id"], b["id"], c["id"], row2["id"], select["id"]] == [1, 3, 2, 4, 5, 6]
    assert a["emoji"] == {"name": "🔥"}
    assert c["emoji"] == {"id": "41771983429993937", "name": "lul", "animated": False}
    assert select["options"][0]["emoji"] == {"name": "🎭"}
    assert "required" not in select
    assert non_string_ids(data) == []


async def test_components_v2_ids_cover_the_nested_tree(sandbox: Sandbox, rest: Rest) -> None:
    """Nested V2 trees (container, section with its accessory, media gallery) are numbered parents first."""
    components = [
        {
            "type": 17,
            "components": [
                {
                    "type": 9,
                    "components": [{"type": 10, "content": "# Title"}],
                    "accessory": {"type": 2, "style": 1, "custom_id": "go", "label": "Go"},
                },
                {"type": 14},
                {"type": 12, "items": [{"media": {"url": "https://example.org/a.png"}}]},
            ],
        },
        {"type": 10, "content": "after", "id": 9},
    ]
    data = await post(rest, sandbox.general.id, {"flags": 1 << 15, "components": components})
    container, after = data["components"]
    section, separator, gallery = container["components"]
    ids = [container["id"], section["id"], section["components"][0]["id"], section["accessory"]["id"]]
    assert [*ids, separator["id"], gallery["id"], after["id"]] == [1, 2, 3, 4, 5, 6, 9]
    assert "id" not in gallery["items"][0]  # gallery items are not components
    assert gallery["items"][0]["media"] == {"url": "https://example.org/a.png"}


# ------------------------------------------------------------------------------------------ guild and application


GUILD_FIELDS = {
    *("id", "name", "icon", "icon_hash", "splash", "discovery_splash", "owner", "owner_id", "permissions", "region"),
    *("afk_channel_id", "afk_timeout", "widget_enabled", "widget_channel_id", "verification_level"),
    *("default_message_notifications", "explicit_content_filter", "roles", "emojis", "features", "mfa_level"),
    *("application_id", "system_channel_id", "system_channel_flags", "rules_channel_id", "max_presences"),
    *("max_members", "vanity_url_code", "description", "banner", "premium_tier", "premium_subscription_count"),
    *("preferred_locale", "public_updates_channel_id", "max_video_channel_users", "max_stage_video_channel_users"),
    *("approximate_member_count", "approximate_presence_count", "welcome_screen", "nsfw_level", "stickers"),
    *("premium_progress_bar_enabled", "safety_alerts_channel_id", "incidents_data"),
}
GUILD_REQUIRED = {f for f in GUILD_FIELDS if f not in {"icon_hash", "owner", "permissions", "region", "widget_enabled"}}
GUILD_REQUIRED -= {"widget_channel_id", "max_presences", "max_members", "premium_subscription_count", "stickers"}
GUILD_REQUIRED -= {"max_video_channel_users", "max_stage_video_channel_users", "welcome_screen"}
GUILD_REQUIRED -= {"approximate_member_count", "approximate_presence_count"}


@pytest.mark.parametrize("with_counts", [True, False])
async def test_get_guild_has_the_guild_fields_and_counts_only_when_asked(
    sandbox: Sandbox, rest: Rest, with_counts: bool
) -> None:
    """guild.mdx, "Guild Structure"; ``approximate_*_count`` are "returned from the GET /guilds/<id> endpoint
    when with_counts is true"; ``owner``/``permissions`` only in GET /users/@me/guilds."""
    query = {"with_counts": "true"} if with_counts else {}
    status, data = await rest("GET", f"/guilds/{sandbox.guild.id}", **query)
    assert status == 200
    assert GUILD_REQUIRED <= set(data) <= GUILD_FIELDS, set(data) ^ GUILD_REQUIRED
    assert "owner" not in data and "permissions" not in data
    counts = {"approximate_member_count", "approximate_presence_count"}
    assert (counts <= set(data)) is with_counts and (counts & set(data) == set()) is not with_counts
    if with_counts:
        assert data["approximate_member_count"] == len(sandbox.guild.members)


async def test_my_guilds_are_partial_guilds(sandbox: Sandbox, rest: Rest) -> None:
    """user.mdx, "Example Partial Guild"."""
    status, data = await rest("GET", "/users/@me/guilds")
    assert status == 200
    assert [g["id"] for g in data] == [str(sandbox.guild.id)]
    assert set(data[0]) == {"id", "name", "icon", "banner", "owner", "permissions", "features"}
    assert data[0]["owner"] is False and isinstance(data[0]["permissions"], str)


APPLICATION_FIELDS = {
    *("id", "name", "icon", "description", "rpc_origins", "bot_public", "bot_require_code_grant", "bot"),
    *("terms_of_service_url", "privacy_policy_url", "owner", "verify_key", "team", "guild_id", "guild"),
    *("primary_sku_id", "slug", "cover_image", "flags", "flags_new", "approximate_guild_count"),
    *("approximate_user_install_count", "approximate_user_authorization_count", "redirect_uris"),
    *("interactions_endpoint_url", "role_connections_verification_url", "event_webhooks_url"),
    *("event_webhooks_status", "event_webhooks_types", "tags", "install_params", "integration_types_config"),
    "custom_install_url",
}
APPLICATION_REQUIRED = {"id", "name", "icon", "description", "bot_public", "bot_require_code_grant", "verify_key"}


@pytest.mark.parametrize("path", ["/applications/@me", "/oauth2/applications/@me"])
async def test_the_application_object_has_the_documented_fields(sandbox: Sandbox, rest: Rest, path: str) -> None:
    """application.mdx, "Application Structure" and its example (``integration_types_config`` entries hold
    ``oauth2_install_params``; no null ``guild_id``, no removed ``summary``)."""
    status, data = await rest("GET", path)
    assert status == 200
    assert APPLICATION_REQUIRED | {"team"} <= set(data) <= APPLICATION_FIELDS, set(data) - APPLICATION_FIELDS
    assert data["id"] == str(sandbox.bot_user.id) and data["bot"]["id"] == data["id"]
    assert data["flags_new"] == str(data["flags"])
    guild_install = data["integration_types_config"]["0"]["oauth2_install_params"]
    assert "bot" in guild_install["scopes"] and isinstance(guild_install["permissions"], str)
    assert set(data["owner"]) <= USER_FIELDS
