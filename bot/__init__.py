"""Persona Hub: a self-hosted Discord bot for AI personas."""

__version__ = "0.1.0"
