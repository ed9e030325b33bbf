"""Where the schema names a person: the one register that ``/privacy forget-me`` and ``export-my-data`` walk.

Every table of :mod:`bot.db.models` has an entry in :data:`TABLES`, and every column of it that could hold a Discord
user id (a ``BigInteger`` that is neither the table's own row id nor a foreign key) or a person's words (text or
JSON) says what it is:

- :class:`PersonId`: the column holds a person's Discord id. Forget-me deletes the row (``Forget.DELETE``), blanks
  the column (``Forget.ANONYMISE``: the row is the persona's history, not the person's), or deletes the row this
  one hangs off (``Forget.DELETE_REFERENCED``, through the foreign key ``via``; for a link such as "this memory
  names that person"). The export lists the rows under ``section``.
- :class:`PersonDocument`: a JSON document that may name people inside, by id under ``keys`` (at any depth).
  Forget-me removes the list items that name the person (their words beside the id go with them) and blanks the
  keys elsewhere; or, with ``whole_row``, deletes the row. The export lists what names them under ``section``.
- :class:`Beside`: text or ids that are about the person named by the given :class:`PersonId` columns of the same
  row (a memory's content, an endorsement's text); they go when those columns take the row away.
- :data:`OF_PERSONA`: the persona's own settings and history, written by its owner or by the bot about the
  persona; they go with the persona (forget-me deletes the personas a person owns, and everything of theirs).
- :class:`NotPersonal`: neither a person's id nor their words, with the reason.

A table's :class:`Scope` says which server a row belongs to, because forget-me is per server: run in a server it
erases that server's rows; run in DMs, the rows of personal personas (made in DMs) and those made in DMs.

``tests/unit/test_people_register.py`` fails when a table or such a column is missing here (or a person column has
no index), so a table added later must be classified before it ships. A new column that names a person: add it to
its table's entry, and both forget-me and the export cover it (``bot.services.privacy``). For example, a table
linking a memory to each person it names, ``memory_people(id, memory_id -> memories ON DELETE CASCADE, user_id)``,
is registered as::

    "memory_people": TableRules(
        Scope(via="memory_id"),  # the memory's server
        {"user_id": PersonId("memories", Forget.DELETE_REFERENCED, via="memory_id")},
    ),

so that person's forget-me deletes the memory itself (its text names them) and their export lists it among their
memories.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Forget(Enum):
    DELETE = "delete"
    ANONYMISE = "anonymise"
    DELETE_REFERENCED = "delete-referenced"


@dataclass(frozen=True)
class PersonId:
    section: str
    forget: Forget = Forget.DELETE
    via: str | None = None  # for DELETE_REFERENCED: the foreign key to the row that goes
    also: tuple[str, ...] = ()  # for ANONYMISE: columns blanked with it (e.g. the id of the person's message)


@dataclass(frozen=True)
class PersonDocument:
    section: str
    keys: tuple[str, ...]
    whole_row: bool = False


@dataclass(frozen=True, init=False)
class Beside:
    columns: tuple[str, ...]

    def __init__(self, *columns: str) -> None:
        object.__setattr__(self, "columns", columns)


@dataclass(frozen=True)
class NotPersonal:
    reason: str


@dataclass(frozen=True)
class OfPersona:
    """The persona's own data (see the module's docstring)."""


OF_PERSONA = OfPersona()
Kind = PersonId | PersonDocument | Beside | NotPersonal | OfPersona


@dataclass(frozen=True)
class Scope:
    """Which server a row belongs to: its own ``column`` (a guild id, None for DMs); or its persona's server,
    through the foreign key ``persona``; or the persona named at ``document_key`` of the JSON ``document``
    (falling back to ``column`` when that persona is gone); or its parent's, through the foreign key ``via``."""

    column: str | None = None
    persona: str | None = None
    document: str | None = None
    document_key: str | None = None
    via: str | None = None


@dataclass(frozen=True)
class TableRules:
    scope: Scope
    columns: dict[str, Kind] = field(default_factory=dict)


