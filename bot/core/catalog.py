"""Read-only access to the shipped tables in ``data/`` (TOML).

The files in ``data/`` are the single source of the numbers they hold. They ship with the code and never change at
run time, so reading them is not the kind of I/O ``core`` avoids; each file is parsed once and cached.
``PERSONA_HUB_DATA_DIR`` points elsewhere (tests of broken tables, packaging).
"""

from __future__ import annotations

import os
import tomllib
from functools import cache
from pathlib import Path
from typing import Any


def data_dir() -> Path:
    override = os.environ.get("PERSONA_HUB_DATA_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "data"


@cache
def load(name: str) -> dict[str, Any]:
    """The parsed ``data/<name>.toml``."""
    path = data_dir() / f"{name}.toml"
    with path.open("rb") as handle:
        return tomllib.load(handle)
