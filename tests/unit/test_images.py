"""Images on a message a persona answers: the budget a vision model gets, and the notes every other model gets."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.images import MAX_IMAGE_BYTES, MAX_IMAGES, Attachment, all_attachments, image_budget, size_words
from bot.llm.base import ChatMessage, ChatRequest
from bot.services.conversation import Incoming
from bot.services.conversation.images import with_attachments

MB = 1024 * 1024


def image(name: str, size: int = 1_258_291, content_type: str | None = "image/png") -> Attachment:
    return Attachment(name, f"https://cdn.example/attachments/1/2/{name}?ex=1&hm=2", content_type, size)


def test_sizes_read_as_people_read_them() -> None:
    assert size_words(512) == "512 bytes"
    assert size_words(40 * 1024) == "40 KB"
    assert size_words(1_258_291) == "1.2 MB"


def test_a_model_that_cannot_see_gets_a_note_naming_each_image() -> None:
    budget = image_budget([image("cat.png"), image("dog.jpg", 40 * 1024, "image/jpeg")], vision=False)
    assert budget.urls == ()
    assert budget.text() == "[image: cat.png, 1.2 MB] [image: dog.jpg, 40 KB]"


def test_a_vision_model_gets_the_images_urls_untouched() -> None:
    cat = image("cat.png")
    budget = image_budget([cat], vision=True)
    assert budget.urls == (cat.url,)  # the URL as Discord gave it, query string and all
    assert budget.notes == ()


def test_the_budget_counts_images_and_sizes_and_types() -> None:
    attachments = [
        image("huge.png", MAX_IMAGE_BYTES + 1),
        image("notes.pdf", 2048, "application/pdf"),
        image("photo.heic", 3 * MB, "image/heic"),
        *(image(f"p{i}.webp", MB, "image/webp") for i in range(MAX_IMAGES + 1)),
        image("edge.jpeg", MAX_IMAGE_BYTES, "image/jpeg"),
    ]
    budget = image_budget(attachments, vision=True)
    assert budget.urls == tuple(a.url for a in attachments[3 : 3 + MAX_IMAGES])
    assert budget.notes == (
        "[image not shown: huge.png, 8.0 MB, over the 8.0 MB limit]",
        "[file not shown: notes.pdf, 2 KB, not an image]",
        "[image not shown: photo.heic, 3.0 MB, image/heic is not a supported image type]",
        f"[image not shown: p4.webp, 1.0 MB, only {MAX_IMAGES} images are shown per message]",
        f"[image not shown: edge.jpeg, 8.0 MB, only {MAX_IMAGES} images are shown per message]",
    )


def test_the_type_comes_from_the_name_when_none_is_declared_and_parameters_are_ignored() -> None:
    assert image("a.JPG", content_type=None).media_type == "image/jpeg"
    assert image("a.bin", content_type=None).media_type is None
    assert image("a", content_type="image/PNG; charset=binary").media_type == "image/png"
    assert image_budget([image("a.gif", content_type=None)], vision=True).urls != ()


def test_names_in_notes_are_tidied_and_many_files_are_counted() -> None:
    odd = image("a]\n[b" + "x" * 200 + ".png")
    note = image_budget([odd], vision=False).notes[0]
    assert "\n" not in note and note.count("[") == 1 and note.count("]") == 1 and len(note) < 120
    many = image_budget([image(f"{i}.png") for i in range(14)], vision=False)
    assert len(many.notes) == 11 and many.notes[-1] == "[and 4 more files]"


def test_attachments_of_several_messages_keep_their_order_once_each() -> None:
    a, b = image("a.png"), image("b.png")
    assert all_attachments([[a], [b, a], []]) == [a, b]


def test_a_user_message_with_images_is_sent_as_content_parts() -> None:
    message = ChatMessage(role="user", content="Alice: look", name="Alice", images=("https://x/cat.png",))
    assert message.to_openai() == {
        "role": "user",
        "name": "Alice",
        "content": [
            {"type": "text", "text": "Alice: look"},
            {"type": "image_url", "image_url": {"url": "https://x/cat.png"}},
        ],
    }
    assert ChatMessage(role="user", content="plain").to_openai() == {"role": "user", "content": "plain"}


def test_a_request_gets_the_images_of_every_message_it_answers_in_its_last_user_turn() -> None:
    def said(message_id: int, *files: Attachment) -> Incoming:
        when = datetime(2026, 1, 1, tzinfo=UTC)
        return Incoming(message_id, 1, 2, 3, "Alice", "look", when, attachments=files)

    request = ChatRequest(system="s", messages=(ChatMessage(role="user", content="Alice: look"),))
    assert with_attachments(request, [said(1)], vision=True) is request  # nothing attached: nothing changes
    waited, newest = said(1, image("a.png")), said(2, image("b.png"), image("a.png"))
    seen = with_attachments(request, [waited, newest], vision=True).messages[-1]
    assert seen.images == (image("a.png").url, image("b.png").url) and seen.content == "Alice: look"
    noted = with_attachments(request, [waited, newest], vision=False).messages[-1]
    assert noted.images == () and noted.content == "Alice: look\n[image: a.png, 1.2 MB] [image: b.png, 1.2 MB]"