BY_PERSONA = Scope(persona="persona_id")
SERVER = NotPersonal("a server's id")
CHANNEL = NotPersonal("a channel's id")
WORD = NotPersonal("a word from a fixed list (a state, kind or category)")
# A lore book's text: a persona's world, written by its owner (it goes with the persona, through the book's cascade)
# or by a server's managers for the server; no column names who, and it is not about a person.
LORE = NotPersonal("lore a persona's owner or a server's managers wrote for a world (not about a person)")

TABLES: dict[str, TableRules] = {
    "personas": TableRules(
        Scope(column="guild_id"),
        {
            "guild_id": SERVER,
            "owner_id": PersonId("owned_personas"),
            "name": Beside("owner_id"),
            "description": Beside("owner_id"),
            "avatar_url": Beside("owner_id"),
            "status": WORD,
            "verification_status": WORD,
            "custom_traits": Beside("owner_id"),
            "behavior_settings": Beside("owner_id"),
            "privacy_settings": Beside("owner_id"),
            "plugins": Beside("owner_id"),
            "legacy_settings": Beside("owner_id"),
            "personality_text": Beside("owner_id"),
            "scenario": Beside("owner_id"),
            "example_dialogue": Beside("owner_id"),
            "greeting": Beside("owner_id"),
            "alternate_greetings": Beside("owner_id"),
            "system_prompt": Beside("owner_id"),
            "post_history_instructions": Beside("owner_id"),
            "creator_notes": Beside("owner_id"),
            "nickname": Beside("owner_id"),
        },
    ),
    "persona_avatars": TableRules(BY_PERSONA, {"content_type": NotPersonal("an image's media type")}),
    "persona_models": TableRules(
        BY_PERSONA,
        {
            "model": NotPersonal("a model's name"),
            "base_url": OF_PERSONA,
            "api_key_encrypted": OF_PERSONA,
        },
    ),
    "memory_configs": TableRules(
        BY_PERSONA, {"decay_function": WORD, "decay_schedule": WORD, "exempt_categories": OF_PERSONA}
    ),
    "emotional_states": TableRules(BY_PERSONA),
    "active_emotions": TableRules(
        BY_PERSONA, {"emotion_type": WORD, "cause": NotPersonal("the name of the trigger that caused it")}
    ),
    "emotional_events": TableRules(
        BY_PERSONA,
        {
            # The persona's emotional history stays (it is the persona's life); who caused it does not.
            "user_id": PersonId("emotional_events", Forget.ANONYMISE, also=("message_id",)),
            "message_id": Beside("user_id"),
            "channel_id": CHANNEL,
            "trigger": WORD,
            "emoji": NotPersonal("the reaction's emoji"),
            "emotion_type": WORD,
            "context": NotPersonal("what the bot notes about the trigger (never the person's words)"),
            "feedback_verdict": WORD,
            "feedback_emotion": WORD,
        },
    ),
    "learned_responses": TableRules(BY_PERSONA, {"trigger": WORD, "override_emotion": WORD}),
    "memories": TableRules(
        BY_PERSONA,
        {
            "source_user_id": PersonId("memories"),
            "subject_user_id": PersonId("memories"),
            "content": Beside("source_user_id", "subject_user_id"),
            "source_message_id": Beside("source_user_id"),
            "source_channel_id": CHANNEL,
            "category": WORD,
            "tier": WORD,
        },
    ),
    # Which exchanges a summary stands for: ids of two memories of one persona (each memory says whose words it holds).
    "memory_summary_members": TableRules(BY_PERSONA),
    # A memory's vector: computed from its content (so about the same people), and it goes with the memory through
    # the foreign key's cascade when forget-me deletes that memory. Numbers, not words: not exported.
    "memory_embeddings": TableRules(
        Scope(via="memory_id"),
        {
            "model": NotPersonal("the name of the embedding model"),
            "vector": NotPersonal("numbers computed from the memory's content, deleted with the memory (cascade)"),
        },
    ),
    "consent_records": TableRules(
        # A record applies where it was given (a DM record governs personal personas), whatever its persona.
        Scope(column="guild_id"),
        {
            "user_id": PersonId("consent_records"),
            "recorded_by": PersonId("consent_records"),
            "guild_id": SERVER,
            "scope": WORD,
            "note": Beside("user_id"),
        },
    ),
    "consent_offers": TableRules(
        Scope(column="guild_id"),
        {"user_id": PersonId("consent_offers"), "guild_id": SERVER, "via": WORD, "answer": WORD},
    ),
    "custom_behaviors": TableRules(
        BY_PERSONA,
        {
            "name": OF_PERSONA,
            "trigger_kind": WORD,
            "trigger_config": OF_PERSONA,
            "action_kind": WORD,
            "action_config": OF_PERSONA,
        },
    ),
    "person_relationships": TableRules(BY_PERSONA, {"user_id": PersonId("relationships")}),
    "persona_relationships": TableRules(BY_PERSONA, {"kind": OF_PERSONA}),
    "achievements": TableRules(BY_PERSONA, {"achievement_key": WORD}),
    "timeline_events": TableRules(
        BY_PERSONA, {"kind": WORD, "title": OF_PERSONA, "description": OF_PERSONA, "details": OF_PERSONA}
    ),
    "follows": TableRules(BY_PERSONA, {"user_id": PersonId("follows"), "guild_id": SERVER}),
    "subscription_tiers": TableRules(
        BY_PERSONA,
        {
            "name": OF_PERSONA,
            "description": OF_PERSONA,
            "perks": OF_PERSONA,
            "sku_id": NotPersonal("a Discord SKU (the product on sale)"),
        },
    ),
    "subscriptions": TableRules(
        BY_PERSONA,
        {
            "user_id": PersonId("subscriptions"),
            # Someone else's subscription stays; only the name of who granted it goes.
            "granted_by": PersonId("subscriptions_granted", Forget.ANONYMISE),
            "entitlement_id": Beside("user_id"),
            "status": WORD,
        },
    ),
    "endorsements": TableRules(BY_PERSONA, {"user_id": PersonId("endorsements"), "text": Beside("user_id")}),
    "public_profiles": TableRules(
        BY_PERSONA, {"display_name": OF_PERSONA, "bio": OF_PERSONA, "avatar_url": OF_PERSONA}
    ),
    "retirement_plans": TableRules(
        BY_PERSONA,
        {
            "created_by": PersonId("retirement_plans"),
            "status": WORD,
            "triggers": OF_PERSONA,
            "memory_archival": WORD,
            "archive_access": WORD,
            "ceremony_channel_id": CHANNEL,
            "ceremony_settings": OF_PERSONA,
            "farewell_message": OF_PERSONA,
            "data_deletion": OF_PERSONA,
            "lease_holder": NotPersonal("the random identity of the bot process running the ceremony"),
        },
    ),
    "legacy_archives": TableRules(
        BY_PERSONA,
        {
            # The archive of someone else's persona stays, without the person's memories (their words and ids).
            "snapshot": PersonDocument("archived_memories", ("source_user_id", "subject_user_id", "owner_id")),
            "archive_access": WORD,
            "deletion_report": NotPersonal("counts of what the retention deleted"),
        },
    ),
    "wizard_drafts": TableRules(
        Scope(column="guild_id"),
        {
            "user_id": PersonId("wizard_drafts"),
            "data": Beside("user_id"),
            "guild_id": SERVER,
            "channel_id": CHANNEL,
            "message_id": Beside("user_id"),
        },
    ),
    "channel_bindings": TableRules(
        Scope(column="guild_id"),
        {
            # The persona keeps speaking in the channel; who switched it on there is forgotten.
            "activated_by": PersonId("channel_activations", Forget.ANONYMISE),
            "guild_id": SERVER,
            "channel_id": CHANNEL,
        },
    ),
    "channel_webhooks": TableRules(
        Scope(column="guild_id"),
        {
            "channel_id": CHANNEL,
            "guild_id": SERVER,
            "webhook_id": NotPersonal("the bot's own webhook"),
            "webhook_token": NotPersonal("the bot's own webhook's secret"),
        },
    ),
    "persona_greetings": TableRules(
        BY_PERSONA,
        {
            "channel_id": CHANNEL,
            "guild_id": SERVER,
            "message_id": NotPersonal("the greeting the persona posted"),
            "claim_holder": NotPersonal("the random identity of the bot process posting the greeting"),
        },
    ),
    "persona_messages": TableRules(
        BY_PERSONA,
        {
            "message_id": NotPersonal("a message the persona sent"),
            "guild_id": SERVER,
            "channel_id": CHANNEL,
            # whom the reply answered: the row is the persona's, the person's id (and their message's) is blanked
            "answered_author_id": PersonId("persona_replies", Forget.ANONYMISE, also=("answered_message_id",)),
            "answered_message_id": Beside("answered_author_id"),
        },
    ),
    "memory_receipts": TableRules(
        BY_PERSONA,
        {
            # Which memories a reply to the person used: their export lists the receipts of replies to them, and
            # forget-me deletes those. A receipt naming a memory about someone else goes with that memory (the
            # foreign key cascades when their forget-me deletes it).
            "answered_author_id": PersonId("memory_receipts"),
        },
    ),
    "lore_books": TableRules(
        # A persona's book goes with the persona (guild_id: the persona's server); a channel's or server's book is
        # the server's, written by its managers (no column says who).
        Scope(column="guild_id"),
        {
            "scope": WORD,
            "scope_key": NotPersonal("which persona, channel or server the book belongs to"),
            "guild_id": SERVER,
            "channel_id": CHANNEL,
            "name": LORE,
            "extras": LORE,
        },
    ),
    "lore_entries": TableRules(
        Scope(via="book_id"),
        {
            "name": LORE,
            "keys": LORE,
            "secondary_keys": LORE,
            "logic": WORD,
            "content": LORE,
            "position": WORD,
            "extras": LORE,
        },
    ),
    "lore_entry_states": TableRules(
        Scope(column="guild_id"),
        {
            "channel_id": CHANNEL,
            "guild_id": SERVER,
            "message_id": NotPersonal("the message a lore entry fired on (no author, no words)"),
        },
    ),
    "guild_settings": TableRules(
        Scope(column="guild_id"),
        {
            "guild_id": SERVER,
            "notifications_channel_id": CHANNEL,
            "ceremony_channel_id": CHANNEL,
            "reaction_map": NotPersonal("the server's emoji-to-trigger map"),
            "allowed_models": NotPersonal("the model names the server's admins allow"),
            "memory_consent_default": WORD,
        },
    ),
    "outbox": TableRules(
        # A DM has no server: a notification belongs to the server of the persona it is about.
        Scope(column="guild_id", document="payload", document_key="persona_id"),
        {
            "recipient_user_id": PersonId("notifications"),
            "payload": PersonDocument("notifications", ("follower_id",), whole_row=True),
            "idempotency_key": Beside("recipient_user_id"),
            "guild_id": SERVER,
            "channel_id": CHANNEL,
            "kind": WORD,
            "status": WORD,
            "claimed_by": NotPersonal("the name of a bot process"),
            "last_error": NotPersonal("Discord's answer to a failed delivery"),
        },
    ),
    "app_state": TableRules(
        Scope(),
        {
            "key": NotPersonal("the name of a fact the bot keeps about itself"),
            "value": NotPersonal("the bot's own facts (the synced command tree, counts of retention deletions)"),
        },
    ),
}


def person_columns(table: str) -> dict[str, PersonId]:
    """The columns of ``table`` that hold a person's id."""
    return {name: kind for name, kind in TABLES[table].columns.items() if isinstance(kind, PersonId)}


def person_documents(table: str) -> dict[str, PersonDocument]:
    """The JSON columns of ``table`` whose documents may name a person."""
    return {name: kind for name, kind in TABLES[table].columns.items() if isinstance(kind, PersonDocument)}
