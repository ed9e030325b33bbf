"""Providers for the model servers personas name (bot/core/model_settings.py), one per base URL and API key, made
on first use and kept for the next replies: at most ``size``, the least recently used let go first. A provider
that is let go while a reply still uses it is closed when that reply ends; :meth:`ProviderPool.aclose` (at shutdown)
closes them all."""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.llm.base import Provider

DEFAULT_SIZE = 32

Maker = Callable[[str, str | None], Awaitable[Provider]]


@dataclass
class _Entry:
    provider: Provider
    users: int = 0
    gone: bool = False  # let go: closed when its last user is done


class ProviderPool:
    """Providers by (base URL, API key), made by ``make(base_url, api_key)`` (which may refuse with a
    :class:`~bot.llm.base.ModelError`, or any exception the caller handles)."""

    def __init__(self, make: Maker, *, size: int = DEFAULT_SIZE) -> None:
        self._make = make
        self.size = size
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._closed = False

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def _key(base_url: str, api_key: str | None) -> tuple[str, str]:
        # The key is kept hashed: the provider holds it, the index needs only to tell keys apart.
        return base_url, hashlib.sha256((api_key or "").encode()).hexdigest()

    @asynccontextmanager
    async def lease(self, base_url: str, api_key: str | None) -> AsyncIterator[Provider]:
        """The provider for this server and key, for the block's duration."""
        entry = await self._entry(base_url, api_key)
        entry.users += 1
        try:
            yield entry.provider
        finally:
            entry.users -= 1
            if entry.gone and entry.users == 0:
                await entry.provider.aclose()

    async def _entry(self, base_url: str, api_key: str | None) -> _Entry:
        if self._closed:
            raise RuntimeError("the provider pool is closed")
        key = self._key(base_url, api_key)
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
            return found
        provider = await self._make(base_url, api_key)  # may await (a DNS check): another may have made one
        found = self._entries.get(key)
        if found is not None or self._closed:
            await provider.aclose()
            if found is None:
                raise RuntimeError("the provider pool is closed")
            return found
        entry = _Entry(provider)
        self._entries[key] = entry
        while len(self._entries) > self.size:
            _, old = self._entries.popitem(last=False)
            old.gone = True
            if old.users == 0:
                await old.provider.aclose()
        return entry

    async def aclose(self) -> None:
        """Close every provider (those in use are closed too: this is shutdown)."""
        self._closed = True
        entries = list(self._entries.values())
        self._entries.clear()
        await asyncio.gather(*(entry.provider.aclose() for entry in entries), return_exceptions=True)
