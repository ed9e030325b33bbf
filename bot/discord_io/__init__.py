"""Talking to Discord: sending as a persona (webhooks, the fallback, streaming), replies and error reports,
DMs, permission checks."""
