"""The wizard's steps as Discord messages: one embed and one view per step (:func:`wizard_message`), the resume
prompt, the end of a wizard, and template choices for autocomplete."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import discord

from bot.core import memory as memory_rules
from bot.core import personality, quiz
from bot.core import wizard as rules
from bot.core.personas import PRIVACY_FIELDS, VISIBILITY, BehaviorSettings
from bot.core.text import clip
from bot.core.traits import ALL_TRAITS, label
from bot.services.wizard import Draft
from bot.ui.wizard.character import add_character_buttons, summary_text
from bot.ui.wizard.parts import (
    BRAND_COLOUR,
    CHART_FILENAME,
    CHATTINESS_WORDS,
    DESCRIPTION_MAX,
    FIELD_VALUE_MAX,
    NAV_ROW,
    VISIBILITY_WORDS,
    WizardButton,
    WizardSelect,
    base_embed,
    nav,
    option,
    traits_text,
    yes,
)

# --------------------------------------------------------------------------------------------------- steps


def _step_basics(draft: Draft, in_dm: bool) -> tuple[discord.Embed, discord.ui.View]:
    data = draft.data
    text = "Who is your persona? Give it a name, and optionally a description and an avatar link."
    if in_dm:
        text += (
            "\n\nYou can also just type here: your first message is the name, the next the description; "
            "send an image for the avatar. Type `next` to go on, `help` for everything you can type."
        )
    embed = base_embed(draft, text)
    embed.add_field(name="Name", value=clip(data.get("name") or "*not set yet*", FIELD_VALUE_MAX), inline=False)
    embed.add_field(name="Description", value=clip(data.get("description") or "*none*", FIELD_VALUE_MAX), inline=False)
    embed.add_field(name="Avatar", value=clip(data.get("avatar_url") or "*none*", FIELD_VALUE_MAX), inline=False)
    if data.get("avatar_url"):
        embed.set_thumbnail(url=data["avatar_url"])
    view = discord.ui.View(timeout=None)
    view.add_item(
        WizardButton(draft.id, "open-basics", label="Edit basic info", style=discord.ButtonStyle.primary, row=0)
    )
    if not in_dm and draft.guild_id is not None:
        view.add_item(WizardButton(draft.id, "thread", label="Chat in a private thread", row=0))
    nav(view, draft)
    return embed, view


def _quiz_view(draft: Draft, progress: rules.QuizProgress) -> tuple[discord.Embed, discord.ui.View]:
    stem = next((i.stem for i in quiz.instruments() if i.id == progress.instrument), "")
    text = (
        f"**{progress.instrument_name}: question {progress.number} of {progress.total}**\n\n"
        f"{stem} **{progress.text}**\n\n{quiz.instructions()}"
    )
    embed = base_embed(draft, text)
    view = discord.ui.View(timeout=None)
    for value, answer in enumerate(quiz.answer_labels(), start=1):
        chosen = progress.previous_answer == value
        style = discord.ButtonStyle.success if chosen else discord.ButtonStyle.secondary
        view.add_item(WizardButton(draft.id, "answer", str(value), label=answer, style=style, row=0))
    view.add_item(WizardButton(draft.id, "quiz-back", label="Previous question", disabled=progress.number == 1, row=1))
    view.add_item(WizardButton(draft.id, "quiz-stop", label="Pause questionnaire (answers kept)", row=1))
    nav(view, draft)
    return embed, view


def _adjust_view(draft: Draft) -> tuple[discord.Embed, discord.ui.View]:
    data = draft.data
    current = (data.get("adjust") or {}).get("trait") or ALL_TRAITS[0]
    traits = data["traits"]
    text = (
        f"Pick a trait, then nudge it; or type values, five at a time.\n\n{traits_text(traits, current)}\n\n"
        f"Mood: **{personality.mood_words(traits)}**"
    )
    embed = base_embed(draft, text)
    view = discord.ui.View(timeout=None)
    view.add_item(
        WizardSelect(
            draft.id,
            "adjust-trait",
            [option(f"{label(t)} ({traits[t]:.0f})", t, default=t == current) for t in ALL_TRAITS],
            placeholder="Trait to adjust",
            row=0,
        )
    )
    for key, delta in rules.NUDGES.items():
        view.add_item(WizardButton(draft.id, "nudge", key, label=f"{delta:+d}", row=1))
    view.add_item(WizardButton(draft.id, "adjust-done", label="Done", style=discord.ButtonStyle.success, row=1))
    for page, names in enumerate(rules.TRAIT_PAGES):
        first = ALL_TRAITS.index(names[0]) + 1
        view.add_item(
            WizardButton(
                draft.id, "open-traits", str(page), label=f"Type traits {first}-{first + len(names) - 1}", row=2
            )
        )
    nav(view, draft)
    return embed, view


def _personality_summary(data: Mapping[str, Any]) -> str:
    chosen = data.get("personality") or {}
    mode = chosen.get("mode")
    if mode == "template" and chosen.get("template"):
        template = personality.get_template(chosen["template"])
        return f"From the template {template.emoji} **{template.name}**."
    if mode == "quiz":
        return "From your answers to the questionnaire."
    if mode == "random":
        leanings = chosen.get("leanings") or []
        return "Random" + (f", leaning {', '.join(leanings)}." if leanings else ".")
    if mode == "described":
        return "Suggested from your description" + (" by the model." if chosen.get("source") == "model" else ".")
    if mode == "manual":
        return "Adjusted by hand."
    return "The current personality."


def suggestions_text(data: Mapping[str, Any]) -> str:
    """``Curiosity 78 — 'loves to explore'``, one line per suggested trait, with the trait's value now."""
    traits = data.get("traits") or {}
    lines = [
        f"{label(row['trait'])} **{round(float(traits.get(row['trait'], row['value'])))}** — {row['reason']}"
        for row in data.get("suggestions") or []
    ]
    return clip("\n".join(lines), FIELD_VALUE_MAX)


