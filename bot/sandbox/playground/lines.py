"""Input lines for the playground: a script, a pipe, or the terminal (read without blocking the loop)."""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import stat
from pathlib import Path
from typing import TextIO


def _streams(stdin: TextIO) -> int | None:
    """The file descriptor of ``stdin`` when it is a terminal or a pipe (read as lines come), else None (a file or
    an in-memory text: read at once)."""
    try:
        fd = stdin.fileno()
        mode = os.fstat(fd).st_mode
    except (OSError, ValueError):
        return None
    return fd if stdin.isatty() or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) else None


class Lines:
    """Input lines from a script, a pipe, or the terminal. A terminal or a pipe is read by the event loop when it
    has data, never by a blocking read (which would stall the bot, its heartbeats included, while waiting)."""

    def __init__(self, script: str | None, stdin: TextIO) -> None:
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.stdin = stdin
        self.interactive = script is None and stdin.isatty()
        self.fd: int | None = None
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        if script is not None:
            self._put_all(Path(script).read_text(encoding="utf-8"))
        elif (fd := _streams(stdin)) is not None:
            self.fd = fd
            asyncio.get_running_loop().add_reader(fd, self._on_readable)
        else:
            self._put_all(stdin.read())

    def _put_all(self, text: str) -> None:
        for line in text.splitlines():
            self.queue.put_nowait(line)
        self.queue.put_nowait(None)

    def _on_readable(self) -> None:
        assert self.fd is not None
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            data = b""
        if not data:
            self._stop_reading()
            if self._pending:
                self.queue.put_nowait(self._pending)
            self.queue.put_nowait(None)
            return
        text = self._pending + self._decoder.decode(data)
        *lines, self._pending = text.split("\n")
        for line in lines:
            self.queue.put_nowait(line.rstrip("\r"))

    async def next(self, prompt: str, out: TextIO) -> str | None:
        if self.interactive:
            out.write(prompt)
            out.flush()
        line = await self.queue.get()
        if line is not None and not self.interactive:
            out.write(f"{prompt}{line}\n")
        return line

    def _stop_reading(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self.fd)
            self.fd = None

    def close(self) -> None:
        self._stop_reading()
