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


def _clustered(rows: int, dim: int, centres: int, seed: int) -> np.ndarray:
    """Unit vectors around ``centres`` random directions (as texts' embeddings group by topic)."""
    rng = np.random.default_rng(seed)
    middle = rng.standard_normal((centres, dim)).astype(np.float32)
    matrix = middle[rng.integers(0, centres, rows)] + 0.35 * rng.standard_normal((rows, dim)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def test_an_ivf_index_groups_every_row_once() -> None:
    matrix = _clustered(4_000, 32, 40, seed=2)
    index = vec.train_ivf(matrix, seed=7)
    assert index.rows == 4_000 and index.lists == vec.list_count(4_000) == 101
    assert sorted(index.order.tolist()) == list(range(4_000))
    assert index.offsets[0] == 0 and index.offsets[-1] == 4_000 and (np.diff(index.offsets) >= 0).all()
    assert np.allclose(np.linalg.norm(index.centroids, axis=1), 1.0, atol=1e-5)
    again = vec.train_ivf(matrix, seed=7)
    assert np.array_equal(again.order, index.order)  # deterministic for a seed


def test_an_ivf_index_finds_nearly_all_of_the_exact_top_10_reading_a_fraction_of_the_rows() -> None:
    matrix = _clustered(8_000, 32, 60, seed=3)
    index = vec.train_ivf(matrix, seed=1)
    probes = vec.probe_count(index.lists)
    assert probes < index.lists
    queries = _clustered(100, 32, 60, seed=3)  # the same centres: queries about the topics stored
    sizes = np.diff(index.offsets)
    found, read = 0, 0
    for query in queries:
        read += int(sizes[np.argsort(-(index.centroids @ query))[:probes]].sum())  # the probed lists' rows
        exact = {row for row, _ in vec.top_k(matrix, query, 10)}
        near = vec.search_ivf(index, query, probes, 10)
        assert len(near) == 10 and [s for _, s in near] == sorted((s for _, s in near), reverse=True)
        assert all(score == pytest.approx(float(matrix[row] @ query), abs=1e-5) for row, score in near)
        found += len(exact & {row for row, _ in near})
    assert found / 1_000 >= 0.9
    assert read / (100 * 8_000) < 0.5  # the point of an index: most rows are not read


def test_probing_every_list_is_the_exact_search() -> None:
    matrix = _clustered(1_000, 16, 10, seed=4)
    index = vec.train_ivf(matrix, seed=2)
    query = matrix[17].copy()
    assert [row for row, _ in vec.search_ivf(index, query, index.lists, 10)] == [
        row for row, _ in vec.top_k(matrix, query, 10)
    ]
    assert np.array_equal(index.vectors, matrix[index.order])  # the lists' copy, list by list
    assert np.array_equal(index.order[index.places], np.arange(1_000))  # where each row's copy is
    vec.erase(index, 17)
    assert not index.vectors[index.places[17]].any() and index.vectors.any(axis=1).sum() == 999


def test_a_row_given_twice_is_returned_once() -> None:
    matrix = _clustered(200, 8, 4, seed=5)
    query = matrix[3].copy()
    found = vec.top_k_of_rows(matrix, np.array([3, 3, 4, 5, 3]), query, 5)
    assert found[0][0] == 3 and sorted(row for row, _ in found) == [3, 4, 5]