def _step_personality(draft: Draft) -> tuple[discord.Embed, discord.ui.View]:
    data = draft.data
    progress = rules.quiz_progress(data)
    if progress is not None:
        return _quiz_view(draft, progress)
    if data.get("adjust") and data.get("traits") is not None:
        return _adjust_view(draft)
    traits = data.get("traits")
    if traits is None:
        text = (
            "How should your persona be? Pick a template, answer a questionnaire, roll a random one, or set it by hand."
        )
    else:
        text = (
            f"{_personality_summary(data)} Default mood: **{personality.mood_words(traits)}**.\n\n"
            f"{traits_text(traits)}\n\nFine-tune with **Adjust by hand**, or choose again."
        )
    embed = base_embed(draft, text)
    if traits is not None:
        embed.set_image(url=f"attachment://{CHART_FILENAME}")
        if data.get("suggestions"):
            embed.add_field(name="Suggested, and why", value=suggestions_text(data), inline=False)
    view = discord.ui.View(timeout=None)
    current = (data.get("personality") or {}).get("template")
    view.add_item(
        WizardSelect(
            draft.id,
            "template",
            [
                option(t.name, t.id, t.description, default=t.id == current, emoji=t.emoji)
                for t in personality.list_templates()
            ],
            placeholder="Choose a template",
            row=0,
        )
    )
    paused = rules.paused_quiz(data)
    for instrument in quiz.instruments()[:2]:
        label = f"{instrument.name} ({instrument.question_count} questions)"
        if paused is not None and paused[0] == instrument.id:
            label = f"Resume {instrument.name} ({paused[1]} of {instrument.question_count} answered)"
        view.add_item(WizardButton(draft.id, "quiz", instrument.id, label=label, row=1))
    view.add_item(WizardButton(draft.id, "random", label="Random", emoji="🎲", row=1))
    view.add_item(WizardButton(draft.id, "adjust", label="Adjust by hand", row=1))
    view.add_item(WizardButton(draft.id, "open-describe", label="Describe…", row=1))
    leanings = (data.get("personality") or {}).get("leanings") or []
    choices = personality.list_leanings()
    view.add_item(
        WizardSelect(
            draft.id,
            "leanings",
            [option(lean.label, lean.id, default=lean.id in leanings) for lean in choices],
            placeholder="Leanings for Random (optional)",
            min_values=0,
            max_values=len(choices),
            row=2,
        )
    )
    nav(view, draft)
    return embed, view


