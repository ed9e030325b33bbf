"""Templates: the trusted prompt templates and the sandboxed templates persona owners write.

- :mod:`bot.templating.prompts`: the prompt context of a reply and the system prompt rendered from ``prompts/``
  (our own source), as a :class:`~bot.llm.base.ChatRequest`; :func:`~bot.templating.prompts.render_template` for
  the other files there.
- :mod:`bot.templating.behavior_templates`: custom behaviours' reply templates (user-written source) checked,
  compiled once and rendered within bounds; what the matching behaviours do to a message; ``/behavior test``.
- :mod:`bot.templating.reply_language`: what a reply template may say, and the sandbox it runs in.

This layer sits above the model providers (:mod:`bot.llm`, which it imports for requests) and below the services.
"""
