"""The command line: ``python -m bot run | sandbox | db upgrade|downgrade|current | config check``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.config import ConfigError, Settings, configure_logging, load_settings

EXIT_CONFIG = 2
EXIT_DATABASE = 3
EXIT_LOGIN = 4
EXIT_DISCORD = 5


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="Persona Hub: AI personas for your Discord server."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser(
        "run",
        help="run the bot (with no DISCORD_TOKEN: the offline sandbox)",
        description="Connect to Discord with DISCORD_TOKEN and serve. With no token, start the local sandbox "
        "and the bot together, so you can try everything offline.",
    )
    run.add_argument("--shards", help="serve only these shards, such as 0,1 (overrides SHARD_IDS)")
    run.add_argument("--shard-count", type=int, help="total number of shards (overrides SHARD_COUNT)")
    _playground_options(run, " (offline sandbox only)")

    sandbox = commands.add_parser(
        "sandbox",
        help="try the bot offline: a local Discord-like server, the bot, and a terminal chat",
        description="Start the local sandbox server with a 'Sandbox' guild, start the bot against it, and chat "
        "from the terminal. Lines: plain text is a message; /command option:value runs a slash command.",
    )
    sandbox.add_argument("--script", help="run the lines of this file instead of reading the terminal")
    _playground_options(sandbox, "")

    db = commands.add_parser("db", help="database migrations", description="Manage the database schema.")
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = db_commands.add_parser("upgrade", help="migrate up (to head by default)", description="Migrate up.")
    up.add_argument("revision", nargs="?", default="head", help="target revision (default: head)")
    down = db_commands.add_parser(
        "downgrade", help="migrate down one step (or to a revision)", description="Migrate down."
    )
    down.add_argument("revision", nargs="?", default="-1", help="target revision (default: -1, one step; base)")
    db_commands.add_parser("current", help="show the database's revision", description="Show the revision.")

    config = commands.add_parser("config", help="configuration", description="Inspect the configuration.")
    config_commands = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    config_commands.add_parser(
        "check",
        help="print the effective configuration (secrets masked)",
        description="Print the effective configuration, secrets masked, and check the database is reachable.",
    )
    return parser


def _playground_options(parser: argparse.ArgumentParser, only: str) -> None:
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="start with a new world: remove the saved world and the playground's own database (never the one "
        f"DATABASE_URL names){only}",
    )
    parser.add_argument(
        "--home",
        type=Path,
        help=f"the playground's folder: world.json, persona_hub.db, bot.log (default: var/playground){only}",
    )
    parser.add_argument(
        "--log-to-screen",
        action="store_true",
        help=f"print the bot's log in the terminal instead of the folder's bot.log (PLAYGROUND_LOG=screen){only}",
    )


def _settings_for(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "shards", None) is not None:
        overrides["shard_ids"] = args.shards
    if getattr(args, "shard_count", None) is not None:
        overrides["shard_count"] = args.shard_count
    return load_settings(**overrides)


async def _db_command(settings: Settings, action: str, revision: str | None) -> int:
    from bot.db import migrate
    from bot.db.engine import Database

    database = Database(settings.database_url)
    try:
        await database.check()
        if action == "upgrade":
            await migrate.upgrade(database.engine, revision or "head")
        elif action == "downgrade":
            await migrate.downgrade(database.engine, revision or "-1")
        current = await migrate.current(database.engine)
        head = migrate.head()
        state = "up to date" if current == head else f"head is {head}"
        print(f"database revision: {current or '(none: empty database)'} ({state})")
        return 0
    finally:
        await database.dispose()


async def _config_check(settings: Settings) -> int:
    from bot.db.engine import Database

    width = max(len(k) for k in settings.masked())
    for key, value in settings.masked().items():
        print(f"{key.ljust(width)}  {value}")
    database = Database(settings.database_url)
    try:
        await database.check()
        print(f"\ndatabase: reachable ({database.kind})")
    finally:
        await database.dispose()
    return 0


def _run(settings: Settings, args: argparse.Namespace) -> int:
    if settings.discord_token is None:
        import importlib.util

        if importlib.util.find_spec("bot.sandbox.playground") is None:
            print(
                "DISCORD_TOKEN is not set. Put your bot's token in .env (see .env.example) or the environment, "
                "then run again.",
                file=sys.stderr,
            )
            return EXIT_CONFIG
        print("DISCORD_TOKEN is not set: starting the offline sandbox instead (see README).", file=sys.stderr)
        return _sandbox(settings, args, script=None)
    if args.fresh or args.home is not None or args.log_to_screen:
        print("--fresh, --home and --log-to-screen are for the offline sandbox (no DISCORD_TOKEN).", file=sys.stderr)
        return EXIT_CONFIG
    from bot.app import run_bot

    return asyncio.run(run_bot(settings, settings.discord_token.get_secret_value()))


def _sandbox(settings: Settings, args: argparse.Namespace, script: str | None) -> int:
    from bot.sandbox.playground import main as playground_main

    return asyncio.run(
        playground_main(settings, script, home=args.home, fresh=args.fresh, log_to_screen=args.log_to_screen)
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = _settings_for(args)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(settings.log_level)

    import discord

    from bot.app import DiscordUnreachable
    from bot.db.engine import DatabaseUnavailable

    # Each way start-up can fail ends in one sentence that names the setting to fix, and a non-zero exit.
    try:
        if args.command == "run":
            return _run(settings, args)
        if args.command == "sandbox":
            return _sandbox(settings, args, args.script)
        if args.command == "db":
            return asyncio.run(_db_command(settings, args.db_command, getattr(args, "revision", None)))
        if args.command == "config":
            return asyncio.run(_config_check(settings))
    except DatabaseUnavailable as error:
        print(error, file=sys.stderr)
        return EXIT_DATABASE
    except DiscordUnreachable as error:
        print(error, file=sys.stderr)
        return EXIT_DISCORD
    except discord.LoginFailure:
        print(
            "Discord refused DISCORD_TOKEN: check the token in the Developer Portal (Bot > Reset Token).",
            file=sys.stderr,
        )
        return EXIT_LOGIN
    except KeyboardInterrupt:
        return 130
    return 1


if __name__ == "__main__":
    sys.exit(main())
