"""The test and playground API: act as users in the sandbox and read what the bot did.

>>> async with Sandbox() as sb:                       # a started server, discord.py pointed at it
...     async with sb.run_client(bot):                # the real client, logged in and ready
...         h = await sb.slash("persona create", template="bard")
...         reply = await h.message()                 # waits, fails clearly on timeout

- :mod:`.results`: :class:`Posted`, :class:`InteractionHandle`, :class:`SandboxError`;
- :mod:`.world`: the default world, lifecycle, waits, reading, world building, entitlements, faults;
- :mod:`.commands`: slash commands and autocomplete;
- :mod:`.acting`: :class:`Sandbox`, which adds messages, reactions, buttons, selects and modals;
- :mod:`.modals`: the modal-submit payload for every modal component (text inputs, selects, radio and checkbox
  groups, checkboxes, file uploads);
- :mod:`.reading`: a Components V2 message as lines of text (the playground prints it so).
"""

from bot.sandbox.harness.acting import Sandbox
from bot.sandbox.harness.results import InteractionHandle, Posted, SandboxError, walk_components
from bot.sandbox.harness.world import BOT_PERMISSIONS

__all__ = ["BOT_PERMISSIONS", "InteractionHandle", "Posted", "Sandbox", "SandboxError", "walk_components"]
