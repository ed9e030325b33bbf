"""The playground's user: what each typed line does (:data:`HELP`); what is printed is :mod:`.output`."""

from __future__ import annotations

import asyncio
import shlex
from pathlib import Path
from typing import Any

from bot.sandbox.harness import InteractionHandle, Posted, SandboxError
from bot.sandbox.harness.modals import modal_fields, option_value
from bot.sandbox.playground.lines import Lines
from bot.sandbox.playground.output import Display
from bot.sandbox.state import User

HELP = """Lines:
  text                      a message in the current channel
  /cmd sub opt:value ...    a slash command (quote values with spaces: opt:"two words")
  /cmd ... opt:par?         what the bot suggests for an option as you type "par"
  #channel                  switch channel                 :as bob          act as another user
  :click N | :click Label   press a button of the latest view (add "in M" for message [M])
  :select N 1,3 | +2 | -1   choose in select N (+ adds to, - drops from the current picks; "in M" as above)
  :reply M text             reply to message [M]           :react M 👍      react to message [M] (M: last)
  :unreact M 👍             take a reaction back           :dm text         DM the bot
  :wait SECONDS             let the bot work               :help  :quit
When the bot opens a modal, each field is asked for in turn (an empty line keeps the default): text as typed,
an option by number or label, ticks as N,N, a checkbox as y/n, users/roles/channels by name, files by path.
:cancel closes the modal without sending it.
"""

CANCEL = ":cancel"


class Playground(Display):
    """The playground: the :class:`Display` of what the user sees, and what each line they type does."""

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
        except (OSError, ValueError) as e:  # a bad path or value: said, and the session goes on
            self.say(f"! {e}")
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
            return _file(raw)
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
        asked: tuple[str, str] | None = None
        for name, raw in pairs:
            if name not in by_name:
                raise SandboxError(f"/{' '.join(path)} has no option {name!r}; options: {', '.join(by_name)}")
            if raw.endswith("?") and by_name[name].get("autocomplete"):
                asked = (name, raw[:-1])
                continue
            try:
                options[name] = self._convert(by_name[name], raw)
            except ValueError:
                raise SandboxError(f"option {name}: {raw!r} is not a valid value") from None
        command = " ".join(path)
        if asked is not None:
            await self.suggest(command, asked, options)
            return
        h = await self.sb.slash(command, as_user=self.user, in_channel=self.channel, options=options)
        await self.after_interaction(h, lines)

    async def suggest(self, command: str, asked: tuple[str, str], options: dict[str, Any]) -> None:
        """What the bot suggests for an option as it is typed (Discord's autocomplete)."""
        name, typed = asked
        choices = await self.sb.autocomplete(
            command, name, typed, as_user=self.user, in_channel=self.channel, options=options
        )
        if not choices:
            self.say(f"(no suggestions for {name}:{typed})")
            return
        self.say(f"suggestions for {name}: (type {name}:VALUE)")
        for choice in choices:
            value = choice["value"]
            self.say(f"  {choice['name']}" + (f"   → {name}:{value}" if str(value) != choice["name"] else ""))

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
                if answer.strip() == CANCEL:
                    self.say("└ cancelled (nothing was sent)")
                    return
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
            return [_file(x) for x in picks]
        if t in (3, 21, 22):
            opts = comp.get("options") or []
            chosen = [opts[int(x) - 1]["value"] if x.isdigit() and 0 < int(x) <= len(opts) else x for x in picks]
            return [option_value(comp, c) for c in chosen] if t != 21 else option_value(comp, chosen[0])
        if t in (5, 6, 7, 8):
            return [self._convert({"type": {5: 6, 6: 8, 8: 7}.get(t, 9)}, x) for x in picks]
        return answer

    # ----- meta commands -----

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
            await self.click(rest, lines)
        elif cmd == "select":
            await self.choose(rest, lines)
        elif cmd == "reply":
            number, _, words = rest.partition(" ")
            target = self.message_at(number)
            channel = self.sb.state.channels[target.channel_id]
            await self.sb.send(channel, words, author=self.user, reply_to=target)
        elif cmd in ("react", "unreact"):
            number, _, emoji = rest.partition(" ")
            target = self.message_at(number)
            act = self.sb.react if cmd == "react" else self.sb.unreact
            await act(target, emoji.strip() or "👍", user=self.user)
        else:
            raise SandboxError(f"unknown :{cmd} (try :help)")
        return True

    def _target(self, rest: str) -> tuple[str, Posted]:
        """What a ``:click`` / ``:select`` names, and its message: ``in M`` at the end, else the latest view."""
        words = rest.rsplit(" in ", 1)
        if len(words) == 2:
            found = self.message_at(words[1])
            if not found.components:
                raise SandboxError(f"message [{words[1].strip()}] has no buttons or selects")
            return words[0].strip(), self.sb.posted(found)
        return rest.strip(), self.latest_view_message()

    async def click(self, rest: str, lines: Lines) -> None:
        what, p = self._target(rest)
        if what.isdigit():
            h = await self.sb.click(p, index=int(what) - 1, user=self.user)
        else:
            h = await self.sb.click(p, label=what, user=self.user)
        await self.after_interaction(h, lines)

    async def choose(self, rest: str, lines: Lines) -> None:
        what, p = self._target(rest)
        num, _, picks = what.partition(" ")
        try:
            s = p.selects()[int(num) - 1]
        except (ValueError, IndexError):
            raise SandboxError(f"no select {num} (:select N picks)") from None
        values = self._picks(s, [x.strip() for x in picks.split(",") if x.strip()])
        before = {str(o["value"]) for o in s.get("options") or [] if o.get("default")}
        dropped = [o["label"] for o in s.get("options") or [] if str(o["value"]) in before - set(map(str, values))]
        h = await self.sb.select(p, values, custom_id=s["custom_id"], user=self.user)
        labels = {str(o["value"]): o["label"] for o in s.get("options") or []}
        chosen = ", ".join(labels.get(str(v), str(v)) for v in values) or "nothing"
        self.say(f"(chose: {chosen}" + (f"; no longer: {', '.join(dropped)})" if dropped else ")"))
        await self.after_interaction(h, lines)

    def _picks(self, s: dict[str, Any], picks: list[str]) -> list[Any]:
        """The values the picks name: option numbers or values; ``+N`` / ``-N`` change the current picks."""
        options = s.get("options") or []
        if not options:
            return [self._convert({"type": {5: 6, 6: 8, 8: 7}.get(s["type"], 9)}, pick) for pick in picks]

        def value(pick: str) -> Any:
            if pick.isdigit():
                if not 0 < int(pick) <= len(options):
                    raise SandboxError(f"no option {pick}: there are {len(options)}")
                return options[int(pick) - 1]["value"]
            return pick

        if picks and all(p[0] in "+-" for p in picks):
            current = [o["value"] for o in options if o.get("default")]
            for pick in picks:
                item = value(pick[1:].strip())
                if pick[0] == "+" and item not in current:
                    current.append(item)
                elif pick[0] == "-" and item in current:
                    current.remove(item)
            return current
        return [value(pick) for pick in picks]


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


def _file(raw: str) -> tuple[str, bytes]:
    """A file the user named by path, as (name, bytes); a path that is not a readable file is said plainly."""
    path = Path(raw).expanduser()
    if not path.is_file():
        raise SandboxError(f"no file at {raw}")
    return (path.name, path.read_bytes())
