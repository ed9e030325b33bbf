"""The domain, pure: dataclasses, enums and rules.

No I/O beyond reading the shipped, read-only tables in ``data/`` (through :mod:`bot.core.catalog`), no discord,
no database, no clock: time is always a parameter.
"""
