"""The pure parts of retrieval by meaning: the stored form of a vector, the exact top k, and the checks an
embedding server's answer must pass."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bot.core.memory import vectors as vec
from bot.llm.embeddings import MAX_EMBED_CHARS, EmbeddingError, checked, clip_for_embedding


def test_a_vector_is_stored_as_unit_float32_bytes() -> None:
    blob = vec.to_bytes([3.0, 4.0])
    assert len(blob) == 8
    back = vec.from_bytes(blob, 2)
    assert back is not None and back.tolist() == pytest.approx([0.6, 0.8])
    assert vec.from_bytes(blob, 3) is None  # another dimension: not read as a vector
    assert vec.to_bytes([0.0, 0.0]) == bytes(8)


def test_top_k_is_exact_and_best_first() -> None:
    rng = np.random.default_rng(1)
    matrix = rng.standard_normal((1_000, 16)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    query = matrix[42].copy()
    found = vec.top_k(matrix, query, 10)
    expected = np.argsort(-(matrix @ query))[:10]
    assert [i for i, _ in found] == expected.tolist()
    assert found[0] == (42, pytest.approx(1.0))
    assert [s for _, s in found] == sorted((s for _, s in found), reverse=True)
    assert len(vec.top_k(matrix[:3], query, 10)) == 3
    assert vec.top_k(matrix[:0], query, 10) == []


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        ([[1.0, 2.0]], "count"),  # one vector for two texts
        ([[1.0, 2.0], [1.0]], "dimension"),
        ([[1.0, math.nan], [1.0, 2.0]], "nan"),
        ([[1.0, math.inf], [1.0, 2.0]], "nan"),
        ([[1.0, "x"], [1.0, 2.0]], "nan"),
        ({"data": []}, "count"),
    ],
)
def test_a_servers_bad_answer_is_refused_by_kind(answer: object, kind: str) -> None:
    with pytest.raises(EmbeddingError) as raised:
        checked(answer, 2, 2)
    assert raised.value.kind == kind


def test_a_good_answer_passes_and_long_texts_are_cut() -> None:
    assert checked([[1, 2], [3.5, 4]], 2, 2) == [[1.0, 2.0], [3.5, 4.0]]
    assert len(clip_for_embedding("x" * 10_000)) == MAX_EMBED_CHARS
