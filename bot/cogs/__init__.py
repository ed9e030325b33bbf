"""Slash commands and listeners: they translate Discord <-> services and nothing more."""
