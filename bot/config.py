"""Settings from the environment and ``.env`` (pydantic-settings).

Every setting is documented in ``.env.example``. A bad value stops the bot at start with a sentence that names the
setting (:class:`ConfigError`), never with a traceback.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/persona_hub.db"
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")

# Friendly spellings people paste, mapped to the async drivers the bot uses.
_SCHEME_ALIASES = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


class ConfigError(Exception):
    """The configuration cannot be used; the message names the setting and says what is wrong."""


class Settings(BaseSettings):
    """The bot's configuration. Environment variables have the field's name in capitals."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    discord_token: SecretStr | None = None
    # A Discord-compatible API to use instead of Discord's own (the sandbox: http://127.0.0.1:PORT/api/v10).
    discord_api_url: str | None = None
    database_url: str = DEFAULT_DATABASE_URL
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str | None = None
    llm_timeout_seconds: float = Field(default=30.0, gt=0)
    # The longest one reply may take, streaming included: a server that streams on and on is cut off here.
    llm_reply_seconds: float = Field(default=120.0, gt=0)
    # Stop sequences sent per request (OpenAI takes at most 4; 0: none).
    llm_max_stop_sequences: int = Field(default=4, ge=0, le=32)
    # The whole prompt of a reply, in estimated tokens (bot.core.prompt_budget says what is trimmed first).
    prompt_token_budget: int = Field(default=3000, ge=300, le=1_000_000)
    # Whether the default model accepts images (a persona's own model settings say so for its model).
    llm_vision: bool = False
    # Persona owners' own model servers may be on private, loopback or link-local addresses (bot/core/server_urls.py).
    allow_private_model_servers: bool = False
    scheduler_enabled: bool = True
    # How often the scheduler looks for jobs other processes added to the shared store (PostgreSQL, several
    # processes). Jobs this process adds itself run on time regardless.
    scheduler_poll_seconds: float = Field(default=30.0, gt=0, le=3600)
    shard_ids: Annotated[list[int] | None, NoDecode] = None
    shard_count: int | None = Field(default=None, ge=1)
    dev_guild_id: int | None = Field(default=None, ge=0)
    log_level: str = "INFO"
    auto_migrate: bool = True
    max_personas_per_user: int = Field(default=10, ge=1, le=1000)
    memory_encryption_key: SecretStr | None = None
    # Rate each new memory's importance by asking the model (Generative Agents' poignancy question) instead of the
    # built-in heuristic: one more model call per remembered message.
    memory_importance_by_model: bool = False
    # The model server's embedding model (its /v1/embeddings, at LLM_BASE_URL) for retrieval by meaning; unset: the
    # embedded default (WordLlama's shipped weights, no service). Changing it re-embeds every memory (backfill job).
    llm_embedding_model: str | None = None
    sandbox_port: int = Field(default=0, ge=0, le=65535)
    # Where the offline playground writes the bot's log: "file" (its folder's bot.log) or "screen" (the terminal).
    playground_log: str = "file"

    @field_validator(
        "discord_token",
        "llm_api_key",
        "memory_encryption_key",
        "llm_base_url",
        "llm_model",
        "llm_embedding_model",
        "dev_guild_id",
        "shard_count",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        # `SETTING=` in .env means "not set", not an empty string or a parse error.
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        return normalise_database_url(value)

    @field_validator("llm_base_url", "discord_api_url")
    @classmethod
    def _check_http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http:// or https:// URL")
        return value.strip().rstrip("/")

    @field_validator("log_level", mode="before")
    @classmethod
    def _check_log_level(cls, value: Any) -> str:
        text = str(value).strip().upper()
        if text not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return text

    @field_validator("playground_log", mode="before")
    @classmethod
    def _check_playground_log(cls, value: Any) -> str:
        text = str(value).strip().lower() or "file"
        if text not in ("file", "screen"):
            raise ValueError("must be file or screen")
        return text

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _parse_shard_ids(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            if not value.strip():
                return None
            try:
                return [int(part) for part in value.replace(" ", "").split(",") if part]
            except ValueError:
                raise ValueError("must be shard numbers separated by commas, such as 0,1") from None
        return value

    @model_validator(mode="after")
    def _check_shards(self) -> Settings:
        if self.shard_ids is not None:
            if self.shard_count is None:
                raise ValueError("SHARD_IDS needs SHARD_COUNT as well")
            bad = [i for i in self.shard_ids if i < 0 or i >= self.shard_count]
            if bad:
                raise ValueError(f"SHARD_IDS {bad} must be between 0 and SHARD_COUNT - 1 ({self.shard_count - 1})")
            if len(set(self.shard_ids)) != len(self.shard_ids):
                raise ValueError("SHARD_IDS lists a shard twice")
        return self

    # Derived facts, so nobody parses URLs twice.
    @property
    def database_kind(self) -> str:
        """'sqlite' or 'postgresql'."""
        return "sqlite" if self.database_url.startswith("sqlite") else "postgresql"

    def masked(self) -> dict[str, str]:
        """The effective configuration, secrets masked, for ``config check``."""
        shown: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                secret = value.get_secret_value()
                text = f"set ({len(secret)} characters, ending …{secret[-2:]})" if len(secret) > 8 else "set"
            elif name == "database_url":
                text = mask_url_password(value)
            elif value is None:
                text = "(not set)"
            elif isinstance(value, list):
                text = ",".join(str(v) for v in value)
            else:
                text = str(value)
            shown[name.upper()] = text
        return shown


def normalise_database_url(value: str) -> str:
    """Check ``DATABASE_URL`` and map friendly schemes to the async drivers (``postgres://`` -> asyncpg)."""
    text = value.strip()
    scheme, sep, rest = text.partition("://")
    if not sep or not rest:
        raise ValueError(
            "must look like sqlite+aiosqlite:///var/persona_hub.db or postgresql+asyncpg://user@host:5432/dbname"
        )
    driver = _SCHEME_ALIASES.get(scheme.lower())
    if driver is None:
        raise ValueError(
            f"uses '{scheme}', but only SQLite (sqlite+aiosqlite) and PostgreSQL (postgresql+asyncpg) work"
        )
    if driver.startswith("postgresql"):
        parts = urlsplit(f"{driver}://{rest}")
        if not parts.hostname or not parts.path.strip("/"):
            raise ValueError(
                "needs a host and a database name, such as postgresql+asyncpg://user@host:5432/persona_hub"
            )
        try:
            _ = parts.port
        except ValueError:
            raise ValueError("has a port that is not a number") from None
    elif rest != "/:memory:" and not rest.startswith("/"):
        raise ValueError("for SQLite needs three slashes and a file, such as sqlite+aiosqlite:///var/persona_hub.db")
    return f"{driver}://{rest}"


def mask_url_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


def sqlite_path(database_url: str) -> Path | None:
    """The file behind a SQLite URL (relative to the working directory), or None for PostgreSQL / memory."""
    if not database_url.startswith("sqlite"):
        return None
    rest = database_url.split("://", 1)[1]
    if rest == "/:memory:":
        return None
    return Path(rest[1:])


def _explain(error: ValidationError) -> str:
    sentences = []
    for item in error.errors():
        field = ".".join(str(part) for part in item.get("loc", ()) if part != "__root__")
        message = str(item.get("msg", "is not valid"))
        message = message.removeprefix("Value error, ")
        if field:
            sentences.append(f"{field.upper()} {message}" if message[:1].islower() else f"{field.upper()}: {message}")
        else:
            sentences.append(message)
    return "Configuration error: " + "; ".join(sentences) + "."


def load_settings(**overrides: Any) -> Settings:
    """Read the settings (environment, ``.env``, then ``overrides``); raise :class:`ConfigError` with a sentence."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise ConfigError(_explain(error)) from None


def configure_logging(level: str, file: Path | None = None) -> None:
    """Log at ``level`` to stderr, or, with ``file``, to that file instead (appended; its folder is made): the
    terminal's handlers set before are replaced by the file's."""
    fmt = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
    logging.basicConfig(level=level, format=fmt)
    root = logging.getLogger()
    root.setLevel(level)
    if file is not None:
        for handler in list(root.handlers):
            if type(handler) is logging.StreamHandler and handler.stream in (sys.stderr, sys.stdout):
                root.removeHandler(handler)
        file.parent.mkdir(parents=True, exist_ok=True)
        to_file = logging.FileHandler(file, encoding="utf-8")
        to_file.setFormatter(logging.Formatter(fmt))
        root.addHandler(to_file)
    # discord.py is chatty at INFO about gateway internals; keep it at WARNING unless debugging.
    if level != "DEBUG":
        logging.getLogger("discord").setLevel(logging.WARNING)
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)
