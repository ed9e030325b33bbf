"""The command line (``python -m bot``), run as a subprocess: a bad setting or an unreachable database exits non-zero
with a sentence and no traceback; the db commands walk the migrations; every command has help."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str, env: dict[str, str] | None = None, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in {"DISCORD_TOKEN", "DATABASE_URL", "LOG_LEVEL"}}
    environment["PYTHONPATH"] = str(ROOT)
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=120,
    )


def test_cli_bad_setting_exits_non_zero_with_the_sentence(tmp_path: Path) -> None:
    result = _cli("config", "check", env={"LOG_LEVEL": "LOUD"}, cwd=tmp_path)
    assert result.returncode == 2
    assert "LOG_LEVEL must be one of" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_cli_unreachable_database_exits_non_zero_with_a_clear_message(tmp_path: Path) -> None:
    # Port 9 on loopback: nothing listens there.
    result = _cli("db", "current", env={"DATABASE_URL": "postgresql+asyncpg://u@127.0.0.1:9/none"}, cwd=tmp_path)
    assert result.returncode == 3
    assert "Cannot use the database at postgresql+asyncpg://u@127.0.0.1:9/none" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_cli_db_commands_and_config_check(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/cli.db",
        "DISCORD_TOKEN": "abcdefghijklmnopqrstuvwxyz",
    }
    assert "(none: empty database)" in _cli("db", "current", env=env, cwd=tmp_path).stdout
    upgraded = _cli("db", "upgrade", env=env, cwd=tmp_path)
    assert upgraded.returncode == 0 and "up to date" in upgraded.stdout
    one_step = _cli("db", "downgrade", env=env, cwd=tmp_path)
    assert one_step.returncode == 0 and "(head is " in one_step.stdout  # one revision below head
    to_base = _cli("db", "downgrade", "base", env=env, cwd=tmp_path)
    assert to_base.returncode == 0 and "(none: empty database)" in to_base.stdout
    checked = _cli("config", "check", env=env, cwd=tmp_path)
    assert checked.returncode == 0
    assert "abcdefghijklmnop" not in checked.stdout and "database: reachable (sqlite)" in checked.stdout


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["run"],
        ["sandbox"],
        ["db"],
        ["db", "upgrade"],
        ["db", "downgrade"],
        ["db", "current"],
        ["config"],
        ["config", "check"],
    ],
)
def test_cli_help_on_each_command(tmp_path: Path, command: list[str]) -> None:
    result = _cli(*command, "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("usage: python -m bot")
