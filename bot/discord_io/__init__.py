"""Talking to Discord: sending as a persona (webhooks, the fallback, streaming), whose turn it is to speak, private
replies and error answers, DMs, permission checks, and the command tree's input check."""