def _memory_description(name: str) -> str:
    config = memory_rules.preset(name)
    return (
        f"{config.hot_memory_size} hot, {config.warm_memory_size} warm, cold kept {config.cold_memory_retention_days} "
        f"days, {config.decay_function} decay {config.decay_rate:g}/day"
    )


def _step_memory(draft: Draft) -> tuple[discord.Embed, discord.ui.View]:
    data = draft.data
    memory = data["memory"]
    chosen = data.get("memory_preset") or "custom"
    embed = base_embed(
        draft,
        "How much should your persona remember, and how fast should it forget? Pick a preset, or set the numbers.",
    )
    embed.add_field(name="Preset", value=chosen)
    embed.add_field(name="Hot / warm memories", value=f"{memory['hot_memory_size']} / {memory['warm_memory_size']}")
    embed.add_field(name="Cold kept", value=f"{memory['cold_memory_retention_days']} days")
    embed.add_field(name="Decay", value=f"{memory['decay_function']}, {memory['decay_rate']:g} per day")
    embed.add_field(name="Capacity", value=f"{memory['max_entities']} memories, {memory['max_memory_size_mb']:g} MB")
    view = discord.ui.View(timeout=None)
    view.add_item(
        WizardSelect(
            draft.id,
            "memory-preset",
            [
                option(name.capitalize(), name, _memory_description(name), default=name == chosen)
                for name in memory_rules.preset_names()
            ],
            placeholder="Memory preset",
            row=0,
        )
    )
    view.add_item(WizardButton(draft.id, "open-memory", label="Advanced settings", row=1))
    nav(view, draft)
    return embed, view


def _step_behavior(draft: Draft) -> tuple[discord.Embed, discord.ui.View]:
    behavior = draft.data["behavior"]
    embed = base_embed(draft, "When and how should your persona speak?")
    when = [word for word, flag in rules.REPLY_WHEN.items() if behavior[flag]]
    embed.add_field(name="Replies when", value=", ".join(when) or "never addressed", inline=False)
    level = behavior["chattiness"]
    embed.add_field(name="Other messages", value=f"{CHATTINESS_WORDS.get(level, 'always')} ({level}%)")
    embed.add_field(name="Verbosity", value=behavior["verbosity"])
    embed.add_field(name="Formality", value=behavior["formality"])
    embed.add_field(name="Emoji", value=behavior["emoji_use"])
    embed.add_field(name="Replies in threads", value=yes(behavior["reply_in_threads"]))
    view = discord.ui.View(timeout=None)
    view.add_item(
        WizardSelect(
            draft.id,
            "reply-when",
            [
                option("When mentioned", "mentioned", default=behavior["reply_when_mentioned"]),
                option("When addressed by name", "named", default=behavior["reply_when_named"]),
                option("When replied to", "replied", default=behavior["reply_when_replied_to"]),
            ],
            placeholder="Reply when...",
            min_values=0,
            max_values=3,
            row=0,
        )
    )
    view.add_item(
        WizardSelect(
            draft.id,
            "chattiness",
            [
                option(f"Any other message: {CHATTINESS_WORDS.get(n, 'always')} ({n}%)", str(n), default=n == level)
                for n in rules.CHATTINESS_LEVELS
            ],
            placeholder="Chattiness",
            row=1,
        )
    )
    view.add_item(
        WizardSelect(
            draft.id,
            "verbosity",
            [option(f"Verbosity: {v}", v, default=v == behavior["verbosity"]) for v in BehaviorSettings.VERBOSITY],
            row=2,
        )
    )
    view.add_item(
        WizardSelect(
            draft.id,
            "formality",
            [option(f"Formality: {v}", v, default=v == behavior["formality"]) for v in BehaviorSettings.FORMALITY],
            row=3,
        )
    )
    nav(view, draft)
    view.add_item(WizardButton(draft.id, "emoji", label=f"Emoji: {behavior['emoji_use']}", row=NAV_ROW))
    view.add_item(WizardButton(draft.id, "threads", label=f"Threads: {yes(behavior['reply_in_threads'])}", row=NAV_ROW))
    return embed, view


