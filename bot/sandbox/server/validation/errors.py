"""The nested ``errors`` object of Discord's ``50035 Invalid Form Body``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.sandbox.server.http import INVALID_FORM_BODY, ApiError

Path = Sequence[str | int]


class FormErrors:
    """Findings about one request body, keyed by field path (``("embeds", 0, "fields")``)."""

    def __init__(self) -> None:
        self.errors: dict[str, Any] = {}

    def __bool__(self) -> bool:
        return bool(self.errors)

    def add(self, path: Path, code: str, message: str) -> None:
        node = self.errors
        for part in path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    # The findings Discord names most often, with its wording.

    def required(self, path: Path) -> None:
        self.add(path, "BASE_TYPE_REQUIRED", "This field is required")

    def max_length(self, path: Path, value: Any, limit: int) -> bool:
        """Refuses a string or list longer than ``limit``; says whether it was refused."""
        if value is not None and len(value) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")
            return True
        return False

    def bad_length(self, path: Path, value: Any, low: int, high: int) -> bool:
        """Refuses a string or list whose length is outside ``low..high``; says whether it was refused."""
        if value is None or not low <= len(value) <= high:
            self.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length.")
            return True
        return False

    def choices(self, path: Path, value: Any, allowed: Sequence[Any]) -> bool:
        if value not in allowed:
            shown = ", ".join(str(a) for a in allowed)
            self.add(path, "BASE_TYPE_CHOICES", f"Value must be one of {{{shown}}}.")
            return True
        return False

    def error(self) -> ApiError:
        return ApiError(400, INVALID_FORM_BODY, "Invalid Form Body", self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise self.error()
