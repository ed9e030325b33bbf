"""Encryption at rest for sensitive memories (Fernet: AES-128-CBC with HMAC-SHA256, from ``cryptography``).

The key is the ``MEMORY_ENCRYPTION_KEY`` setting, handed to the memory services as a plain string. It may hold
several keys separated by commas: the first encrypts, every one decrypts (rotate by putting a new key first and
keeping the old one until nothing is encrypted with it). Make a key with ``generate_key()``.

The database only ever sees the Fernet token; the plaintext is readable only through the services that hold the
key. An encrypted memory is not in the full-text index (its tokens are the ciphertext's), so it is found by
retrieval only while it is hot.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bot.core.errors import DomainError


class EncryptionUnavailable(DomainError):
    """No key is configured, the key is malformed, or it does not open the stored token."""


def generate_key() -> str:
    """A new random key, as the text ``MEMORY_ENCRYPTION_KEY`` takes."""
    return Fernet.generate_key().decode("ascii")


@lru_cache(maxsize=8)
def _cipher(key: str) -> MultiFernet:
    parts = [part.strip() for part in key.split(",") if part.strip()]
    if not parts:
        raise EncryptionUnavailable("MEMORY_ENCRYPTION_KEY is empty: sensitive memories cannot be encrypted.")
    try:
        return MultiFernet([Fernet(part.encode("ascii")) for part in parts])
    except (ValueError, UnicodeEncodeError) as error:
        raise EncryptionUnavailable(
            "MEMORY_ENCRYPTION_KEY is not a valid key (32 url-safe base64-encoded bytes; make one with "
            "bot.services.crypto.generate_key())."
        ) from error


def encrypt(plaintext: str, key: str | None) -> str:
    """The Fernet token for ``plaintext`` (ASCII text, safe in a TEXT column)."""
    if key is None:
        raise EncryptionUnavailable(
            "This persona encrypts sensitive memories, but MEMORY_ENCRYPTION_KEY is not set: nothing was stored."
        )
    return _cipher(key).encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str, key: str | None) -> str:
    """The plaintext behind ``token``; ``EncryptionUnavailable`` without a key or with the wrong one."""
    if key is None:
        raise EncryptionUnavailable("This memory is encrypted and MEMORY_ENCRYPTION_KEY is not set.")
    try:
        return _cipher(key).decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeEncodeError) as error:
        raise EncryptionUnavailable("This memory is encrypted with a key that is not configured.") from error
