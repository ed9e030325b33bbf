"""Run every benchmark in ``bench/`` (modules named ``bench_*.py`` with ``async def main() -> None``).

``python -m bench`` runs them all; ``python -m bench personas sandbox`` runs those whose name contains a word.
Options (``--name VALUE`` or ``--name=VALUE``) go to the benchmarks whose ``main`` takes a mapping of them, e.g.
``python -m bench locomo --data FOLDER`` (``bench_locomo``: where the LoCoMo data set is).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
import pkgutil
import sys
import time

import bench


def _modules(filters: list[str]) -> list[str]:
    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_"))
    if filters:
        names = [n for n in names if any(f in n for f in filters)]
    return names


def parse_arguments(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    """The name filters and the ``--name VALUE`` options of a command line."""
    filters: list[str] = []
    options: dict[str, str] = {}
    rest = iter(argv)
    for argument in rest:
        if not argument.startswith("--"):
            filters.append(argument)
            continue
        name, equals, value = argument[2:].partition("=")
        if not equals:
            value = next(rest, "")
        if not name or not value:
            raise SystemExit(f"bench: the option {argument} needs a value (--name VALUE)")
        options[name] = value
    return filters, options


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING)
    filters, options = parse_arguments(argv)
    failures = 0
    for name in _modules(filters):
        module = importlib.import_module(f"bench.{name}")
        print(f"## {name}", flush=True)
        started = time.perf_counter()
        try:
            takes_options = bool(inspect.signature(module.main).parameters)
            asyncio.run(module.main(options) if takes_options else module.main())
        except Exception as error:
            failures += 1
            print(f"# {name} failed: {type(error).__name__}: {error}", flush=True)
        print(f"# {name} took {time.perf_counter() - started:.1f} s", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
