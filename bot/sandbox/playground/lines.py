"""Input lines for the playground: a script, a pipe, or the terminal (read without blocking the loop)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import TextIO


class Lines:
    """Input lines from a script, a pipe, or the terminal (read without blocking the loop)."""

    def __init__(self, script: str | None, stdin: TextIO) -> None:
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.interactive = False
        self.stdin = stdin
        if script is not None:
            for line in Path(script).read_text(encoding="utf-8").splitlines():
                self.queue.put_nowait(line)
            self.queue.put_nowait(None)
        elif not stdin.isatty():
            for line in stdin.read().splitlines():
                self.queue.put_nowait(line)
            self.queue.put_nowait(None)
        else:
            self.interactive = True
            asyncio.get_running_loop().add_reader(stdin.fileno(), self._on_readable)

    def _on_readable(self) -> None:
        line = self.stdin.readline()
        self.queue.put_nowait(None if line == "" else line.rstrip("\n"))

    async def next(self, prompt: str, out: TextIO) -> str | None:
        if self.interactive:
            out.write(prompt)
            out.flush()
        line = await self.queue.get()
        if line is not None and not self.interactive:
            out.write(f"{prompt}{line}\n")
        return line

    def close(self) -> None:
        if self.interactive:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self.stdin.fileno())
