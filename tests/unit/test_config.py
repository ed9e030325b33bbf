"""Settings: every bad value fails at start with a sentence naming the setting; the command line says so too."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No .env from the developer's checkout and no stray settings from the shell."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name in {
            "DISCORD_TOKEN",
            "DATABASE_URL",
            "LLM_BASE_URL",
            "LLM_API_KEY",
            "LLM_MODEL",
            "LOG_LEVEL",
            "SHARD_IDS",
            "SHARD_COUNT",
            "DEV_GUILD_ID",
            "SCHEDULER_ENABLED",
        }:
            monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DATABASE_URL", "mysql://u@h/db", "DATABASE_URL uses 'mysql'"),
        ("DATABASE_URL", "not a url", "DATABASE_URL must look like"),
        ("DATABASE_URL", "postgresql://", "DATABASE_URL must look like"),
        ("DATABASE_URL", "postgresql://user@/", "DATABASE_URL needs a host and a database name"),
        ("DATABASE_URL", "sqlite+aiosqlite://relative.db", "DATABASE_URL for SQLite needs three slashes"),
        ("LLM_BASE_URL", "localhost:11434", "LLM_BASE_URL must be an http:// or https:// URL"),
        ("LLM_BASE_URL", "ftp://models.example", "LLM_BASE_URL must be an http:// or https:// URL"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL must be one of CRITICAL, ERROR, WARNING, INFO, DEBUG"),
        ("SCHEDULER_ENABLED", "perhaps", "SCHEDULER_ENABLED"),
        ("SHARD_COUNT", "0", "SHARD_COUNT"),
        ("SHARD_IDS", "0,one", "SHARD_IDS must be shard numbers separated by commas"),
        ("DEV_GUILD_ID", "my-guild", "DEV_GUILD_ID"),
    ],
)
def test_a_bad_value_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert message in str(caught.value)
    assert str(caught.value).startswith("Configuration error: ")


def test_shard_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHARD_IDS", "0,1")
    with pytest.raises(ConfigError, match="SHARD_IDS needs SHARD_COUNT"):
        load_settings()
    monkeypatch.setenv("SHARD_COUNT", "2")
    assert load_settings().shard_ids == [0, 1]
    monkeypatch.setenv("SHARD_IDS", "0,2")
    with pytest.raises(ConfigError, match=r"SHARD_IDS \[2\] must be between 0 and SHARD_COUNT - 1"):
        load_settings()


def test_defaults_and_friendly_spellings(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite+aiosqlite:///var/persona_hub.db"
    assert settings.scheduler_enabled is True and settings.discord_token is None
    monkeypatch.setenv("DATABASE_URL", "postgres://bot:pw@db.internal:5432/hub")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    settings = load_settings()
    assert settings.database_url == "postgresql+asyncpg://bot:pw@db.internal:5432/hub"
    assert settings.database_kind == "postgresql" and settings.log_level == "DEBUG"


def test_dotenv_is_read_and_secrets_are_masked(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DISCORD_TOKEN=abcdefghijklmnop.secret\nLLM_BASE_URL=http://127.0.0.1:8080/v1/\n")
    settings = load_settings()
    assert settings.discord_token is not None
    assert settings.llm_base_url == "http://127.0.0.1:8080/v1"
    shown = settings.masked()
    assert "abcdefghijklmnop" not in shown["DISCORD_TOKEN"] and shown["DISCORD_TOKEN"].startswith("set")
    monkey_url = load_settings(database_url="postgresql+asyncpg://bot:hunter2@h:5432/d").masked()["DATABASE_URL"]
    assert "hunter2" not in monkey_url and ":***@" in monkey_url


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


def test_cli_unreachable_database_exits_non_zero_with_a_clear_message(tmp_path: Path) -> None:
    # Port 9 on loopback: nothing listens there.
    result = _cli("db", "current", env={"DATABASE_URL": "postgresql+asyncpg://u@127.0.0.1:9/none"}, cwd=tmp_path)
    assert result.returncode == 3
    assert "Cannot use the database at postgresql+asyncpg://u@127.0.0.1:9/none" in result.stderr
    assert "Traceback" not in result.stderr


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


def test_every_setting_is_documented_in_env_example() -> None:
    from bot.config import Settings

    documented = {
        line.split("=", 1)[0].strip()
        for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    }
    assert {name.upper() for name in Settings.model_fields} <= documented
