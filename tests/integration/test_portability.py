"""Export and import on SQLite and PostgreSQL: native round trip, character cards, and refusals that save nothing."""

from __future__ import annotations

import base64
import copy
import dataclasses
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from bot.core import cards
from bot.core.errors import DomainError, PermissionDenied
from bot.db import models
from bot.db.engine import Database
from bot.services import personas, portability
from bot.services.personas import Actor, PersonaInput, PersonaRecord
from tests.integration.test_persona_services import full_input

GUILD = 111_111_111_111_111_111
OTHER_GUILD = 222_222_222_222_222_222
OWNER = Actor(user_id=900_000_000_000_000_001, guild_id=GUILD)
STRANGER = Actor(user_id=900_000_000_000_000_002, guild_id=GUILD)
NEW_HOME = Actor(user_id=900_000_000_000_000_009, guild_id=OTHER_GUILD)
USER = 700_000_000_000_000_001
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=3)
COUNTED = (
    models.Persona,
    models.MemoryConfig,
    models.EmotionalState,
    models.Memory,
    models.TimelineEvent,
    models.EmotionalEvent,
)


async def import_file(
    session: Any, actor: Actor, data: bytes, filename: str | None = None, *, now: datetime, max_per_user: int = 10
) -> PersonaRecord:
    """What /persona import does with an upload: read and check it (:func:`portability.read_upload`, off the event
    loop), then write it (:func:`portability.import_upload`)."""
    return (await import_card(session, actor, data, filename, now=now, max_per_user=max_per_user)).record


async def import_card(
    session: Any, actor: Actor, data: bytes, filename: str | None = None, *, now: datetime, max_per_user: int = 10
) -> portability.Imported:
    """:func:`import_file`, with what the import did (a new persona or an update, and the fields changed)."""
    upload = await portability.read_upload(data, filename, now=now)
    return await portability.import_upload(session, actor, upload, now=now, max_per_user=max_per_user)


def native_file(document: dict[str, Any]) -> bytes:
    """A native document as the file an export attaches."""
    return portability.document_to_json(document)


async def _fill_history(session, persona_id: int) -> None:
    """Rows in every table an export carries, with values away from the defaults, plus some it must not carry."""
    state = await session.get(models.EmotionalState, persona_id)
    state.mood_pleasure, state.mood_arousal, state.mood_dominance = 0.4, -0.2, 0.1
    state.as_of = NOW - timedelta(minutes=5)
    session.add_all(
        [
            models.ActiveEmotion(
                persona_id=persona_id,
                emotion_type="joy",
                intensity=55.5,
                duration_minutes=30,
                cause="praise",
                started_at=NOW - timedelta(minutes=3),
            ),
            models.EmotionalEvent(
                persona_id=persona_id,
                trigger="praise",
                emoji="👍",
                emotion_type="joy",
                intensity=40,
                user_id=USER,
                channel_id=42,
                message_id=4242,
                previous_pleasure=0.1,
                new_pleasure=0.4,
                new_arousal=-0.2,
                context="said thanks",
                feedback_verdict="wrong",
                feedback_emotion="trust",
                created_at=NOW - timedelta(minutes=3),
            ),
            models.EmotionalEvent(persona_id=persona_id, trigger="criticism", intensity=20, created_at=NOW),
            models.LearnedResponse(
                persona_id=persona_id, trigger="praise", scale=1.25, override_emotion="trust", feedback_count=2
            ),
            models.Memory(
                persona_id=persona_id,
                content="Likes tea",
                category="facts",
                importance=8,
                strength=0.75,
                stability=2.0,
                tier="warm",
                pinned=True,
                source_user_id=USER,
                source_channel_id=42,
                source_message_id=4243,
                subject_user_id=USER,
                created_at=NOW - timedelta(days=10),
                last_accessed_at=NOW - timedelta(days=1),
                access_count=4,
            ),
            models.Memory(
                persona_id=persona_id,
                content="gAAAAB-ciphertext",
                sensitive=True,
                encrypted=True,
                tier="cold",
                cold_since=NOW - timedelta(days=2),
                created_at=NOW - timedelta(days=20),
                last_accessed_at=NOW - timedelta(days=20),
            ),
            models.CustomBehavior(
                persona_id=persona_id,
                name="greet",
                trigger_kind="keywords",
                trigger_config={"words": ["hello", "hi"]},
                action_kind="reply",
                action_config={"text": "Hello!"},
                enabled=False,
                created_at=NOW - timedelta(days=4),
            ),
            models.PersonRelationship(
                persona_id=persona_id,
                user_id=USER,
                messages_exchanged=12,
                last_spoken_at=NOW - timedelta(hours=2),
                affinity=-0.25,
            ),
            models.TimelineEvent(
                persona_id=persona_id,
                kind="milestone",
                title="First hundred messages",
                description="A milestone.",
                details={"count": 100},
                is_public=True,
                subscribers_only=True,
                created_at=NOW - timedelta(days=1),
            ),
            models.AchievementAward(
                persona_id=persona_id, achievement_key="first-conversation", is_public=False, awarded_at=NOW
            ),
            # Not carried: they belong to other people.
            models.Follow(persona_id=persona_id, user_id=USER, guild_id=GUILD),
            models.Endorsement(persona_id=persona_id, user_id=USER, text="Great"),
        ]
    )
    row = await session.get(models.Persona, persona_id)
    row.interaction_count = 321
    row.is_public = True
    row.follower_count = 1
    await session.flush()


