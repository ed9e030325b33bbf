"""Write a new migration from the difference between the models and a database at head.

    python -m bot.db.autogenerate "what changed" 0003

It migrates a scratch SQLite file to head, compares, and writes ``bot/db/migrations/versions/<rev>_<slug>.py``.
Read the result before committing it: autogenerate cannot see everything (renames, data moves, FTS tables).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from alembic import command

from bot.db import migrate
from bot.db.engine import make_engine


async def generate(message: str, revision_id: str | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite+aiosqlite:///{Path(folder) / 'scratch.db'}")
        try:
            await migrate.upgrade(engine)
            async with engine.connect() as connection:

                def run(sync_connection) -> None:
                    config = migrate.alembic_config()
                    config.attributes["connection"] = sync_connection
                    command.revision(config, message=message, autogenerate=True, rev_id=revision_id)

                await connection.run_sync(run)
        finally:
            await engine.dispose()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    asyncio.run(generate(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))
