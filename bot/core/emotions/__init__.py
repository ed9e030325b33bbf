"""Emotions and mood (SCIENCE.md sections 3-4), split by part:

- :mod:`~bot.core.emotions.tables`: the emotion and trigger tables, and the input checks;
- :mod:`~bot.core.emotions.state`: active emotions, the state, responses to triggers and the ALMA mood;
- :mod:`~bot.core.emotions.feedback`: learned feedback;
- :mod:`~bot.core.emotions.reactions`: which trigger an emoji stands for;
- :mod:`~bot.core.emotions.explanations`: why a persona feels as it does, in words.

The public names are re-exported here (``from bot.core import emotions; emotions.respond(...)``). The pattern
analysis is :mod:`bot.core.emotion_patterns`.

Triggers, responses, fading, the ALMA mood, learned feedback, reactions and explanations.

Everything here is pure. The numbers live in ``data/emotions.toml``, ``data/triggers.toml`` and
``data/reactions.toml``; time is always a timezone-aware parameter.

**Emotions.** An active emotion has a type, an intensity 0..100, a duration in minutes and a start time. Its
intensity falls linearly to zero over its duration; then it is no longer active (the event log keeps it).

**Responses.** A trigger has one or more base responses (type, intensity, duration). For each::

    t'_k         = (t_k - 50) / 50                                (a missing trait counts as 50)
    personality  = max(modifier_floor, 1 + sum_k sensitivity[type][k] * t'_k)
    state        = 1 - opposite_response_damping * o / 100   (o: current intensity of the active opposite)
    intensity    = min(100, base * personality * state * learned_scale)
    duration     = base_duration * personality

So a positive sensitivity makes the emotion stronger *and* longer as the trait grows: neuroticism for
sadness, anger, fear, disgust and frustration; extraversion for joy, excitement, trust and contentment;
openness for curiosity and surprise; agreeableness for trust, and negatively for anger and disgust.

**Applying responses** (:func:`apply`): the state is first advanced to ``now``. A response whose type is
already active *reinforces* it: intensities add (capped at 100), it restarts now, and it lasts the longer of
its remaining time and the response's duration. An active Plutchik opposite is *dampened*: its current
intensity drops by ``opposite_cancel * response intensity`` with its end time kept (it ends at zero).

**Mood** (ALMA, Gebhard 2005): see :func:`emotion_center`, :func:`move_mood`, :func:`return_mood` and
:func:`advance`.

**Learned feedback**: see :func:`apply_feedback` and :func:`learn`.
"""

from __future__ import annotations

from bot.core.emotions.explanations import EventRecord, explain
from bot.core.emotions.feedback import Adjustment, Learned, Verdict, apply_feedback, learn
from bot.core.emotions.reactions import trigger_for_emoji
from bot.core.emotions.state import (
    ActiveEmotion,
    EmotionalState,
    Response,
    advance,
    apply,
    emotion_center,
    move_mood,
    new_state,
    personality_modifier,
    respond,
    return_mood,
    state_modifier,
)
from bot.core.emotions.tables import (
    emotion_pad,
    emotion_types,
    emotion_word,
    opposite,
    trigger_description,
    trigger_label,
    trigger_names,
)

__all__ = [
    "ActiveEmotion",
    "Adjustment",
    "EmotionalState",
    "EventRecord",
    "Learned",
    "Response",
    "Verdict",
    "advance",
    "apply",
    "apply_feedback",
    "emotion_center",
    "emotion_pad",
    "emotion_types",
    "emotion_word",
    "explain",
    "learn",
    "move_mood",
    "new_state",
    "opposite",
    "personality_modifier",
    "respond",
    "return_mood",
    "state_modifier",
    "trigger_description",
    "trigger_for_emoji",
    "trigger_label",
    "trigger_names",
]