def _step_privacy(draft: Draft) -> tuple[discord.Embed, discord.ui.View]:
    data = draft.data
    privacy = data["privacy"]
    target = data.get("privacy_field") or PRIVACY_FIELDS[0]
    lines = [
        f"{'▶ ' if name == target else ''}**{name}**: {VISIBILITY_WORDS[privacy['visibility'][name]]}"
        for name in PRIVACY_FIELDS
    ]
    embed = base_embed(
        draft,
        "Who sees what (pick a field, then who may see it), and what your persona may remember.\n\n" + "\n".join(lines),
    )
    embed.add_field(name="Remembers what people say", value=yes(privacy["remember_people"]))
    embed.add_field(name="Encrypts sensitive memories", value=yes(data["memory"].get("encrypt_sensitive", False)))
    embed.add_field(name="Shareable", value=yes(privacy["shareable"]))
    view = discord.ui.View(timeout=None)
    view.add_item(
        WizardSelect(
            draft.id,
            "privacy-field",
            [
                option(
                    name.capitalize(),
                    name,
                    f"visible to {VISIBILITY_WORDS[privacy['visibility'][name]]}",
                    default=name == target,
                )
                for name in PRIVACY_FIELDS
            ],
            placeholder="Field",
            row=0,
        )
    )
    for level in VISIBILITY:
        current = privacy["visibility"][target] == level
        view.add_item(
            WizardButton(
                draft.id,
                "visibility",
                level,
                label=f"{label(target)}: {level}",
                style=discord.ButtonStyle.success if current else discord.ButtonStyle.secondary,
                row=1,
            )
        )
    view.add_item(
        WizardButton(draft.id, "remember", label=f"Remember people: {yes(privacy['remember_people'])}", row=2)
    )
    view.add_item(
        WizardButton(
            draft.id,
            "encrypt",
            label=f"Encrypt sensitive: {yes(data['memory'].get('encrypt_sensitive', False))}",
            row=2,
        )
    )
    view.add_item(WizardButton(draft.id, "shareable", label=f"Shareable: {yes(privacy['shareable'])}", row=2))
    nav(view, draft)
    return embed, view


def review_fields(embed: discord.Embed, data: Mapping[str, Any]) -> None:
    """The whole persona, field by field (shared by the review step)."""
    behavior = data["behavior"]
    memory = data["memory"]
    privacy = data["privacy"]
    embed.add_field(name="Name", value=clip(data.get("name") or "*not set*", FIELD_VALUE_MAX))
    embed.add_field(name="Memory", value=f"{data.get('memory_preset')}: {memory['hot_memory_size']} hot")
    if data.get("traits") is not None:
        embed.add_field(name="Default mood", value=personality.mood_words(data["traits"]))
    embed.add_field(name="Description", value=clip(data.get("description") or "*none*", FIELD_VALUE_MAX), inline=False)
    when = [word for word, flag in rules.REPLY_WHEN.items() if behavior[flag]]
    embed.add_field(
        name="Behaviour",
        value=clip(
            f"replies when {', '.join(when) or 'never'}; other messages {behavior['chattiness']}%; "
            f"{behavior['verbosity']}, {behavior['formality']}, emoji {behavior['emoji_use']}, "
            f"threads {yes(behavior['reply_in_threads'])}",
            FIELD_VALUE_MAX,
        ),
        inline=False,
    )
    embed.add_field(name="Character", value=summary_text(data.get("character") or {}), inline=False)
    shown = ", ".join(f"{k} {v}" for k, v in privacy["visibility"].items())
    embed.add_field(
        name="Privacy",
        value=clip(
            f"{shown}; remembers people {yes(privacy['remember_people'])} (those who consent); encrypts sensitive "
            f"{yes(memory.get('encrypt_sensitive', False))}; shareable {yes(privacy['shareable'])}",
            FIELD_VALUE_MAX,
        ),
        inline=False,
    )