async def _make_full_persona(database: Database, name: str = "Ada") -> PersonaRecord:
    async with database.transaction() as session:
        created = await personas.create(session, OWNER, full_input(name), now=NOW)
        await _fill_history(session, created.id)
    async with database.session() as session:
        return await personas.get(session, created.id)


async def _counts(database: Database) -> dict[str, int]:
    async with database.session() as session:
        return {
            model.__tablename__: (await session.execute(select(func.count()).select_from(model))).scalar_one()
            for model in COUNTED
        }


def _comparable(document: dict[str, Any]) -> dict[str, Any]:
    """A native document without what an import changes by design (the export time, updated_at)."""
    result = copy.deepcopy(document)
    result.pop("exported_at")
    result["persona"].pop("updated_at")
    return result


def _settings(record: PersonaRecord) -> PersonaRecord:
    """A record without what an import sets by design: ids, owner, place, timestamps, the on switch, counters
    that belong to other people."""
    return dataclasses.replace(
        record,
        id=0,
        guild_id=None,
        owner_id=0,
        updated_at=NOW,
        is_active=False,
        follower_count=0,
        verification_status="",
    )


def tiny_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (6, 6), (200, 100, 50)).save(buffer, format="PNG")
    return buffer.getvalue()


FOREIGN_V2 = {
    "spec": "chara_card_v2",
    "spec_version": "2.0",
    "data": {
        "name": "Seraphina",
        "description": "A guardian of the forest.",
        "personality": "kind, protective",
        "scenario": "You wake up in her glade.",
        "first_mes": "*She smiles.* You're awake.",
        "mes_example": "<START>\n{{char}}: Rest now.",
        "creator_notes": "",
        "system_prompt": "Stay gentle.",
        "post_history_instructions": "",
        "alternate_greetings": ["Hello, traveller."],
        "tags": ["fantasy"],
        "creator": "someone",
        "character_version": "1.2",
        "extensions": {"depth_prompt": {"depth": 4, "prompt": "stay in character"}, "fav": True},
    },
}


# --------------------------------------------------------------------------------------------------- native


async def _give_character(database: Database, persona_id: int) -> PersonaRecord:
    """Every character field set (the native format carries them all)."""
    character = PersonaInput(
        personality_text="Patient, exact, playful with numbers.",
        scenario="The Analytical Society's library, late in the evening.",
        example_dialogue="<START>\n{{user}}: Can you check this sum?\n{{char}}: Twice, and then once more.",
        greeting="Ah, a visitor. Do you like puzzles?",
        alternate_greetings=["Good evening!", "Another puzzle?\n\nSplendid."],
        system_prompt="{{original}}\nSpeak as {{char}}.",
        post_history_instructions="Stay curious.",
        creator_notes="Inspired by Ada Lovelace.",
        nickname="Countess",
    )
    async with database.transaction() as session:
        await personas.update(session, OWNER, persona_id, character, now=NOW)
    async with database.session() as session:
        return await personas.get(session, persona_id)


