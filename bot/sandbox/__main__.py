"""``python -m bot.sandbox --port N``: run the sandbox server alone, with its default world."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from bot.sandbox.harness import Sandbox


async def _serve(port: int) -> None:
    sandbox = Sandbox(point=False)
    await sandbox.start(port)
    srv = sandbox.server
    print(f"sandbox REST {srv.api_url}", flush=True)
    print(f"sandbox gateway {srv.gateway_url}", flush=True)
    print(f"sandbox token {srv.token}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await sandbox.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.sandbox", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
