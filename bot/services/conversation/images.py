"""Images in the messages a reply answers, as the model gets them: image parts in the user message for a model
that can see, short notes naming them for one that cannot (the rules and the budget: :mod:`bot.core.images`).

The URL a model gets is the attachment's own, as Discord gives it (the server fetches it; nothing is downloaded
here). Whether a persona's model can see is :func:`sees_images`: the persona's own model settings decide when they
set ``vision`` (``/persona model``); otherwise the default model's ``LLM_VISION`` setting, carried in
:class:`~bot.services.conversation.data.RequestOptions`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bot.core.images import all_attachments, image_budget
from bot.core.model_settings import ModelChoice
from bot.llm.base import ChatMessage, ChatRequest
from bot.services.conversation.data import Incoming, RequestOptions


def sees_images(options: RequestOptions, choice: ModelChoice | None) -> bool:
    """Whether the model that speaks is shown images: the persona's own model settings say so when they set
    ``vision``; otherwise the default model's setting (``LLM_VISION``)."""
    if choice is not None and choice.vision is not None:
        return choice.vision
    return options.vision


def attachment_tokens(answered: Sequence[Incoming], *, vision: bool) -> int:
    """What the attachments of the messages answered add to the request, in estimated tokens (counted in the
    prompt's budget before :func:`with_attachments` adds them)."""
    attachments = all_attachments(message.attachments for message in answered)
    return image_budget(attachments, vision=vision).tokens if attachments else 0


def with_attachments(request: ChatRequest, answered: Sequence[Incoming], *, vision: bool) -> ChatRequest:
    """``request`` with the attachments of the messages it answers (``answered``, oldest first) in its last user
    message: notes appended to the text, and, with ``vision``, the images within the budget as image parts.
    The request itself when there are none."""
    attachments = all_attachments(message.attachments for message in answered)
    if not attachments:
        return request
    budget = image_budget(attachments, vision=vision)
    messages = list(request.messages)
    last = next((i for i in range(len(messages) - 1, -1, -1) if messages[i].role == "user"), None)
    if last is None:
        messages.append(ChatMessage(role="user", content=budget.text(), images=budget.urls))
    else:
        user = messages[last]
        text = "\n".join(part for part in (user.content, budget.text()) if part)
        messages[last] = replace(user, content=text, images=(*user.images, *budget.urls))
    return replace(request, messages=tuple(messages))
