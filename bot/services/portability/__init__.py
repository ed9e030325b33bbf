"""Export and import of personas: our native JSON document, and Character Cards V2 / V3 (JSON, PNG, or V3's
``.charx`` zip).

Each function takes an open session (the caller owns the transaction), ids and plain data. Imports check the
whole document (shape, version, every value through the ``bot.core`` rules, sizes) before they write
anything, and write only through the caller's one transaction: an error leaves nothing behind.

**The native document** (``{"format": "persona-hub", "version": 1, ...}``) holds what the persona *is* and
what it *lived*: identity, traits, custom traits, behaviour, privacy, plugins, legacy settings, memory
configuration, emotional state, active emotions, emotional events, learned responses, memories, custom
behaviours, relationships with people, timeline events and achievements; and what it owns: its lore book with its
entries, its model settings (never its API key) and its picture (base64, with its media type), checked by the
lore, model and picture rules and restored by the import (:mod:`~bot.services.portability.owned`; a model server
the server guard or this server's admins refuse is dropped with a note). Rows are written column by column
(the column names of ``bot/db/models.py``; times as ISO 8601 with an offset), without ids.

Left out, on purpose:

- follows, subscriptions (and their tiers, tied to this server's store SKUs) and endorsements: they belong to
  the people who follow, pay or endorse, not to the persona's owner;
- consent records: a person's consent is theirs, given in one place;
- relationships with other personas (the other persona is not in the file), channel bindings, retirement
  plans, legacy archives and wizard drafts (operational, tied to this server);
- follower count (follows are not carried) and verification status (granted by a server).

Memories are exported as stored: the ``encrypted`` flag with the content as it is (ciphertext when encrypted;
readable after import only where the same key is configured).

**Import rules.** New ids; the importing actor owns the persona, in the guild they import from. The persona
is ``active`` (a ``draft`` stays a draft) and switched off (``is_active`` false) until its owner turns it on;
``created_at``, ``is_public``, the interaction count and every history row keep their exported values;
``updated_at`` is the import time. A name the importer already uses gets the suffix " (imported)" (then
" (imported 2)", ...), shortened to fit 200 characters (the name's limit), rather than failing.

**Cards** map as :mod:`bot.core.cards` documents: the card's character fields are the persona's columns, its
metadata lives in ``legacy_settings["card"]`` and other tools' extensions in
``legacy_settings["card_extensions"]``, written back on export; its ``character_book`` becomes the persona's lore
book, which the export writes (none when it is empty), and a re-import replaces only when the card's book was
edited elsewhere; a PNG card's picture is kept
(``persona_avatars``) and is the picture of the exported PNG (a JPEG, WebP or GIF converted to PNG there,
:mod:`bot.core.picture_png`); a ``.charx``'s main icon likewise, its other
asset files kept while small (:mod:`bot.core.card_charx`; the import reply names those dropped). A card
import makes a new persona like ``/persona create`` (default mood, a "created" timeline event), except a card
exported from a persona the importer owns in the same place: that persona takes the fields edited elsewhere since
(:mod:`bot.services.portability.card_import`; :class:`Imported` says which).

Sizes: a PNG or CHARX card at most 8 MB (a CHARX unpacks to at most 10 MB, in memory), a JSON card 2 MB, a
native document 10 MB (Discord's attachment limit).
"""

from bot.services.portability.card_import import Imported
from bot.services.portability.checking import ACTION_KINDS, TRIGGER_KINDS, Plan, check_native
from bot.services.portability.documents import (
    EXPORT_PAGE,
    FORMAT,
    IMPORTED_SUFFIX,
    INSERT_CHUNK,
    MAX_CARD_JSON_BYTES,
    MAX_CHARX_BYTES,
    MAX_NATIVE_BYTES,
    MAX_PNG_BYTES,
    MAX_ROWS_PER_SECTION,
    MB,
    SECTIONS,
    VERSION,
    document_to_json,
    parse_json,
)
from bot.services.portability.export import export_card, export_file, export_native
from bot.services.portability.importing import Upload, free_name, import_upload, read_upload

__all__ = [
    "ACTION_KINDS",
    "EXPORT_PAGE",
    "FORMAT",
    "IMPORTED_SUFFIX",
    "INSERT_CHUNK",
    "MAX_CARD_JSON_BYTES",
    "MAX_CHARX_BYTES",
    "MAX_NATIVE_BYTES",
    "MAX_PNG_BYTES",
    "MAX_ROWS_PER_SECTION",
    "MB",
    "SECTIONS",
    "TRIGGER_KINDS",
    "VERSION",
    "Imported",
    "Plan",
    "Upload",
    "check_native",
    "document_to_json",
    "export_card",
    "export_file",
    "export_native",
    "free_name",
    "import_upload",
    "parse_json",
    "read_upload",
]
