"""The five-minute tour (scripts/tour.txt, what `make tour` plays) passes: a persona made with the wizard answers in
#general, a reaction moves its mood, the mood comes with its chart, and its memory holds the conversation."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.app import PersonaHubBot
from bot.config import load_settings
from bot.sandbox import Sandbox
from bot.sandbox.playground import run
from tests.support.reading import unnumbered

pytestmark = pytest.mark.e2e
TOUR = Path(__file__).resolve().parents[2] / "scripts" / "tour.txt"


async def test_the_tour_makes_a_persona_that_talks_feels_and_remembers(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no developer .env: offline, as `make tour`
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/tour.db", llm_base_url="")
    bot = PersonaHubBot(settings)
    out = io.StringIO()
    async with bot:
        code = await run(sandbox, bot, str(TOUR), stdin=io.StringIO(), out=out, world=tmp_path / "world.json")
    assert code == 0
    text = unnumbered(out.getvalue().splitlines())
    assert not [line for line in text if line.startswith("! ")], out.getvalue()

    def after(line: str, span: int = 12) -> list[str]:
        at = text.index(f"> {line}")
        return text[at + 1 : at + 1 + span]

    assert "  ┃ Ada is born" in after(":click Create persona")
    said = after("Ada, my name is Alice and I love green tea.", 2)
    assert said[0] == "#general Alice: Ada, my name is Alice and I love green tea."
    assert said[1].startswith("#general Ada: ")
    mood = after("/mood show persona:Ada", 20)
    assert any("Ada feels" in line for line in mood)
    assert any("sign of affection" in line for line in mood)  # the ❤️ reaction counted
    assert any(line.startswith("  📎 mood.png") for line in mood)
    memory = after("/memory search persona:Ada query:tea", 10)
    assert any("Alice said: “Ada, my name is Alice and I love green tea.”" in line for line in memory)
