"""The playground's user: what it prints of the server (as a Discord client would show it) and what each typed line
does (:data:`HELP`)."""

from __future__ import annotations

import asyncio
import shlex
from collections import deque
from pathlib import Path
from typing import Any, TextIO

from bot.sandbox.harness import InteractionHandle, Posted, Sandbox, SandboxError
from bot.sandbox.harness.modals import modal_fields, option_value
from bot.sandbox.harness.reading import button_text, layout_lines, select_text
from bot.sandbox.playground.lines import Lines
from bot.sandbox.state import Channel, User

HELP = """Lines:
  text                      a message in the current channel
  /cmd sub opt:value ...    a slash command (quote values with spaces: opt:"two words")
  #channel                  switch channel        :as bob      act as another user
  :click N | :click Label   press a button         :select N 1,3   choose options of select N
  :dm text                  DM the bot             :react N 👍     react to message N
  :wait SECONDS             let the bot work       :help  :quit
When the bot opens a modal, each field is asked for in turn (an empty line keeps the default): text as typed,
an option by number or label, ticks as N,N, a checkbox as y/n, users/roles/channels by name, files by path.
"""

QUIET_SECONDS = 0.4
MAX_SETTLE_SECONDS = 20.0


class Playground:
    def __init__(self, sandbox: Sandbox, out: TextIO) -> None:
        self.sb = sandbox
        self.out = out
        self.user: User = sandbox.alice
        self.channel: Channel = sandbox.general
        self.shown: dict[int, tuple[Any, ...]] = {}  # message id -> what was printed
        self.numbered: list[Posted] = []  # messages with components, by the number shown
        self.handles: deque[InteractionHandle] = deque(maxlen=50)

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    # ----- output -----

    def _channel_label(self, channel_id: int) -> str:
        c = self.sb.state.channels[channel_id]
        return f"#{c.name}" if c.name else "DM"

    def render(self, p: Posted, *, edited: bool) -> None:
        tags = []
        if p.ephemeral:
            tags.append("only you")
        if edited:
            tags.append("edited")
        tag = f" ({', '.join(tags)})" if tags else ""
        reply = ""
        if p.reply_to is not None and p.reply_to in self.sb.state.messages:
            reply = f" ↪ {self.sb.posted(self.sb.state.messages[p.reply_to]).author}"
        self.say(f"[{self._channel_label(p.channel_id)}] {p.author}{reply}{tag}: {p.content}".rstrip())
        for e in p.embeds:
            for key in ("title", "description"):
                if e.get(key):
                    self.say(f"  ┃ {e[key]}")
            for f in e.get("fields", []):
                self.say(f"  ┃ {f['name']}: {f['value']}")
            if (e.get("footer") or {}).get("text"):
                self.say(f"  ┃ — {e['footer']['text']}")
        if p.is_v2:
            # Components V2: the components are the message; attachments show only through them.
            for line in layout_lines(p.components):
                self.say(line.rstrip())
        else:
            for a in p.attachments:
                self.say(f"  📎 {a.filename} ({len(a.data)} bytes)")
        if p.components:
            if p not in self.numbered:
                self.numbered.append(p)
            if not p.is_v2:
                self._render_components(p)

    def _render_components(self, p: Posted) -> None:
        buttons = p.buttons()
        if buttons:
            labels = [button_text(b, n) for n, b in enumerate(buttons, 1)]
            self.say("  buttons: " + "  ".join(labels) + "   (:click N)")
        for n, s in enumerate(p.selects(), 1):
            self.say("  " + select_text(s, n))

    def show_new(self) -> None:
        msgs = sorted(self.sb.state.messages.values(), key=lambda m: m.id)
        for m in msgs:
            if m.visible_to is not None and m.visible_to != self.user.id:
                continue
            p = self.sb.posted(m)
            if p.loading:
                continue
            sig = (m.content, repr(m.embeds), repr(m.components), m.deleted, len(m.attachments))
            seen = self.shown.get(m.id)
            if seen == sig:
                continue
            self.shown[m.id] = sig
            if m.deleted:
                if seen is not None:
                    self.say(f"[{self._channel_label(m.channel_id)}] {p.author}'s message was deleted")
                continue
            self.render(p, edited=seen is not None)

    async def settle(self) -> None:
        """Wait until the bot has been quiet for a moment, then print what changed."""
        loop = asyncio.get_running_loop()
        end = loop.time() + MAX_SETTLE_SECONDS
        while loop.time() < end and await self.sb.server.wait_change(QUIET_SECONDS):
            self.show_new()
        self.show_new()

    # ----- input -----

    async def handle(self, line: str, lines: Lines) -> bool:
        """Run one line; False to stop."""
        line = line.strip()
        if not line:
            return True
        try:
            if line.startswith("/"):
                await self.run_slash(line, lines)
            elif line.startswith("#"):
                self.switch_channel(line[1:])
            elif line.startswith(":"):
                if not await self.meta(line[1:], lines):
                    return False
            else:
                await self.sb.send(self.channel, line, author=self.user)
        except SandboxError as e:
            self.say(f"! {str(e).splitlines()[0]}")
        await self.settle()
        return True

    def switch_channel(self, name: str) -> None:
        for c in self.sb.state.channels.values():
            if c.guild_id == self.sb.guild.id and c.name == name:
                self.channel = c
                self.say(f"(now in #{name})")
                return
        names = [c.name for c in self.sb.state.channels.values() if c.guild_id and c.name]
        raise SandboxError(f"no channel #{name}; channels: {', '.join(names)}")

    def _find_user(self, name: str) -> User:
        name = name.lstrip("@")
        for u in self.sb.state.users.values():
            if name in (u.username, u.global_name):
                return u
        raise SandboxError(f"no user {name!r}")

    def _convert(self, opt: dict[str, Any], raw: str) -> Any:
        t = opt["type"]
        if t == 4:
            return int(raw)
        if t == 10:
            return float(raw)
        if t == 5:
            return raw.lower() in ("true", "yes", "1", "on")
        if t == 6:
            return self._find_user(raw)
        if t == 7:
            name = raw.lstrip("#")
            found = [c for c in self.sb.state.channels.values() if c.name == name and c.guild_id]
            if not found:
                raise SandboxError(f"no channel #{name}")
            return found[0]
        if t in (8, 9):
            for r in self.sb.state.roles.values():
                if r.name == raw.lstrip("@"):
                    return r
            return self._find_user(raw)
        if t == 11:
            path = Path(raw).expanduser()
            return (path.name, path.read_bytes())
        return raw

    async def run_slash(self, line: str, lines: Lines) -> None:
        try:
            words = shlex.split(line[1:])
        except ValueError as e:
            raise SandboxError(f"cannot parse: {e}") from None
        path = [w for w in words if ":" not in w]
        pairs = [w.split(":", 1) for w in words if ":" in w]
        _, defs, _, _ = self.sb._resolve_path(" ".join(path), self.channel)
        by_name = {o["name"]: o for o in defs}
        options: dict[str, Any] = {}
        for name, raw in pairs:
            if name not in by_name:
                raise SandboxError(f"/{' '.join(path)} has no option {name!r}; options: {', '.join(by_name)}")
            try:
                options[name] = self._convert(by_name[name], raw)
            except ValueError:
                raise SandboxError(f"option {name}: {raw!r} is not a valid value") from None
        h = await self.sb.slash(" ".join(path), as_user=self.user, in_channel=self.channel, options=options)
        await self.after_interaction(h, lines)

    async def after_interaction(self, h: InteractionHandle, lines: Lines) -> None:
        self.handles.append(h)
        try:
            rtype = await h.response(timeout=5.0)
        except SandboxError as e:
            self.say(f"! {str(e).splitlines()[0]}")
            return
        if rtype == 9:
            await self.fill_modal(h, lines)

    async def fill_modal(self, h: InteractionHandle, lines: Lines) -> None:
        """Each field of the modal in turn; an empty line keeps the default (or leaves it empty)."""
        modal = h.interaction.response_data or {}
        self.say(f"┌ {modal.get('title')}")
        values: dict[str, Any] = {}
        for row in modal.get("components", []):
            if row.get("type") == 10:
                for text in (row.get("content") or "").splitlines():
                    self.say(f"│ {text}")
                continue
            for comp, label in modal_fields({"components": [row]}):
                hint = " (optional)" if comp.get("required", True) is False else ""
                answer = await lines.next(f"│ {label}{hint}{_modal_prompt(comp)}: ", self.out)
                if answer is None:
                    raise SandboxError("input ended inside a modal")
                if answer.strip():
                    values[comp["custom_id"]] = self._modal_answer(comp, answer.strip())
        self.say("└ submitted")
        sub = await self.sb.submit_modal(h, values, user=self.user)
        await self.after_interaction(sub, lines)

    def _modal_answer(self, comp: dict[str, Any], answer: str) -> Any:
        """What the user typed, as :meth:`Sandbox.submit_modal` takes it."""
        t = comp.get("type")
        picks = [x.strip() for x in answer.split(",") if x.strip()]
        if t == 23:
            return answer.lower() in ("y", "yes", "x", "true", "1", "on")
        if t == 19:
            files = [Path(x).expanduser() for x in picks]
            return [(f.name, f.read_bytes()) for f in files]
        if t in (3, 21, 22):
            opts = comp.get("options") or []
            chosen = [opts[int(x) - 1]["value"] if x.isdigit() and 0 < int(x) <= len(opts) else x for x in picks]
            return [option_value(comp, c) for c in chosen] if t != 21 else option_value(comp, chosen[0])
        if t in (5, 6, 7, 8):
            return [self._convert({"type": {5: 6, 6: 8, 8: 7}.get(t, 9)}, x) for x in picks]
        return answer

    def _numbered(self, n: str) -> Posted:
        try:
            return self.numbered[-1] if n == "" else self.numbered[int(n) - 1]
        except (ValueError, IndexError):
            raise SandboxError(f"no message {n}") from None

    async def meta(self, text: str, lines: Lines) -> bool:
        cmd, _, rest = text.partition(" ")
        rest = rest.strip()
        if cmd in ("quit", "exit", "q"):
            return False
        if cmd == "help":
            self.say(HELP)
        elif cmd == "as":
            self.user = self._find_user(rest)
            self.say(f"(now acting as {self.user.username})")
        elif cmd == "dm":
            dm = await self.sb.open_dm(self.user)
            await self.sb.send(dm, rest, author=self.user)
        elif cmd == "wait":
            await asyncio.sleep(float(rest or 1))
        elif cmd == "click":
            p = self._last_with_components()
            if rest.isdigit():
                h = await self.sb.click(p, index=int(rest) - 1, user=self.user)
            else:
                h = await self.sb.click(p, label=rest, user=self.user)
            await self.after_interaction(h, lines)
        elif cmd == "select":
            num, _, picks = rest.partition(" ")
            p = self._last_with_components()
            selects = p.selects()
            try:
                s = selects[int(num) - 1]
            except (ValueError, IndexError):
                raise SandboxError(f"no select {num}") from None
            opts = s.get("options") or []
            values: list[Any] = []
            for pick in filter(None, (x.strip() for x in picks.split(","))):
                if opts and pick.isdigit():
                    values.append(opts[int(pick) - 1]["value"])
                elif opts:
                    values.append(pick)
                else:
                    values.append(self._convert({"type": {5: 6, 6: 8, 8: 7}.get(s["type"], 9)}, pick))
            h = await self.sb.select(p, values, custom_id=s["custom_id"], user=self.user)
            await self.after_interaction(h, lines)
        elif cmd == "react":
            num, _, emoji = rest.partition(" ")
            msgs = self.sb.history(self.channel, as_user=self.user)
            try:
                target = msgs[-int(num)]
            except (ValueError, IndexError):
                raise SandboxError("usage: :react N emoji (N counts back from the latest message)") from None
            await self.sb.react(target, emoji.strip() or "👍", user=self.user)
        else:
            raise SandboxError(f"unknown :{cmd} (try :help)")
        return True

    def _last_with_components(self) -> Posted:
        for p in reversed(self.numbered):
            m = self.sb.state.messages[p.id]
            if not m.deleted and m.components and (m.visible_to in (None, self.user.id)):
                return self.sb.posted(m)
        raise SandboxError("no message with buttons or selects yet")


def _modal_prompt(comp: dict[str, Any]) -> str:
    """The hint after a modal field's label: the default, the options, or what to type."""
    t = comp.get("type")
    opts = comp.get("options") or []
    if t == 4:
        return f" [{comp['value']}]" if comp.get("value") else ""
    if t == 21:
        return " " + "  ".join(f"({k}) {o['label']}{' *' if o.get('default') else ''}" for k, o in enumerate(opts, 1))
    if t == 22:
        boxes = "  ".join(f"[{'x' if o.get('default') else ' '}] ({k}) {o['label']}" for k, o in enumerate(opts, 1))
        return f" {boxes} (tick N,N)"
    if t == 23:
        return f" [{'x' if comp.get('default') else ' '}] (y/n)"
    if t == 3:
        return " " + "  ".join(f"({k}) {o['label']}" for k, o in enumerate(opts, 1)) + " (N,N)"
    if t == 19:
        return " (file paths, comma-separated)"
    return " (names, comma-separated)"
