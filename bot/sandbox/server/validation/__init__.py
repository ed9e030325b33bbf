"""Discord's documented limits, checked the way Discord checks them.

Every check collects its findings in one :class:`FormErrors` and refuses the whole body at once with
``50035 Invalid Form Body`` and the nested ``errors`` object Discord sends (array indexes as string keys, each
leaf holding ``_errors``), so discord.py raises the same ``HTTPException`` it would raise against Discord.

Who checks what:

- ``messages``: message and webhook-message bodies (content, embeds, allowed mentions, attachments, flags,
  webhook names) and V1 components (action rows, buttons, selects).
- ``layouts``: Components V2 in messages (``IS_COMPONENTS_V2``).
- ``modals``: modal callbacks, V1 and V2 modal components.
- ``commands``: application-command sync and interaction callbacks.
- ``queries``: query-string parameters.
"""

from bot.sandbox.server.validation.errors import FormErrors, Path

__all__ = ["FormErrors", "Path"]
