"""A person's rights over what the bot keeps about them: forget me, and export my data.

Both walk one register, :data:`bot.db.people.TABLES`, of every column that names a person, so a table or column
added there is erased and exported without a change here. The package is three rooms:

- :mod:`~bot.services.privacy.register`: the walking both share: which rows belong to a server
  (:func:`scope_clause`), and the stored JSON documents that may name a person (found a window of rows at a time,
  parsed, scrubbed);
- :mod:`~bot.services.privacy.erasure`: **forget me** (:func:`forget_me`, :func:`forget_me_in_steps`), per server;
- :mod:`~bot.services.privacy.export`: **export my data** (:func:`export_my_data`, :func:`export_json`), across
  every server.

Bulk work never holds the event loop: rows go in batches with a pause between; documents are parsed, scrubbed
and serialised in a worker thread, a big one by the pure-Python JSON code that shares the GIL (a 40 MB legacy
archive through the C code held the loop for ~230 ms); both run as :func:`bot.db.offload.bulk_work` (SQLite's
statements in a worker thread). The bot's forget-me (:func:`forget_me_in_steps`) commits every
:data:`~bot.services.privacy.erasure.COMMIT_ROWS` rows and goes on where it paused, so each table and document is
read once; the bot's export reads in a short session per batch.

Everything callers use is importable from here (``from bot.services import privacy; privacy.forget_me(...)``).
The sizes are not re-exported: they are read where they live, ``register.ID_BATCH``, ``register.DOCUMENT_WINDOW``,
``register.SHARED_JSON_CHARS``, ``register.PIECE_CHARS`` and ``erasure.COMMIT_ROWS`` (a test lowers them there).
"""

from __future__ import annotations

from bot.services.privacy import erasure, export, register
from bot.services.privacy.erasure import FORGET_ME_NOTE, ForgetReport, forget_me, forget_me_in_steps, owned_personas
from bot.services.privacy.export import export_json, export_my_data, release_export
from bot.services.privacy.register import (
    dump_document,
    items_naming,
    load_document,
    scope_clause,
    scrub,
)

__all__ = [
    "FORGET_ME_NOTE",
    "ForgetReport",
    "dump_document",
    "erasure",
    "export",
    "export_json",
    "export_my_data",
    "forget_me",
    "forget_me_in_steps",
    "items_naming",
    "load_document",
    "owned_personas",
    "register",
    "release_export",
    "scope_clause",
    "scrub",
]
