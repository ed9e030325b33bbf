"""A local Discord-compatible server for end-to-end tests and offline play.

``Sandbox`` (harness) is the entry point for tests; ``SandboxServer`` is the aiohttp server itself.
"""

from bot.sandbox.harness import InteractionHandle, Posted, Sandbox, SandboxError
from bot.sandbox.patch import point_discord_at, undo
from bot.sandbox.server import SandboxServer
from bot.sandbox.state import P

__all__ = [
    "InteractionHandle",
    "P",
    "Posted",
    "Sandbox",
    "SandboxError",
    "SandboxServer",
    "point_discord_at",
    "undo",
]
