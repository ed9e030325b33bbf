"""Images in the message a persona answers, through the conversation service's plan on real databases: image parts
in the user message for a model that can see, notes naming them for one that cannot, and the budget."""

from __future__ import annotations

from typing import Any

from bot.core.images import MAX_IMAGES, Attachment
from bot.db.engine import Database
from bot.services import conversation
from bot.services.conversation import RequestOptions
from tests.integration.test_conversation_service import CHANNEL, incoming, make

CAT = Attachment("cat.png", "https://cdn.example/attachments/200/1/cat.png?ex=6&is=5&hm=abc", "image/png", 1_258_291)


async def user_message(database: Database, *, vision: bool, text: str = "Ada, look!", **extra: Any) -> Any:
    async with database.transaction() as session:
        speakers = await conversation.active_personas(session, CHANNEL)
        plan = await conversation.plan(
            session,
            incoming(text, **extra),
            speakers,
            history=[],
            exchange_depth=0,
            random_value=0.99,
            now=incoming("").created_at,
            options=RequestOptions(vision=vision),
        )
    [job] = plan.jobs
    return [m for m in job.request.to_openai_messages() if m["role"] == "user"][-1]


async def test_a_vision_model_gets_the_image_as_a_content_part(database: Database) -> None:
    await make(database, "Ada")
    message = await user_message(database, vision=True, attachments=(CAT,))
    text, picture = message["content"]
    assert text["type"] == "text" and text["text"].endswith("Ada, look!")
    assert picture == {"type": "image_url", "image_url": {"url": CAT.url}}


async def test_a_model_that_cannot_see_gets_a_note_naming_the_image(database: Database) -> None:
    await make(database, "Ada")
    message = await user_message(database, vision=False, attachments=(CAT,))
    assert isinstance(message["content"], str)
    assert message["content"].endswith("Ada, look!\n[image: cat.png, 1.2 MB]")


async def test_past_the_budget_images_become_notes_and_no_attachment_changes_nothing(database: Database) -> None:
    await make(database, "Ada")
    many = tuple(Attachment(f"{i}.png", f"https://cdn.example/{i}.png", "image/png", 1000) for i in range(6))
    message = await user_message(database, vision=True, attachments=many)
    parts = message["content"]
    assert [p["image_url"]["url"] for p in parts if p["type"] == "image_url"] == [a.url for a in many[:MAX_IMAGES]]
    assert "[image not shown: 4.png" in parts[0]["text"] and "[image not shown: 5.png" in parts[0]["text"]
    plain = await user_message(database, vision=True)
    assert isinstance(plain["content"], str) and "[image" not in plain["content"]