async def test_native_export_delete_import_restores_an_equal_persona(database: Database) -> None:
    original = await _give_character(database, (await _make_full_persona(database)).id)
    async with database.session() as session:
        document = await portability.export_native(session, OWNER, original.id, now=NOW)
    data = portability.document_to_json(document)

    assert document["format"] == "persona-hub" and document["version"] == 1
    assert len(document["memories"]) == 2 and document["memories"][1]["encrypted"] is True
    assert document["memories"][1]["content"] == "gAAAAB-ciphertext"  # stored content, as it is
    assert [e["kind"] for e in document["timeline_events"]] == ["created", "milestone"]
    assert "follows" not in document and "endorsements" not in document
    assert document["persona"]["nickname"] == "Countess" and len(document["persona"]["alternate_greetings"]) == 2

    async with database.transaction() as session:
        await personas.delete_persona(session, OWNER, original.id)
    assert (await _counts(database))["personas"] == 0

    async with database.transaction() as session:
        imported = await import_file(session, OWNER, data, "ada.json", now=LATER)

    assert imported.name == "Ada" and imported.owner_id == OWNER.user_id and imported.guild_id == GUILD
    assert imported.updated_at == LATER and imported.created_at == original.created_at
    assert imported.is_active is False and imported.follower_count == 0
    assert _settings(imported) == _settings(original)

    async with database.session() as session:
        again = await portability.export_native(session, OWNER, imported.id, now=LATER)
        follows = (await session.execute(select(func.count()).select_from(models.Follow))).scalar_one()
    assert _comparable(again) == _comparable(document)
    assert follows == 0


async def test_import_into_another_home_with_a_name_clash(database: Database) -> None:
    original = await _make_full_persona(database)
    async with database.session() as session:
        document = await portability.export_native(session, OWNER, original.id, now=NOW)
    async with database.transaction() as session:
        copy_here = await import_file(session, OWNER, native_file(document), "export.json", now=LATER)
    async with database.transaction() as session:
        second = await import_file(session, OWNER, native_file(document), "export.json", now=LATER)
    async with database.transaction() as session:
        elsewhere = await import_file(session, NEW_HOME, native_file(document), "export.json", now=LATER)

    assert copy_here.name == "Ada (imported)" and second.name == "Ada (imported 2)"
    assert elsewhere.name == "Ada"  # no clash in another person's list
    assert elsewhere.owner_id == NEW_HOME.user_id and elsewhere.guild_id == OTHER_GUILD
    assert elsewhere.traits == original.traits and elsewhere.memory_config == original.memory_config
    async with database.session() as session:
        memories = (
            await session.execute(select(func.count()).where(models.Memory.persona_id == elsewhere.id))
        ).scalar_one()
    assert memories == 2


async def test_only_the_owner_exports(database: Database) -> None:
    original = await _make_full_persona(database)
    async with database.session() as session:
        with pytest.raises(PermissionDenied):
            await portability.export_native(session, STRANGER, original.id, now=NOW)
        with pytest.raises(PermissionDenied):
            await portability.export_card(session, STRANGER, original.id, 2)


async def test_the_persona_limit_applies_to_imports(database: Database) -> None:
    original = await _make_full_persona(database)
    async with database.session() as session:
        document = await portability.export_native(session, OWNER, original.id, now=NOW)
    before = await _counts(database)
    with pytest.raises(DomainError, match="already have 1 personas"):
        async with database.transaction() as session:
            await import_file(session, OWNER, native_file(document), "export.json", now=LATER, max_per_user=1)
    assert await _counts(database) == before


def _broken_documents(document: dict[str, Any]) -> list[tuple[str, Any, str]]:
    def changed(path: list[Any], value: Any) -> dict[str, Any]:
        result = copy.deepcopy(document)
        target = result
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return result

    return [
        ("wrong format", changed(["format"], "something-else"), "not a Persona Hub export"),
        ("wrong version", changed(["version"], 2), "version 2; this bot reads version 1"),
        ("trait of 500", changed(["persona", "traits", "openness"], 500), "Openness must be from 0 to 100"),
        ("unknown section", changed(["follows"], []), "unknown sections: follows"),
        ("bad behaviour", changed(["persona", "behavior", "verbosity"], "endless"), "Verbosity"),
        ("bad memory config", changed(["persona", "memory_config", "decay_rate"], -1), "decay rate cannot be negative"),
        # The last rows are broken: nothing before them may be written.
        ("bad importance", changed(["memories", 1, "importance"], 11), "Memory 2: importance must be from 1 to 10"),
        ("naive time", changed(["memories", 0, "created_at"], "2026-01-01T00:00:00"), "time zone"),
        ("unknown emotion", changed(["active_emotions", 0, "emotion_type"], "glee"), "glee"),
        ("long title", changed(["timeline_events", 1, "title"], "t" * 300), "limit is 256"),
        ("bad affinity", changed(["person_relationships", 0, "affinity"], 3), "affinity must be from -1 to 1"),
        ("bad scale", changed(["learned_responses", 0, "scale"], 9.0), "learned scale"),
        (
            "repeated achievement",
            changed(["achievements", 1], dict(document["achievements"][0])),
            "Achievement 2 repeats",
        ),
        ("NUL in text", changed(["memories", 0, "content"], "a\x00b"), "NUL"),
        ("extra field", changed(["memories", 0, "colour"], "red"), "Memory 1 has unknown fields: colour"),
        ("long scenario", changed(["persona", "scenario"], "s" * 100_001), "The scenario is 100,001 characters"),
        ("101 greetings", changed(["persona", "alternate_greetings"], ["hi"] * 101), "101 alternate greetings"),
        ("long name", changed(["persona", "name"], "n" * 201), "The name is 201 characters long; the limit is 200"),
    ]


