"""The real model server for the ``realmodel`` suite: llama.cpp's OpenAI-compatible server serving
SmolLM2-135M-Instruct, built once per machine by ``scripts/realmodel.sh`` into a cache outside the repository.

The session starts one server on a free loopback port and stops it at the end; each test puts a
:class:`~tests.realmodel.proxy.RecordingProxy` in front of it (to see what reached the model) and runs the real bot
against the sandbox with ``llm_base_url`` pointing at the proxy.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.app import PersonaHubBot
from bot.config import load_settings
from bot.sandbox import Sandbox
from tests.realmodel.proxy import RecordingProxy

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "realmodel.sh"
MODEL_ALIAS = "smollm2"  # the name the server answers to (scripts/realmodel.sh)
START_SECONDS = 120.0


@dataclass(frozen=True)
class RealModel:
    """A running llama.cpp server: ``root`` is http://127.0.0.1:PORT (the OpenAI API is under /v1)."""

    root: str
    log: Path

    def count_tokens(self, text: str) -> int:
        """How many tokens the served model's own tokenizer makes of ``text``."""
        request = urllib.request.Request(
            f"{self.root}/extras/tokenize",
            data=json.dumps({"input": text, "model": MODEL_ALIAS}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return len(json.load(response)["tokens"])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_serving(root: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the model server exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{root}/v1/models", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    pytest.fail(f"the model server did not answer within {START_SECONDS:.0f} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def real_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealModel]:
    """Build the server if this machine has not yet (minutes, once), start it on a free port, stop it after."""
    built = subprocess.run(["bash", str(SCRIPT), "build"], capture_output=True, text=True, check=False)
    if built.returncode != 0:
        pytest.fail(f"building the real model server failed:\n{built.stderr[-3000:]}")
    port = _free_port()
    root = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("realmodel") / "server.log"
    env = {**os.environ, "REALMODEL_SEED": os.environ.get("REALMODEL_SEED", "17")}
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["bash", str(SCRIPT), "serve", str(port)], stdout=out, stderr=subprocess.STDOUT, env=env
        )
    try:
        _wait_until_serving(root, process, log)
        yield RealModel(root, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
async def proxy(real_model: RealModel) -> AsyncIterator[RecordingProxy]:
    """A recording proxy in front of the session's server, for this test."""
    async with RecordingProxy(real_model.root) as recording:
        yield recording


@pytest.fixture
def database_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The bot's SQLite file, in a working folder of its own (so no developer's .env is read)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path / "bot.db"


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """A started sandbox: guild "Sandbox" (#general, #personas), humans alice and bob, the bot user."""
    sb = Sandbox()
    await sb.start()
    try:
        yield sb
    finally:
        await sb.stop()


@asynccontextmanager
async def bot_on_real_model(
    sandbox: Sandbox, path: Path, proxy: RecordingProxy, **settings: Any
) -> AsyncIterator[PersonaHubBot]:
    """The real bot on the SQLite file ``path``, in ``sandbox``, talking to the real model through ``proxy``."""
    loaded = load_settings(
        database_url=f"sqlite+aiosqlite:///{path}",
        scheduler_enabled=False,
        discord_token=sandbox.token,
        llm_base_url=proxy.base_url,
        llm_model=MODEL_ALIAS,
        llm_timeout_seconds=settings.pop("llm_timeout_seconds", 90.0),
        **settings,
    )
    bot = PersonaHubBot(loaded)
    async with bot, sandbox.run_client(bot, timeout=30):
        yield bot
