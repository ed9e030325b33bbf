"""Memory settings refused in words people read (bot/core/memory/config.py): never a stored key like decay_enabled."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.errors import DomainError
from bot.core.memory.config import CONFIG_FIELDS, config_to_dict, default_config, setting_words, validate_config


def _bad_value(name: str, value: Any) -> Any:
    if isinstance(value, bool):
        return "maybe"
    if isinstance(value, list):
        return "not a list"
    return "lots"


@pytest.mark.parametrize("name", CONFIG_FIELDS)
def test_every_setting_is_refused_by_its_words(name: str) -> None:
    values = config_to_dict(default_config())
    values[name] = _bad_value(name, values[name])
    with pytest.raises(DomainError) as refused:
        validate_config(values)
    sentence = str(refused.value)
    assert setting_words(name) in sentence and "_" not in sentence, sentence


def test_rules_between_settings_name_both_in_words() -> None:
    values = {**config_to_dict(default_config()), "hot_memory_size": 500, "warm_memory_size": 40}
    with pytest.raises(DomainError, match="number of hot memories cannot be larger than the number of warm"):
        validate_config(values)
    zero = {**config_to_dict(default_config()), "weight_recency": 0, "weight_importance": 0, "weight_relevance": 0}
    with pytest.raises(DomainError, match="weights of recency, importance and relevance cannot all be 0"):
        validate_config(zero)