async def test_invalid_native_documents_are_refused_and_save_nothing(database: Database) -> None:
    original = await _make_full_persona(database)
    async with database.session() as session:
        document = await portability.export_native(session, OWNER, original.id, now=NOW)
    document["achievements"].append({**document["achievements"][0], "achievement_key": "second"})
    before = await _counts(database)
    for name, broken, message in _broken_documents(document):
        with pytest.raises(DomainError, match=message):
            async with database.transaction() as session:
                await import_file(session, STRANGER, native_file(broken), "export.json", now=LATER)
        assert await _counts(database) == before, name


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b'{"format": "persona-hub", "version": 1,', "ada.json", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "ada.json", "not UTF-8"),
        (b'{"spec": "chara_card_v2", "data": {"name": "A", "x": NaN}}', "a.json", "NaN"),
        (b" " * (10 * 1024 * 1024 + 1), "big.json", "over the limit of 10 MB"),
        (
            b'{"spec": "chara_card_v2", "data": {"name": "A", "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}}',
            "c.json",
            "JSON card is .* over the limit of 2 MB",
        ),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * (8 * 1024 * 1024), "big.png", "PNG card is .* over the limit of 8 MB"),
        (b"[]", "list.json", "must be a JSON object"),
        (b'{"spec": "chara_card_v2", "data": {"name": "Discord bot"}}', "bad-name.json", "cannot contain 'discord'"),
    ],
)
async def test_invalid_files_are_refused_clearly(database: Database, data: bytes, filename: str, message: str) -> None:
    with pytest.raises(DomainError, match=message):
        async with database.transaction() as session:
            await import_file(session, OWNER, data, filename, now=NOW)
    assert (await _counts(database))["personas"] == 0


def _card_json(extra: bytes) -> bytes:
    return b'{"spec": "chara_card_v2", "data": {"name": "A", "extensions": {"x": ' + extra + b"}}}"


@pytest.mark.parametrize(
    ("make", "filename", "message"),
    [
        # Nested past the parser's recursion limit: json.loads raised RecursionError (not a DomainError).
        (lambda: _card_json(b"[" * 100_000 + b"]" * 100_000), "png", "nested too deeply"),
        # Nested less deeply than that, but deeper than any card: refused before it is kept.
        (lambda: _card_json(b"[" * 500 + b"]" * 500), "png", "nested too deeply"),
        # More digits than int() converts: json.loads raised a plain ValueError.
        (lambda: _card_json(b"1" * 5000), "json", "number too long"),
        (lambda: _card_json(b"1" * 5000), "png", "number too long"),
        # A float literal that overflows to infinity, which PostgreSQL's JSON cannot keep.
        (lambda: _card_json(b"1e999"), "json", "number too large"),
    ],
)
async def test_malformed_json_inside_cards_is_refused_clearly(
    database: Database, make: Any, filename: str, message: str
) -> None:
    text = make()
    data = (
        cards.png_with_text_chunk(tiny_png(), "chara", base64.b64encode(text).decode()) if filename == "png" else text
    )
    with pytest.raises(DomainError, match=message):
        async with database.transaction() as session:
            await import_file(session, OWNER, data, f"card.{filename}", now=NOW)
    assert (await _counts(database))["personas"] == 0


# --------------------------------------------------------------------------------------------------- cards


async def test_a_v2_png_card_imports_with_the_mapped_fields(database: Database) -> None:
    text = base64.b64encode(json.dumps(FOREIGN_V2).encode("utf-8")).decode("ascii")
    png = cards.png_with_text_chunk(tiny_png(), "chara", text)
    async with database.transaction() as session:
        record = await import_file(session, OWNER, png, "seraphina.png", now=NOW)

    assert record.name == "Seraphina" and record.owner_id == OWNER.user_id and record.guild_id == GUILD
    assert record.description == "A guardian of the forest."  # the card's own, not merged
    async with database.session() as session:
        row = await session.get(models.Persona, record.id)
        avatar = await session.get(models.PersonaAvatar, record.id)
    assert row is not None and avatar is not None
    assert (row.personality_text, row.scenario, row.greeting) == (
        "kind, protective",
        "You wake up in her glade.",
        "*She smiles.* You're awake.",
    )
    assert (row.system_prompt, row.alternate_greetings) == ("Stay gentle.", ["Hello, traveller."])
    assert row.example_dialogue == "<START>\n{{char}}: Rest now."
    assert record.legacy_settings["card"] == {"tags": ["fantasy"], "creator": "someone", "character_version": "1.2"}
    assert record.legacy_settings["card_extensions"] == FOREIGN_V2["data"]["extensions"]
    assert avatar.data == tiny_png() and avatar.content_type == "image/png"  # the picture, without its card
    assert record.traits["openness"] == 50.0
    async with database.session() as session:
        state = await session.get(models.EmotionalState, record.id)
        kinds = (await session.execute(select(models.TimelineEvent.kind))).scalars().all()
    assert state is not None and kinds == ["created"]


