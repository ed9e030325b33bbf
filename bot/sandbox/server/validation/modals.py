"""Modal callbacks (interaction response type 9): the modal and its components, V1 and V2."""

from __future__ import annotations

from typing import Any

from bot.sandbox.server.validation.errors import FormErrors, Path


def check_modal(data: dict[str, Any], errors: FormErrors, path: Path = ("data",)) -> None:
    for key in ("custom_id", "title", "components"):
        if not data.get(key):
            errors.required([*path, key])
