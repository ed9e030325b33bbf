"""Settings: every bad value fails at start with a sentence naming the setting; every setting is documented.

The command line's own tests (a subprocess each) are in tests/integration/test_cli.py."""

from __future__ import annotations

import os
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


def test_every_setting_is_documented_in_env_example() -> None:
    from bot.config import Settings

    documented = {
        line.split("=", 1)[0].strip()
        for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    }
    assert {name.upper() for name in Settings.model_fields} <= documented