async def test_a_v3_json_card_imports(database: Database) -> None:
    card = {
        "spec": "chara_card_v3",
        "spec_version": "3.0",
        "data": {
            **FOREIGN_V2["data"],
            "name": "Nova",
            "nickname": "No",
            "group_only_greetings": ["Hi everyone."],
            "source": ["https://example.org/nova"],
            "creation_date": 1_700_000_000,
            "assets": [{"type": "icon", "uri": "https://example.org/nova.png", "name": "main", "ext": "png"}],
        },
    }
    async with database.transaction() as session:
        record = await import_file(session, OWNER, json.dumps(card).encode(), "nova.json", now=NOW)
    assert record.name == "Nova" and record.avatar_url == "https://example.org/nova.png"
    async with database.session() as session:
        row = await session.get(models.Persona, record.id)
    assert row is not None and row.nickname == "No"
    assert record.legacy_settings["card"]["group_only_greetings"] == ["Hi everyone."]

    async with database.session() as session:
        exported = json.loads(await portability.export_card(session, OWNER, record.id, 3))
    assert exported["spec"] == "chara_card_v3"
    for key in ("name", "description", "personality", "scenario", "first_mes", "nickname", "source", "assets"):
        assert exported["data"][key] == card["data"][key], key


async def test_unknown_extensions_survive_import_then_export(database: Database) -> None:
    async with database.transaction() as session:
        record = await import_file(session, OWNER, json.dumps(FOREIGN_V2).encode(), "s.json", now=NOW)
    async with database.session() as session:
        png = await portability.export_card(session, OWNER, record.id, 2, as_png=True, avatar_png=tiny_png())
    Image.open(io.BytesIO(png)).load()  # still a picture
    exported = cards.card_from_png(png)
    extensions = exported["data"]["extensions"]
    assert extensions["depth_prompt"] == {"depth": 4, "prompt": "stay in character"} and extensions["fav"] is True
    for key, value in FOREIGN_V2["data"].items():
        if key != "extensions":
            assert exported["data"][key] == value, key


async def test_our_extension_round_trips_exactly_through_a_card(database: Database) -> None:
    original = await _make_full_persona(database)
    async with database.session() as session:
        png = await portability.export_card(session, OWNER, original.id, 3, as_png=True)
    async with database.transaction() as session:
        await personas.delete_persona(session, OWNER, original.id)
    async with database.transaction() as session:
        restored = await import_file(session, OWNER, png, "ada.png", now=LATER)
    # A card carries settings, not history: the persona is new (created now, no counters).
    assert dataclasses.replace(_settings(restored), created_at=NOW, interaction_count=321, is_public=True) == _settings(
        original
    )


@pytest.mark.parametrize("problem", ["crc", "no card", "trait 500"])
async def test_broken_png_cards_are_refused_and_save_nothing(database: Database, problem: str) -> None:
    card = cards.persona_to_card(
        {
            "name": "Ada",
            "traits": {
                "openness": 50,
                "conscientiousness": 50,
                "extraversion": 50,
                "agreeableness": 50,
                "neuroticism": 50,
            },
        },
        2,
    )
    if problem == "trait 500":
        card["data"]["extensions"]["persona_hub"]["traits"]["openness"] = 500
    png = cards.png_with_text_chunk(tiny_png(), "chara", cards.encode_card_text(card))
    if problem == "crc":
        broken = bytearray(png)
        broken[png.index(b"tEXtchara") + 20] ^= 0x01
        png = bytes(broken)
    elif problem == "no card":
        png = tiny_png()
    message = {"crc": "CRC", "no card": "no character card", "trait 500": "Openness must be from 0 to 100"}[problem]
    with pytest.raises(DomainError, match=message):
        async with database.transaction() as session:
            await import_file(session, OWNER, png, "ada.png", now=NOW)
    assert await _counts(database) == dict.fromkeys((m.__tablename__ for m in COUNTED), 0)
