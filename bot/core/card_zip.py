"""Zip archives read and written in memory (pure), for CHARX cards (:mod:`bot.core.card_charx`).

Nothing is ever written to disk: an archive is read from bytes into bytes. What an upload could do to the bot is
bounded and refused with a sentence: more than :data:`ENTRIES_MAX` entries, more than :data:`UNPACKED_MAX` bytes
once unpacked (counted as the entries are read, whatever their headers claim), an entry whose path could leave
the archive (``..``, an absolute path, a backslash, a drive letter), a name twice, an encrypted entry, a damaged
archive (a bad CRC, a truncated entry, an unknown compression method).
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.core.errors import DomainError

MB = 1024 * 1024
ENTRIES_MAX = 1_000
UNPACKED_MAX = 10 * MB
ZIP_SIGNATURE = b"PK\x03\x04"
EMPTY_ZIP_SIGNATURE = b"PK\x05\x06"
# A fixed timestamp: the same persona exports to the same bytes (the zip format starts at 1980).
_WHEN = (1980, 1, 1, 0, 0, 0)
_DAMAGED = (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, zlib.error, ValueError, OSError)


def is_zip(data: bytes) -> bool:
    """Whether ``data`` starts like a zip archive."""
    return data.startswith(ZIP_SIGNATURE) or data.startswith(EMPTY_ZIP_SIGNATURE)


def safe_path(path: str) -> bool:
    """Whether ``path`` names a file inside an archive: relative, ``/``-separated, no ``.`` or ``..`` part,
    no empty part, no backslash, drive letter or control character."""
    if not path or path.startswith("/") or "\\" in path or any(ord(c) < 32 for c in path):
        return False
    parts = path.split("/")
    if ":" in parts[0]:
        return False
    return all(part not in ("", ".", "..") for part in parts)


@dataclass
class ZipReader:
    """An archive's files by name (directories left out), checked, each read at most once within the budget."""

    what: str
    archive: zipfile.ZipFile
    infos: dict[str, zipfile.ZipInfo]
    budget: int = UNPACKED_MAX
    _read: set[str] = field(default_factory=set)

    def names(self) -> list[str]:
        return list(self.infos)

    def size(self, name: str) -> int:
        return self.infos[name].file_size

    def read(self, name: str) -> bytes:
        """The entry's bytes; refused when the archive lies about its sizes or is damaged."""
        info = self.infos[name]
        if name in self._read:
            raise DomainError(f"The {self.what} reads '{name}' twice.")  # pragma: no cover - a caller's mistake
        self._read.add(name)
        try:
            with self.archive.open(info) as entry:
                data = entry.read(self.budget + 1)
        except RuntimeError as error:  # zipfile's "encrypted, password required"
            raise DomainError(f"The {self.what} is encrypted; export it again without a password.") from error
        except _DAMAGED as error:
            raise DomainError(f"The {self.what} is damaged ('{name}' cannot be read: {error}).") from error
        if len(data) > self.budget:
            raise DomainError(f"The {self.what} unpacks to more than {UNPACKED_MAX // MB} MB; that is the limit.")
        self.budget -= len(data)
        return data


def _check_entries(what: str, infos: list[zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
    if len(infos) > ENTRIES_MAX:
        raise DomainError(f"The {what} has {len(infos):,} entries; the most is {ENTRIES_MAX:,}.")
    files: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        name = info.filename
        if not safe_path(name.removesuffix("/") if info.is_dir() else name):
            raise DomainError(f"The {what} has an entry whose path could leave the archive ({name!r}); refused.")
        if info.flag_bits & 0x1:
            raise DomainError(f"The {what} is encrypted ('{name}'); export it again without a password.")
        if name in files:
            raise DomainError(f"The {what} holds '{name}' twice; it is malformed.")
        if not info.is_dir():
            files[name] = info
    declared = sum(info.file_size for info in files.values())
    if declared > UNPACKED_MAX:
        raise DomainError(
            f"The {what} unpacks to {declared:,} bytes, over the limit of {UNPACKED_MAX // MB} MB ({UNPACKED_MAX:,})."
        )
    return files


def open_zip(data: bytes, what: str) -> ZipReader:
    """The archive in ``data``, its entries checked (see the module docstring); nothing is unpacked yet."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except _DAMAGED as error:
        raise DomainError(f"The {what} is not a valid zip archive ({error}).") from error
    return ZipReader(what=what, archive=archive, infos=_check_entries(what, infos))


def write_zip(files: Iterable[tuple[str, bytes, bool]]) -> bytes:
    """A zip archive of ``(path, data, compress)`` (deflated when ``compress``, else stored), in memory."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data, compress in files:
            if not safe_path(path):
                raise DomainError(f"'{path}' is not a path inside an archive.")
            info = zipfile.ZipInfo(path, date_time=_WHEN)
            info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compresslevel=9 if compress else None)
    return buffer.getvalue()
