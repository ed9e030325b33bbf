"""JSON parsing that shares the interpreter: for big uploads parsed in a worker thread.

The standard library's C scanner builds a whole document in one call that holds the GIL throughout: parsing a
10 MB upload in a worker thread still stops the event loop for the whole parse (~100-250 ms). Its pure-Python
scanner, the same grammar and the same errors, runs as ordinary bytecode, so the interpreter hands the GIL to the
event loop's thread every switch interval (5 ms) while it works. It is several times slower: use it for uploads
that are parsed off the loop, not for small documents on it.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
from collections.abc import Callable
from typing import Any


def loads_sharing(text: str, *, parse_constant: Callable[[str], Any] | None = None) -> Any:
    """``json.loads(text)``, parsed by the pure-Python scanner (see the module docstring). Raises what
    ``json.loads`` raises: :class:`json.JSONDecodeError`, ``RecursionError`` for deep nesting, ``ValueError`` for
    an integer too long to convert."""
    decoder = json.JSONDecoder(parse_constant=parse_constant)
    decoder.parse_string = json.decoder.py_scanstring  # type: ignore[attr-defined]
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    return decoder.decode(text)
