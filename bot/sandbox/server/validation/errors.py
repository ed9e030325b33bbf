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

    def not_a_string(self, path: Path) -> None:
        self.add(path, "BASE_TYPE_STRING", "Must be a string.")

    def not_a_dict(self, path: Path) -> None:
        self.add(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")

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

    def out_of_range(self, path: Path, value: Any, low: int | None, high: int | None, *, kind: str = "int") -> bool:
        """Refuses a number that is not of ``kind`` (``"int"``, or ``"float"``, which takes an int too) or lies below
        ``low`` or above ``high`` (either may be None); None passes. Says whether it was refused."""
        if value is None:
            return False
        types = int if kind == "int" else int | float
        if isinstance(value, bool) or not isinstance(value, types):
            self.add(path, "NUMBER_TYPE_COERCE", f'Value "{value}" is not {kind}.')
            return True
        if low is not None and value < low:
            self.add(path, "NUMBER_TYPE_MIN", f"{kind} value should be greater than or equal to {low}.")
            return True
        if high is not None and value > high:
            self.add(path, "NUMBER_TYPE_MAX", f"{kind} value should be less than or equal to {high}.")
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
