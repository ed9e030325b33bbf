"""Components V2 in messages: the body's ``components`` when its flags carry ``IS_COMPONENTS_V2`` (1 << 15)."""

from __future__ import annotations

from typing import Any

from bot.sandbox.server.validation.errors import FormErrors, Path

IS_COMPONENTS_V2 = 1 << 15


def check_layout(components: list[dict[str, Any]], errors: FormErrors, path: Path = ("components",)) -> None:
    """Checks a V2 component tree (not yet: the V2 limits land with the Components V2 work)."""
