"""Where our own prompt templates are (``prompts/``) and how Jinja2 renders them: trusted source, untrusted
variables.

Templates render with ``StrictUndefined`` (a missing variable is an error, not an empty string) and without
autoescaping (the output is plain text for a model, not HTML). Everything users wrote is passed as *data* in
variables and never becomes template source.

This sits with the providers because the offline responder (:mod:`bot.llm.offline`) renders ``prompts/offline/``
and the providers are the layer below :mod:`bot.templating`, which builds the prompts from these files
(:mod:`bot.templating.prompts`). User-written reply templates never come here: they run in the sandbox of
:mod:`bot.templating.behavior_templates`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"


@cache
def environment() -> jinja2.Environment:
    """The environment for our own templates in ``prompts/`` (trusted source, untrusted variables)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(PROMPTS_DIR),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        # Read once: the files are part of the release (a reply renders several, and checking each file's time
        # on every render is a system call each).
        auto_reload=False,
    )


def render_template(template: str, /, **variables: Any) -> str:
    """Render ``prompts/<template>``; a variable the template needs but was not given raises
    ``jinja2.UndefinedError``."""
    return environment().get_template(template).render(**variables).strip()
