"""Rules for a persona's identity, behaviour settings and privacy settings (pure).

Every check raises :class:`~bot.core.errors.DomainError` with a sentence the user sees as it is.
Traits and custom traits are validated by :mod:`bot.core.personality`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

from bot.core.character import NAME_MAX, TEXT_MAX
from bot.core.errors import DomainError
from bot.core.inputs import one_of, require_storable

# A persona's name holds up to NAME_MAX characters (bot.core.character: a card's full name, typed or imported alike).
# Where Discord needs 80 characters at most (a webhook's username), :func:`display_name` derives one.
DISPLAY_NAME_MAX = 80
# As generous as every character text (bot.core.character): the prompt's token budget decides what the model reads.
DESCRIPTION_MAX = TEXT_MAX
AVATAR_URL_MAX = 2048
# Discord refuses these in webhook usernames; a persona speaks through a webhook under its name.
FORBIDDEN_IN_NAME = ("discord", "clyde", "@", "#", ":", "```")

STATUSES = ("draft", "active", "retiring", "retired")
VISIBILITY = ("owner", "server", "public")


def validate_name(name: str, *, limit: int = NAME_MAX) -> str:
    """1..200 characters (:data:`NAME_MAX`), not blank, and nothing Discord refuses in a webhook name."""
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise DomainError("A persona needs a name (it cannot be blank).")
    require_storable(cleaned, "The name")
    if len(cleaned) > limit:
        raise DomainError(f"The name is {len(cleaned)} characters long; the limit is {limit}.")
    lowered = cleaned.lower()
    for bad in FORBIDDEN_IN_NAME:
        if bad in lowered:
            raise DomainError(f"The name cannot contain '{bad}': Discord refuses it for webhook names.")
    if lowered in ("everyone", "here"):
        raise DomainError(f"'{cleaned}' cannot be a persona's name.")
    return cleaned


def display_name(name: str) -> str:
    """The name as Discord shows it where it takes 80 characters at most (a webhook's username): the name
    itself, or a long imported name cut at a word with an ellipsis."""
    if len(name) <= DISPLAY_NAME_MAX:
        return name
    cut = name[: DISPLAY_NAME_MAX - 1]
    if " " in cut[DISPLAY_NAME_MAX // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip() + "…"


def validate_description(description: str | None) -> str:
    """Up to 100,000 characters (:data:`DESCRIPTION_MAX`, as every character text)."""
    text = require_storable((description or "").strip(), "The description")
    if len(text) > DESCRIPTION_MAX:
        raise DomainError(f"The description is {len(text):,} characters long; the limit is {DESCRIPTION_MAX:,}.")
    return text


def validate_avatar_url(url: str | None) -> str | None:
    """An http(s) URL, or nothing."""
    if url is None or not url.strip():
        return None
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in text:
        raise DomainError("The avatar must be an http:// or https:// link to an image.")
    if len(text) > AVATAR_URL_MAX:
        raise DomainError(f"The avatar link is longer than {AVATAR_URL_MAX} characters.")
    return text


def validate_status(status: str) -> str:
    if status not in STATUSES:
        raise DomainError(f"'{status}' is not a persona status ({', '.join(STATUSES)}).")
    return status


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise DomainError(f"{name} must be yes or no.")
    return value


def _int(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise DomainError(f"{name} must be a whole number from {low} to {high}.")
    if not low <= value <= high:
        raise DomainError(f"{name} must be from {low} to {high}; got {value:g}.")
    return int(value)


@dataclass(frozen=True)
class BehaviorSettings:
    """When and how a persona replies (wizard step 4)."""

    reply_when_mentioned: bool = True
    reply_when_named: bool = True
    reply_when_replied_to: bool = True
    chattiness: int = 10  # 0..100: the chance, in percent, of answering any other message
    verbosity: str = "balanced"  # brief | balanced | detailed
    formality: str = "neutral"  # casual | neutral | formal
    emoji_use: str = "some"  # none | some | lots
    reply_in_threads: bool = False
    cooldown_seconds: int = 5
    max_persona_exchange_depth: int = 3  # persona-to-persona replies in a row before it stops
    react_with_mood: bool = False

    VERBOSITY = ("brief", "balanced", "detailed")
    FORMALITY = ("casual", "neutral", "formal")
    EMOJI_USE = ("none", "some", "lots")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> BehaviorSettings:
        """Validated settings; missing keys take defaults, unknown keys are refused."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise DomainError(f"Unknown behaviour setting: {', '.join(unknown)}.")
        merged = {**asdict(cls()), **data}
        return cls(
            reply_when_mentioned=_bool("Reply when mentioned", merged["reply_when_mentioned"]),
            reply_when_named=_bool("Reply when addressed by name", merged["reply_when_named"]),
            reply_when_replied_to=_bool("Reply when replied to", merged["reply_when_replied_to"]),
            chattiness=_int("Chattiness", merged["chattiness"], 0, 100),
            verbosity=one_of(merged["verbosity"], "Verbosity", cls.VERBOSITY),
            formality=one_of(merged["formality"], "Formality", cls.FORMALITY),
            emoji_use=one_of(merged["emoji_use"], "Emoji use", cls.EMOJI_USE),
            reply_in_threads=_bool("Reply in threads", merged["reply_in_threads"]),
            cooldown_seconds=_int("Cooldown", merged["cooldown_seconds"], 0, 3600),
            max_persona_exchange_depth=_int("Persona exchange depth", merged["max_persona_exchange_depth"], 0, 20),
            react_with_mood=_bool("React with mood", merged["react_with_mood"]),
        )


PRIVACY_FIELDS = (
    "profile",
    "description",
    "traits",
    "mood",
    "memories",
    "timeline",
    "achievements",
    "relationships",
)
_DEFAULT_VISIBILITY = {
    "profile": "server",
    "description": "server",
    "traits": "server",
    "mood": "server",
    "memories": "owner",
    "timeline": "server",
    "achievements": "server",
    "relationships": "owner",
}


RETIRED_PRIVACY_SETTING = "ask_before_remembering"


@dataclass(frozen=True)
class PrivacySettings:
    """Who sees what (per field: owner / server / public), and what the persona may remember (wizard step 5)."""

    visibility: dict[str, str] = field(default_factory=lambda: dict(_DEFAULT_VISIBILITY))
    remember_people: bool = True  # may remember what consenting people say
    shareable: bool = False  # may be cloned / exported by others when public

    def to_dict(self) -> dict[str, Any]:
        return {
            "visibility": dict(self.visibility),
            "remember_people": self.remember_people,
            "shareable": self.shareable,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> PrivacySettings:
        data = dict(data or {})
        # "Ask before remembering" was offered once and never asked anyone; it is gone. Settings saved with it
        # (stored personas, drafts, exports) still load, and the flag is dropped on the next save.
        data.pop(RETIRED_PRIVACY_SETTING, None)
        unknown = sorted(set(data) - {"visibility", "remember_people", "shareable"})
        if unknown:
            raise DomainError(f"Unknown privacy setting: {', '.join(unknown)}.")
        visibility = dict(_DEFAULT_VISIBILITY)
        given = data.get("visibility") or {}
        if not isinstance(given, Mapping):
            raise DomainError("Privacy visibility must map fields to owner, server or public.")
        for key, value in given.items():
            if key not in PRIVACY_FIELDS:
                raise DomainError(f"'{key}' is not a privacy field ({', '.join(PRIVACY_FIELDS)}).")
            visibility[key] = one_of(value, f"Visibility of {key}", VISIBILITY)
        return cls(
            visibility=visibility,
            remember_people=_bool("Remember people", data.get("remember_people", True)),
            shareable=_bool("Shareable", data.get("shareable", False)),
        )

    def can_see(self, item: str, *, is_owner: bool, same_guild: bool) -> bool:
        """The one visibility rule: the owner sees everything; the server sees server and public fields;
        anyone else sees public fields only."""
        if is_owner:
            return True
        level = self.visibility.get(item, "owner")
        if level == "public":
            return True
        return level == "server" and same_guild


def validate_plugins(plugins: Any, known: tuple[str, ...] | None = None) -> list[str]:
    """A list of distinct plugin names (each known, when a registry is given)."""
    if plugins is None:
        return []
    if not isinstance(plugins, list | tuple) or not all(isinstance(p, str) for p in plugins):
        raise DomainError("Plugins must be a list of plugin names.")
    cleaned: list[str] = []
    for name in plugins:
        name = name.strip()
        if known is not None and name not in known:
            raise DomainError(f"There is no plugin called '{name}' (available: {', '.join(known)}).")
        if name and name not in cleaned:
            cleaned.append(name)
    if len(cleaned) > 20:
        raise DomainError("A persona can use at most 20 plugins.")
    return cleaned
