"""The personality trait names: the single list every layer uses (columns, templates, charts, prompts)."""

from __future__ import annotations

BIG_FIVE: tuple[str, ...] = ("openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism")
AI_TRAITS: tuple[str, ...] = ("creativity", "curiosity", "empathy", "humor", "assertiveness", "adaptability")
DOMAIN_TRAITS: tuple[str, ...] = ("technical_focus", "social_orientation", "task_orientation")
ALL_TRAITS: tuple[str, ...] = BIG_FIVE + AI_TRAITS + DOMAIN_TRAITS

TRAIT_MIN = 0.0
TRAIT_MAX = 100.0
MAX_CUSTOM_TRAITS = 20

# The seed's camelCase names (export formats, the plan's interfaces) -> ours.
CAMEL_TO_SNAKE: dict[str, str] = {
    "technicalFocus": "technical_focus",
    "socialOrientation": "social_orientation",
    "taskOrientation": "task_orientation",
}
SNAKE_TO_CAMEL: dict[str, str] = {v: k for k, v in CAMEL_TO_SNAKE.items()}


def label(trait: str) -> str:
    """A trait's name for people: ``technical_focus`` -> ``Technical focus``."""
    return trait.replace("_", " ").capitalize()
