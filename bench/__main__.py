"""Run every benchmark in ``bench/`` (modules named ``bench_*.py`` with ``async def main() -> None``).

``python -m bench`` runs them all; ``python -m bench personas sandbox`` runs those whose name contains a word.
"""

from __future__ import annotations

import asyncio
import importlib
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


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING)
    failures = 0
    for name in _modules(argv):
        module = importlib.import_module(f"bench.{name}")
        print(f"## {name}", flush=True)
        started = time.perf_counter()
        try:
            asyncio.run(module.main())
        except Exception as error:
            failures += 1
            print(f"# {name} failed: {type(error).__name__}: {error}", flush=True)
        print(f"# {name} took {time.perf_counter() - started:.1f} s", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
