"""Which rows changed, told to the in-process caches that hold copies of them.

A few reads happen on every message in every channel (which personas speak here, with what behaviours). Their
rows change rarely (a command binds a persona, an owner edits one), so the conversation keeps copies. A copy must
never outlive a change, wherever the change was made:

- **In this process**, every statement that writes a watched table is seen as it runs (an engine event on the
  statement's text), and the caches are cleared at once.
- **In another process** (the bot split across processes on one PostgreSQL database, or a command-line tool),
  PostgreSQL tells us: triggers on the watched tables (migrations 0008 and 0012; 0017 and 0020 add tables)
  ``NOTIFY persona_hub_changes`` with the table's name, and each process ``LISTEN``s on one dedicated connection.
  A notification is sent at commit, so a cache cleared by it can only be refilled with the committed rows.

A notification can come late: a change committed by another process and a Discord message sent right after it
reach this process in either order, and a message must see every change committed before it arrived. So each
transaction that changes a watched table also adds one to a counter (migration 0012: one row, bumped at commit,
its value sent in the notifications: ``"personas 42"``), and a copy is used only after :meth:`ChangeFeed.sync`
has read the counter (one row, on the listening connection, shared by every lookup that waits meanwhile): when it
is ahead of the notifications heard, some are still on their way, and every copy is dropped rather than waited for.
The lookups made for one message share a read: any read started after the message arrived will do
(:meth:`ChangeCache.as_of`), so the cast's lookup serves the lore books' too.

A cache is used only while changes are sure to be heard: always on SQLite (one process per database file, as the
README says), and on PostgreSQL only while the listening connection is up and the triggers exist. While it is down
every read goes to the database, and whatever the caches held is dropped when it comes back (notifications may
have been missed). A read that raced a change is not stored: each cache has a generation, bumped on every
change, and a value is kept only when the generation did not move while it was being read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import event, text

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

CHANNEL = "persona_hub_changes"

# The trait columns a persona's profile is built from (bot/core/traits.py names them; the database spells them so).
_TRAIT_COLUMNS = (
    "openness conscientiousness extraversion agreeableness neuroticism creativity curiosity empathy humor "
    "assertiveness adaptability technical_focus social_orientation task_orientation"
).split()

# Table -> the columns whose change matters to a cache (None: any change to the table). A persona's counters
# (interactions, followers) and timestamps change all the time and are read fresh where they are shown.
WATCHED: Mapping[str, frozenset[str] | None] = {
    "channel_bindings": None,
    "custom_behaviors": None,
    "subscription_tiers": None,
    "persona_models": None,
    "lore_books": None,
    "lore_entries": None,
    "memory_configs": frozenset(["persona_id", "weight_recency", "weight_importance", "weight_relevance"]),
    "personas": frozenset(
        [
            "id",
            "guild_id",
            "owner_id",
            "name",
            "description",
            "avatar_url",
            "status",
            "is_active",
            "custom_traits",
            "behavior_settings",
            "privacy_settings",
            "plugins",
            *_TRAIT_COLUMNS,
        ]
    ),
}

HEALTH_CHECK_SECONDS = 10.0  # how often the listening connection is asked whether it is still there (one SELECT 1)
HEALTH_CHECK_TIMEOUT = 5.0
RECONNECT_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0)  # back-off while PostgreSQL cannot be reached

_READ_COUNTER = "SELECT value FROM change_sequence WHERE id = 1"

_WRITE = re.compile(
    r"^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?|REPLACE\s+INTO)\s+"
    r"(?:ONLY\s+)?\"?(?:\w+\"?\.\"?)?(\w+)\"?",
    re.IGNORECASE,
)
_SET = re.compile(r"\bSET\s+(.*?)(?:\bWHERE\b|\bFROM\b|\bRETURNING\b|$)", re.IGNORECASE | re.DOTALL)
_ASSIGNED = re.compile(r"(?:^|,)\s*\"?(\w+)\"?\s*=")


def written_tables(statement: str) -> set[str]:
    """The watched tables that ``statement`` may change (an UPDATE of a persona counts only when it sets a
    column in :data:`WATCHED`)."""
    match = _WRITE.match(statement)
    if match is None:
        return set()
    if match.group(0).lstrip()[:8].upper() == "TRUNCATE":  # TRUNCATE a, b, c: every table named
        return {name for name in re.findall(r"\w+", statement.lower()) if name in WATCHED}
    table = match.group(1).lower()
    if table not in WATCHED:
        return set()
    columns = WATCHED[table]
    if columns is None or not statement.lstrip()[:6].upper() == "UPDATE":
        return {table}
    assignments = _SET.search(statement)
    if assignments is None:
        return {table}  # a form we do not parse: assume it matters
    assigned = {name.lower() for name in _ASSIGNED.findall(assignments.group(1))}
    return {table} if not assigned or assigned & columns else set()


K = TypeVar("K")
V = TypeVar("V")


class ChangeCache(Generic[K, V]):
    """A bounded copy of reads that depend on ``tables``, dropped whenever one of them changes (module docstring)."""

    def __init__(self, feed: ChangeFeed, tables: Iterable[str], *, size: int) -> None:
        unknown = set(tables) - set(WATCHED)
        if unknown:
            raise ValueError(f"not watched for changes: {sorted(unknown)}")
        self.feed = feed
        self.tables = frozenset(tables)
        self.size = size
        self.generation = 0
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[K, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    async def get(self, key: K, load: Callable[[], Awaitable[V]], *, since: float | None = None) -> V:
        """The copy for ``key``, or what ``load()`` reads (kept when nothing changed while it read). Either way it
        holds every change committed before the call, or before ``since`` (the event loop's time) when given: see
        :meth:`as_of`."""
        # The sync may drop the copy (a change not heard of yet), hence the second look.
        if self.feed.live and key in self._items and await self.feed.sync(since) and key in self._items:
            self._items.move_to_end(key)
            self.hits += 1
            return self._items[key]
        self.misses += 1
        generation = self.generation
        value = await load()
        if self.feed.live and generation == self.generation:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        self.generation += 1
        self._items.clear()

    def as_of(self, moment: float) -> CacheAsOf[K, V]:
        """This cache for the work of one event that arrived at ``moment`` (the event loop's time): its copies
        need to hold the changes committed before then only, so a counter read started since then (another
        cache's, for the same event) serves them too, and no second round trip is made."""
        return CacheAsOf(self, moment)


class CacheAsOf(Generic[K, V]):
    """A :class:`ChangeCache` for one event's work (:meth:`ChangeCache.as_of`)."""

    def __init__(self, cache: ChangeCache[K, V], moment: float) -> None:
        self.cache = cache
        self.moment = moment

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        return await self.cache.get(key, load, since=self.moment)


class ChangeFeed:
    """The changes to watched tables of one database, for this process's caches (module docstring)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.kind = engine.dialect.name
        self.key = engine.url.render_as_string(hide_password=True)
        self._caches: weakref.WeakSet[ChangeCache[Any, Any]] = weakref.WeakSet()
        self._listening = False
        self._connection: AsyncConnection | None = None
        self._watch: asyncio.Task[None] | None = None
        self._closed = False
        self.notifications = 0  # heard from PostgreSQL since start
        self.backend_pid: int | None = None  # the listening connection's server process (PostgreSQL)
        self.heard = 0  # the change counter's value that the caches hold every change up to (PostgreSQL)
        self.syncs = 0  # counter reads made by sync() (PostgreSQL)
        self._driver: Any = None  # the listening asyncpg connection
        self._lost: asyncio.Future[None] | None = None  # set when the listening connection is gone
        self._next_sync: asyncio.Task[bool] | None = None  # a counter read not started yet: later callers join it
        self._last_sync: asyncio.Task[bool] | None = None
        # The event loop's time when the newest counter read that found the caches current started (-inf: none
        # since the listener last came up).
        self._synced_from = float("-inf")
        _FEEDS.add(self)
        watch(engine)

    @property
    def live(self) -> bool:
        """Whether every change is sure to reach the caches now."""
        return self.kind == "sqlite" or self._listening

    def cache(self, tables: Iterable[str], *, size: int = 10_000) -> ChangeCache[Any, Any]:
        made: ChangeCache[Any, Any] = ChangeCache(self, tables, size=size)
        self._caches.add(made)
        return made

    def changed(self, tables: Iterable[str]) -> None:
        """Drop every copy that depends on one of ``tables``."""
        touched = set(tables)
        for cache in list(self._caches):
            if cache.tables & touched:
                cache.clear()

    async def sync(self, since: float | None = None) -> bool:
        """Whether the caches now hold every change committed before the call (before ``since``, the event loop's
        time, when given). On PostgreSQL this reads the change counter (one round trip on the listening
        connection; callers that arrive before a read starts share it): if it is ahead of the notifications heard,
        every copy is dropped. A read started after ``since`` already answers, and none is made. False when
        the counter cannot be read (the caches are then not to be used)."""
        if self.kind != "postgresql":
            return True
        if not self._listening:
            return False
        if since is not None and self._synced_from > since:  # strictly: an equal reading cannot tell which was first
            return True
        if self._next_sync is None:
            self._next_sync = asyncio.create_task(self._read_counter(self._last_sync))
        return await asyncio.shield(self._next_sync)

    async def _read_counter(self, previous: asyncio.Task[bool] | None) -> bool:
        if previous is not None:
            await asyncio.wait([previous])  # one query at a time on the connection
        # From here on the read has started: a caller arriving now needs the next one.
        self._last_sync, self._next_sync = self._next_sync, None
        driver = self._driver
        if driver is None or not self._listening:
            return False
        started = asyncio.get_running_loop().time()
        try:
            value = int(await driver.fetchval(_READ_COUNTER, timeout=HEALTH_CHECK_TIMEOUT))
        except Exception as error:  # the listener is lost: read through until it is back
            if self._closed or self._driver is not driver:
                return False  # stopped, or already replaced
            log.warning("could not read the change counter (%s); caches read through until the listener is back", error)
            self._set_listening(False)
            if self._lost is not None and not self._lost.done():
                self._lost.set_result(None)
            return False
        self.syncs += 1
        if value > self.heard:  # committed, not heard of yet: the copies may be stale
            self.heard = value
            self._clear_all()
        if self._listening and self._driver is driver:
            self._synced_from = max(self._synced_from, started)
        return self._listening

    def _heard(self, payload: str) -> None:
        """A notification: ``"<table> <counter>"`` (before migration 0012: the table alone)."""
        self.notifications += 1
        table, _, counter = payload.partition(" ")
        self.changed([table] if table in WATCHED else WATCHED)
        if counter.isdigit():
            self.heard = max(self.heard, int(counter))

    def _clear_all(self) -> None:
        for cache in list(self._caches):
            cache.clear()

    # ------------------------------------------------------------------------------------------------ PostgreSQL

    async def start(self) -> None:
        """Listen for other processes' changes (PostgreSQL; nothing to do on SQLite). Returns once listening, or
        once the first attempt failed (it keeps trying in the background, and caches read through meanwhile)."""
        if self.kind != "postgresql" or self._watch is not None:
            return
        first = asyncio.get_running_loop().create_future()
        self._watch = asyncio.create_task(self._keep_listening(first), name="change-feed")
        await first

    async def stop(self) -> None:
        self._closed = True
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None
        await self._drop_connection()
        _FEEDS.discard(self)

    async def _keep_listening(self, first: asyncio.Future[None]) -> None:
        attempt = 0
        while not self._closed:
            try:
                await self._listen()
                attempt = 0
                if not first.done():
                    first.set_result(None)
                await self._watch_connection()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database is down or the triggers are missing: read through
                log.warning("change notifications unavailable (%s); caches read through until they return", error)
            finally:
                self._set_listening(False)
                await self._drop_connection()
                if not first.done():
                    first.set_result(None)
            if self._closed:
                return
            await asyncio.sleep(RECONNECT_SECONDS[min(attempt, len(RECONNECT_SECONDS) - 1)])
            attempt += 1

    async def _listen(self) -> None:
        connection = await self.engine.connect()
        self._connection = connection
        present = (
            await connection.execute(
                text(
                    "SELECT EXISTS (SELECT FROM pg_proc WHERE proname = 'persona_hub_notify_change') "
                    "AND to_regclass('change_sequence') IS NOT NULL"
                )
            )
        ).scalar_one()
        await connection.commit()
        if not present:
            raise RuntimeError("the database has no change triggers or counter yet (run `python -m bot db upgrade`)")
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None, "an asyncpg connection under the pool's wrapper"
        lost = asyncio.get_running_loop().create_future()
        self._lost = lost

        def heard(_connection: Any, _pid: int, _channel: str, payload: str) -> None:
            self._heard(payload)

        def terminated(_connection: Any) -> None:
            if not lost.done():
                lost.set_result(None)

        await driver.add_listener(CHANNEL, heard)
        driver.add_termination_listener(terminated)
        # Read after LISTEN: a change committed since is notified, one committed before is in no copy (all dropped
        # below).
        self.heard = int(await driver.fetchval(_READ_COUNTER))
        self._driver = driver
        self.backend_pid = driver.get_server_pid()
        self._set_listening(True)

    async def _watch_connection(self) -> None:
        """Return when the listening connection is gone: closed by the server, or silent to a health check."""
        assert self._connection is not None
        lost = self._lost
        assert lost is not None, "set when listening started"
        while True:
            try:
                await asyncio.wait_for(asyncio.shield(lost), HEALTH_CHECK_SECONDS)
                return
            except TimeoutError:
                pass
            if not await self.sync():  # the counter read doubles as the health check
                return

    def _set_listening(self, value: bool) -> None:
        if value != self._listening:
            self._listening = value
            self._synced_from = float("-inf")
            # Whatever was cached before (or while) notifications could be missed is not trusted.
            self._clear_all()
            log.info("change notifications %s", "on: caches in use" if value else "off: caches read through")

    async def _drop_connection(self) -> None:
        self._driver = None
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.invalidate()
            with contextlib.suppress(Exception):
                await connection.close()


# ----------------------------------------------------------------------------------------------------
# Writes made in this process


_FEEDS: weakref.WeakSet[ChangeFeed] = weakref.WeakSet()
_WATCHED_ENGINES: weakref.WeakSet[Any] = weakref.WeakSet()


def watch(engine: AsyncEngine) -> None:
    """Tell this process's caches about writes made through ``engine`` (every engine ``make_engine`` builds;
    any engine on the same database). Idempotent."""
    sync_engine = engine.sync_engine
    if sync_engine in _WATCHED_ENGINES:
        return
    _WATCHED_ENGINES.add(sync_engine)
    key = engine.url.render_as_string(hide_password=True)

    def after_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        tables = written_tables(statement)
        if tables:
            for feed in list(_FEEDS):
                if feed.key == key:
                    feed.changed(tables)

    event.listen(sync_engine, "after_cursor_execute", after_execute)