def _step_review(draft: Draft) -> tuple[discord.Embed, discord.ui.View]:
    data = draft.data
    missing = rules.first_invalid_step(data)
    text = "Here is your persona. Create it, go back to any step, or give it a character (a scenario, a greeting...)."
    if draft.editing_persona_id is not None:
        text = "Here are the persona's settings. Save your changes, go to any step, or edit its character."
    if missing is not None:
        text += f"\n\n⚠️ Step {missing} ({rules.STEP_TITLES[missing - 1]}) is not complete yet."
    embed = base_embed(draft, text)
    review_fields(embed, data)
    if data.get("traits") is not None:
        embed.set_image(url=f"attachment://{CHART_FILENAME}")
    view = discord.ui.View(timeout=None)
    finish = "Save changes" if draft.editing_persona_id is not None else "Create persona"
    view.add_item(WizardButton(draft.id, "create", label=finish, style=discord.ButtonStyle.success, row=0))
    for step in range(1, rules.TOTAL_STEPS):
        view.add_item(WizardButton(draft.id, "goto", str(step), label=f"{step}. {rules.STEP_TITLES[step - 1]}", row=1))
    add_character_buttons(view, draft)
    nav(view, draft)
    return embed, view


def wizard_message(draft: Draft, *, in_dm: bool = False) -> tuple[discord.Embed, discord.ui.View]:
    """The embed and view for the draft's current step (attach the chart when :func:`needs_chart`); ``in_dm``: in a
    conversation where answers are typed (a DM, or a private thread opened for it)."""
    builders = {
        2: _step_personality,
        3: _step_memory,
        4: _step_behavior,
        5: _step_privacy,
        6: _step_review,
    }
    embed, view = _step_basics(draft, in_dm) if draft.step == 1 else builders[draft.step](draft)
    if in_dm:
        embed.set_footer(
            text="Type your answers here, or use the buttons; 'help' lists what this step reads. "
            "Your draft is kept for 24 hours."
        )
    return embed, view


def chart_file(png: bytes) -> discord.File:
    return discord.File(io.BytesIO(png), filename=CHART_FILENAME)


def resume_prompt(draft: Draft, template: str | None) -> tuple[discord.Embed, discord.ui.View]:
    """'You have a persona in progress': resume it, or start over."""
    name = draft.data.get("name") or "an unnamed persona"
    embed = discord.Embed(
        title="Resume your persona?",
        description=clip(
            f"You have a persona in progress: **{name}**, at step {draft.step} of {rules.TOTAL_STEPS} "
            f"({rules.STEP_TITLES[draft.step - 1]}). Resume it, or start over (the draft is discarded).",
            DESCRIPTION_MAX,
        ),
        colour=BRAND_COLOUR,
    )
    view = discord.ui.View(timeout=None)
    view.add_item(WizardButton(draft.id, "show", label="Resume", style=discord.ButtonStyle.primary))
    view.add_item(WizardButton(draft.id, "restart", template, label="Start over", style=discord.ButtonStyle.danger))
    return embed, view


def template_choices(current: str) -> list[tuple[str, str]]:
    """(label, id) of the templates matching what was typed, for autocomplete (at most 25, labels <= 100)."""
    needle = current.strip().lower()
    return [
        (clip(f"{t.emoji} {t.name}: {t.description}", 100), t.id)
        for t in personality.list_templates()
        if needle in t.id or needle in t.name.lower()
    ][:25]


def done_embed(title: str, text: str) -> discord.Embed:
    return discord.Embed(title=clip(title, 256), description=clip(text, DESCRIPTION_MAX), colour=BRAND_COLOUR)
