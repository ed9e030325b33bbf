"""Images in a message a persona answers: which attachments a vision-capable model is shown, and the notes that
stand for the rest.

A model marked vision-capable gets up to :data:`MAX_IMAGES` images, each at most :data:`MAX_IMAGE_BYTES` by the size
the attachment declares, of the types most servers decode (:data:`IMAGE_TYPES`); every attachment it is not shown
gets a short note in the text instead, saying why ("[image not shown: huge.png, 12.5 MB, over the 8 MB limit]").
A model that cannot see gets a note naming each image ("[image: cat.png, 1.2 MB]"), so it knows one was sent and
does not pretend to see it. Pure: the attachments are plain data, the caller says whether the model can see.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.core.conversation import estimate_tokens

MAX_IMAGES = 4
MAX_IMAGE_BYTES = 8 * 1024 * 1024
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
_BY_SUFFIX = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
MAX_NOTED = 10  # attachments named in notes; past that, a count
# What one image shown to a model costs in the prompt's token budget: OpenAI-style vision models count a picture in
# 512-pixel tiles (85 + 170 a tile); the sizes are not known here, so each counts as a 1024x1024 one at high detail.
IMAGE_TOKENS = 765
MAX_NOTE_NAME = 80


@dataclass(frozen=True)
class Attachment:
    """A file on a message, as Discord describes it: its name, URL, declared media type and size in bytes."""

    filename: str
    url: str
    content_type: str | None = None
    size: int = 0

    @property
    def media_type(self) -> str | None:
        """The declared media type (parameters dropped), or the one its name suggests when none is declared."""
        if self.content_type:
            return self.content_type.split(";")[0].strip().lower()
        name = self.filename.lower()
        return next((kind for suffix, kind in _BY_SUFFIX.items() if name.endswith(suffix)), None)

    @property
    def is_image(self) -> bool:
        kind = self.media_type
        return kind is not None and kind.startswith("image/")


@dataclass(frozen=True)
class ImageBudget:
    """What the model gets: the URLs of the images it is shown, and a note for each attachment it is not."""

    urls: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def text(self) -> str:
        """The notes on one line ("" when there are none)."""
        return " ".join(self.notes)

    @property
    def tokens(self) -> int:
        """What the images and notes add to the prompt, in estimated tokens (:data:`IMAGE_TOKENS` an image)."""
        return len(self.urls) * IMAGE_TOKENS + estimate_tokens(self.text())


def size_words(size: int) -> str:
    """A size as people read it: "512 bytes", "40 KB", "1.2 MB"."""
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _name(attachment: Attachment) -> str:
    name = " ".join(attachment.filename.replace("[", "(").replace("]", ")").split()) or "unnamed"
    return name if len(name) <= MAX_NOTE_NAME else name[: MAX_NOTE_NAME - 1] + "…"


def _note(attachment: Attachment, why: str | None = None) -> str:
    what = "image" if attachment.is_image else "file"
    if why is None:
        return f"[{what}: {_name(attachment)}, {size_words(attachment.size)}]"
    return f"[{what} not shown: {_name(attachment)}, {size_words(attachment.size)}, {why}]"


def _why_not(attachment: Attachment, shown: int, max_images: int, max_bytes: int) -> str | None:
    """Why a vision model is not shown ``attachment`` (None: it is)."""
    kind = attachment.media_type
    if kind is None or not kind.startswith("image/"):
        return "not an image"
    if kind not in IMAGE_TYPES:
        return f"{kind} is not a supported image type"
    if not attachment.url.startswith(("https://", "http://")):
        return "no address to fetch it from"
    if attachment.size > max_bytes:
        return f"over the {size_words(max_bytes)} limit"
    if shown >= max_images:
        return f"only {max_images} images are shown per message"
    return None


def image_budget(
    attachments: Sequence[Attachment],
    *,
    vision: bool,
    max_images: int = MAX_IMAGES,
    max_bytes: int = MAX_IMAGE_BYTES,
) -> ImageBudget:
    """The images a model is shown and the notes for the rest, in the attachments' order (module docstring). Without
    ``vision`` every attachment is a note. At most :data:`MAX_NOTED` attachments are named; the rest are counted."""
    urls: list[str] = []
    notes: list[str] = []
    for attachment in attachments:
        why = _why_not(attachment, len(urls), max_images, max_bytes) if vision else None
        if vision and why is None:
            urls.append(attachment.url)
        else:
            notes.append(_note(attachment, why))
    if len(notes) > MAX_NOTED:
        notes = [*notes[:MAX_NOTED], f"[and {len(notes) - MAX_NOTED} more files]"]
    return ImageBudget(tuple(urls), tuple(notes))


def all_attachments(groups: Iterable[Sequence[Attachment]]) -> list[Attachment]:
    """The attachments of several messages in order, each URL once."""
    seen: set[str] = set()
    out: list[Attachment] = []
    for group in groups:
        for attachment in group:
            if attachment.url not in seen:
                seen.add(attachment.url)
                out.append(attachment)
    return out
