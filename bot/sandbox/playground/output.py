"""What the playground prints: each message the user can see, numbered, as a Discord client would show it.

- Every message gets a number (``[7]``) the first time it is printed; ``:reply 7``, ``:react 7``, ``:click ... in
  7`` use it. An edit prints the message again under its number, marked "edited".
- Mentions, channels, roles, custom emoji and timestamps read as a client shows them (:mod:`.text`).
- Attachments are saved under the playground's files folder and their paths printed, so they can be opened.
- Reactions print as a line under the message's number whenever they change.
- Buttons are numbered for ``:click``; selects show their options with the current picks ticked (``✓``).
- The message with buttons or selects printed last (new or edited) is "the latest view" that ``:click`` and
  ``:select`` act on unless told which message.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from bot.sandbox.harness import InteractionHandle, Posted, Sandbox, SandboxError
from bot.sandbox.harness.reading import button_text, layout_lines
from bot.sandbox.playground.text import shown_text
from bot.sandbox.state import Attachment, Channel, Message, User

QUIET_SECONDS = 0.4
MAX_SETTLE_SECONDS = 20.0
DEFAULT_FILES_DIR = Path("var") / "playground" / "files"
_UNSAFE = re.compile(r"[^\w.\-]+")


def select_line(s: dict[str, Any], n: int) -> str:
    """A select with its options, the current picks ticked."""
    options = s.get("options") or []
    if options:
        shown = "  ".join(f"({k}) {'✓ ' if o.get('default') else ''}{o['label']}" for k, o in enumerate(options, 1))
    else:
        picked = [str(d.get("id")) for d in s.get("default_values") or []]
        shown = "(users/roles/channels by name)" + (f" now: {', '.join(picked)}" if picked else "")
    many = (s.get("max_values") or 1) > 1
    how = f":select {n} 1,2  or  +N / -N to add or drop" if many else f":select {n} N"
    return f"select {n} {s.get('placeholder') or s.get('custom_id')}: {shown}   ({how})"


def size_words(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB"
    return f"{size / 1024:.1f} KB" if size >= 1024 else f"{size} bytes"


class Display:
    """The output side of the playground (module docstring)."""

    def __init__(self, sandbox: Sandbox, out: TextIO, *, files_dir: Path | None = None) -> None:
        self.sb = sandbox
        self.out = out
        self.user: User = sandbox.alice
        self.channel: Channel = sandbox.general
        self.files_dir = files_dir if files_dir is not None else DEFAULT_FILES_DIR
        self.shown: dict[int, tuple[Any, ...]] = {}  # message id -> what was printed of it
        self.reactions_shown: dict[int, tuple[tuple[str, int], ...]] = {}
        self.numbers: dict[int, int] = {}  # message id -> its number
        self.by_number: dict[int, int] = {}  # number -> message id
        self.latest_view: int | None = None  # the message with buttons or selects printed last
        self.handles: deque[InteractionHandle] = deque(maxlen=50)

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    # ----- numbers -----

    def number_of(self, message_id: int) -> int:
        if message_id not in self.numbers:
            number = len(self.numbers) + 1
            self.numbers[message_id] = number
            self.by_number[number] = message_id
        return self.numbers[message_id]

    def message_at(self, text: str) -> Message:
        """The message shown as number ``text`` (``7`` or ``[7]``; ``last``: the newest one in this channel), if the
        user can still see it."""
        if text.strip().lower() == "last":
            seen = self.sb.history(self.channel, as_user=self.user)
            if not seen:
                raise SandboxError("no message in this channel yet")
            return seen[-1].message
        try:
            number = int(text.strip().strip("[]#"))
        except ValueError:
            raise SandboxError(f"{text!r} is not a message number (they are shown as [N])") from None
        found = self.sb.state.messages.get(self.by_number.get(number, -1))
        if found is None or found.deleted or found.visible_to not in (None, self.user.id):
            raise SandboxError(f"no message [{number}] you can see")
        return found

    # ----- words -----

    def _name(self, kind: str, ident: int) -> str | None:
        state = self.sb.state
        if kind == "user":
            user = state.users.get(ident)
            return (user.global_name or user.username) if user else None
        if kind == "role":
            role = state.roles.get(ident)
            return role.name if role else None
        channel = state.channels.get(ident)
        return channel.name if channel and channel.name else None

    def words(self, text: str) -> str:
        return shown_text(text, self._name, datetime.now(UTC))

    def _channel_label(self, channel_id: int) -> str:
        c = self.sb.state.channels[channel_id]
        return f"#{c.name}" if c.name else "DM"

    # ----- a message -----

    def render(self, p: Posted, *, edited: bool) -> None:
        number = self.number_of(p.id)
        tags = [t for t, on in (("only you", p.ephemeral), ("edited", edited)) if on]
        tag = f" ({', '.join(tags)})" if tags else ""
        reply = ""
        if p.reply_to is not None and p.reply_to in self.sb.state.messages:
            target = self.sb.posted(self.sb.state.messages[p.reply_to])
            reply = f" ↪ [{self.number_of(target.id)}] {target.author}"
        head = f"[{number}] {self._channel_label(p.channel_id)} {p.author}{reply}{tag}: {self.words(p.content)}"
        self.say(head.rstrip())
        for e in p.embeds:
            self._render_embed(e)
        if p.is_v2:  # Components V2: the components are the message
            for line in layout_lines(p.components):
                self.say(self.words(line.rstrip()))
        self._render_attachments(p)
        if p.components:
            self.latest_view = p.id
            if not p.is_v2:
                self._render_components(p)

    def _render_embed(self, e: dict[str, Any]) -> None:
        if (e.get("author") or {}).get("name"):
            self.say(f"  ┃ {e['author']['name']}")
        for key in ("title", "description"):
            if e.get(key):
                for line in self.words(str(e[key])).splitlines():
                    self.say(f"  ┃ {line}")
        for f in e.get("fields", []):
            self.say(f"  ┃ {self.words(f['name'])}: {self.words(f['value'])}")
        for key in ("image", "thumbnail"):
            url = (e.get(key) or {}).get("url")
            if url:
                self.say(f"  ┃ 🖼 {self._saved_at(url)}")
        if (e.get("footer") or {}).get("text"):
            self.say(f"  ┃ — {self.words(e['footer']['text'])}")

    def _render_attachments(self, p: Posted) -> None:
        for a in p.attachments:
            path = self._save(p.id, a)
            self.say(f"  📎 {a.filename} ({size_words(len(a.data))}) → {path}")

    def _save(self, message_id: int, a: Attachment) -> Path:
        """The attachment written once under the files folder (named by message and file name)."""
        path = self.files_dir / f"{message_id}-{_UNSAFE.sub('_', a.filename) or 'file'}"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(a.data)
        return path

    def _saved_at(self, url: str) -> str:
        """Where an embed's picture was saved, when it is one of the message attachments the sandbox holds."""
        for m in self.sb.state.messages.values():
            for a in m.attachments:
                if a.url == url:
                    return str(self._save(m.id, a))
        return url

    def _render_components(self, p: Posted) -> None:
        buttons = p.buttons()
        if buttons:
            labels = [button_text(b, n) for n, b in enumerate(buttons, 1)]
            self.say("  buttons: " + "  ".join(labels) + "   (:click N)")
        for n, s in enumerate(p.selects(), 1):
            self.say("  " + select_line(s, n))

    def _render_reactions(self, m: Message) -> None:
        counts = tuple((key, len(users)) for key, users in m.reactions.items() if users)
        if self.reactions_shown.get(m.id, ()) == counts:
            return
        self.reactions_shown[m.id] = counts
        shown = " · ".join(f"{self.words(_emoji_text(key))} {count}" for key, count in counts) or "none"
        self.say(f"  [{self.number_of(m.id)}] reactions: {shown}")

    # ----- what changed -----

    def show_new(self) -> None:
        for m in sorted(self.sb.state.messages.values(), key=lambda m: m.id):
            if m.visible_to is not None and m.visible_to != self.user.id:
                continue
            p = self.sb.posted(m)
            if p.loading:
                continue
            sig = (m.content, repr(m.embeds), repr(m.components), m.deleted, len(m.attachments))
            seen = self.shown.get(m.id)
            if seen != sig:
                self.shown[m.id] = sig
                if m.deleted:
                    if seen is not None:
                        self.say(f"[{self.number_of(m.id)}] {p.author}'s message was deleted")
                    continue
                self.render(p, edited=seen is not None)
            if not m.deleted and (m.reactions or m.id in self.reactions_shown):
                self._render_reactions(m)

    async def settle(self) -> None:
        """Wait until the bot has been quiet for a moment, then print what changed."""
        loop = asyncio.get_running_loop()
        end = loop.time() + MAX_SETTLE_SECONDS
        while loop.time() < end and await self.sb.server.wait_change(QUIET_SECONDS):
            self.show_new()
        self.show_new()

    def latest_view_message(self) -> Posted:
        """The message with buttons or selects printed last, if the user can still use it."""
        found = self.sb.state.messages.get(self.latest_view or -1)
        if found is None or found.deleted or not found.components:
            raise SandboxError("no message with buttons or selects yet")
        return self.sb.posted(found)


def _emoji_text(key: str) -> str:
    """A reaction key (``👍`` or ``name:id``) as a client shows it."""
    name, colon, _ = key.partition(":")
    return f":{name}:" if colon else name
