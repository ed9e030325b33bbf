"""One persona's vectors held in memory (bot/services/memories/held.py): exact below a size, an IVF index above,
and what the index was not built over (rows added or replaced since, even while it was being built) still found."""

from __future__ import annotations

import numpy as np
import pytest

from bot.core.memory import vectors as vec
from bot.services.memories import held as held_module
from bot.services.memories.held import HeldVectors

DIM = 16


def _unit(rng: np.random.Generator, rows: int) -> np.ndarray:
    matrix = rng.standard_normal((rows, DIM)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def _held(rows: int, seed: int = 1) -> tuple[HeldVectors, np.ndarray]:
    held = HeldVectors(model="m", dim=DIM)
    matrix = _unit(np.random.default_rng(seed), rows)
    held.put(list(range(1, rows + 1)), [row.astype("<f4").tobytes() for row in matrix])
    return held, matrix


@pytest.fixture(autouse=True)
def small_index(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(held_module, "INDEX_MIN_ROWS", 500)


def test_below_the_size_no_index_is_wanted_and_search_is_exact() -> None:
    held, matrix = _held(499)
    assert not held.wants_index()
    query = matrix[10].copy()
    assert [i for i, _ in held.search(query, 5)] == [row + 1 for row, _ in vec.top_k(matrix, query, 5)]


def test_above_it_the_index_is_built_and_searched() -> None:
    held, matrix = _held(2_000)
    assert held.wants_index()
    held.build_index()
    assert held.index is not None and held.index.rows == 2_000 and not held.wants_index()
    for row in (3, 700, 1_999):
        assert held.search(matrix[row].copy(), 1)[0][0] == row + 1  # each vector is nearest itself


def test_rows_added_replaced_or_forgotten_after_the_index_are_searched_exactly() -> None:
    held, matrix = _held(2_000)
    held.build_index()
    target = _unit(np.random.default_rng(9), 1)[0]
    held.put([5_000], [target.astype("<f4").tobytes()])  # new since the index
    assert held.search(target, 1)[0] == (5_000, pytest.approx(1.0))
    old = matrix[41].copy()
    other = _unit(np.random.default_rng(10), 1)[0]
    held.put([42], [other.astype("<f4").tobytes()])  # memory 42's vector rewritten: the index's copy is stale
    assert held.search(other, 1)[0] == (42, pytest.approx(1.0))
    near_old = held.search(old, 20)  # by its old vector, memory 42 is no longer the nearest, nor there twice
    scores = dict(near_old)
    assert near_old[0][0] != 42 and len(scores) == 20
    assert 42 not in scores or scores[42] == pytest.approx(float(other @ old))  # scored by its new vector
    held.drop({5_000, 42})
    assert {i for i, _ in held.search(target, 20)}.isdisjoint({5_000, 42})
    index = held.index
    assert index is not None and not index.vectors[index.places[41]].any()  # forgotten: erased from the copy too
    assert np.array_equal(index.vectors[index.places[40]], matrix[40])  # the others kept


def test_the_index_is_searched_and_forgotten_neighbours_do_not_take_places(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(13)
    topic = _unit(rng, 1)[0]
    near = topic + 0.3 * _unit(rng, 40)  # 40 memories about one topic among 3,000
    near /= np.linalg.norm(near, axis=1, keepdims=True)
    held, _ = _held(2_960, seed=14)
    held.put(list(range(10_001, 10_041)), [row.astype("<f4").tobytes() for row in near])
    held.build_index()
    scanned: list[int] = []
    real_top_k = held_module.top_k

    def counted(matrix: np.ndarray, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        scanned.append(int(matrix.shape[0]))
        return real_top_k(matrix, query, k)

    monkeypatch.setattr(held_module, "top_k", counted)
    held.drop(set(range(10_001, 10_031)))  # 30 of them forgotten after the index was built
    found = held.search(topic, 5)
    assert scanned and max(scanned) == 0, "only the rows added since the index (none) were scanned exactly"
    expected = sorted(range(10_031, 10_041), key=lambda i: -float(near[i - 10_001] @ topic))[:5]
    assert [i for i, _ in found] == expected  # five live ones, none crowded out by the forgotten
    assert len(held.changed) == 30 and held.stale.sum() == 30


def test_a_row_added_after_the_index_and_then_replaced_is_not_counted_twice() -> None:
    held, _ = _held(2_000)
    held.build_index()
    vectors = _unit(np.random.default_rng(15), 2)
    held.put([9_000], [vectors[0].astype("<f4").tobytes()])
    held.put([9_000], [vectors[1].astype("<f4").tobytes()])
    assert held.changed == set()  # in the rows added since: scored exactly anyway
    assert held.search(vectors[1], 1)[0] == (9_000, pytest.approx(1.0))


def test_a_vector_replaced_while_the_index_is_built_is_still_found(monkeypatch: pytest.MonkeyPatch) -> None:
    held, _ = _held(2_000)
    other = _unit(np.random.default_rng(11), 1)[0]
    real_train = vec.train_ivf

    def train_while_rewritten(matrix: np.ndarray, *, seed: int) -> vec.IvfIndex:
        index = real_train(matrix.copy(), seed=seed)  # built from the vectors as they were read
        held.put([7], [other.astype("<f4").tobytes()])  # rewritten meanwhile
        return index

    monkeypatch.setattr(held_module, "train_ivf", train_while_rewritten)
    held.build_index()
    assert held.index is not None and held.changed == {6} and held.stale[6] and held.stale.sum() == 1
    assert held.search(other, 1)[0] == (7, pytest.approx(1.0))


def test_a_vector_forgotten_while_the_index_is_built_is_erased_from_its_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    held, matrix = _held(2_000)
    real_train = vec.train_ivf

    def train_while_forgotten(vectors: np.ndarray, *, seed: int) -> vec.IvfIndex:
        index = real_train(vectors.copy(), seed=seed)  # copied before the memory was forgotten
        held.drop({9})
        return index

    monkeypatch.setattr(held_module, "train_ivf", train_while_forgotten)
    held.build_index()
    index = held.index
    assert index is not None and held.stale[8]
    assert not index.vectors[index.places[8]].any()
    assert 9 not in {i for i, _ in held.search(matrix[8].copy(), 10)}


def test_the_index_is_built_again_once_a_quarter_of_its_rows_are_new() -> None:
    held, _ = _held(2_000)
    held.build_index()
    extra = _unit(np.random.default_rng(12), 500)
    held.put(list(range(10_001, 10_501)), [row.astype("<f4").tobytes() for row in extra])
    assert not held.wants_index()  # exactly a quarter: not more
    held.put([20_000], [extra[0].astype("<f4").tobytes()])
    assert held.wants_index()
    held.build_index()
    assert held.index is not None and held.index.rows == 2_501 and held.changed == set()


def test_a_failed_build_leaves_search_exact_and_is_not_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    held, matrix = _held(1_000)

    def fail(matrix: np.ndarray, *, seed: int) -> vec.IvfIndex:
        raise MemoryError("no room for the lists")

    monkeypatch.setattr(held_module, "train_ivf", fail)
    with pytest.raises(MemoryError):
        held.build_index()
    assert held.index is None and not held.wants_index()  # not retried (and logged) at every search
    assert held.search(matrix[5].copy(), 1)[0][0] == 6


def test_an_index_counts_its_copy_in_what_is_held() -> None:
    held, _ = _held(2_000)
    assert held.footprint == 2_000
    held.build_index()
    assert held.footprint == 4_000  # the lists' copy of every vector: the budget of held vectors counts it


def test_more_results_than_the_probed_lists_hold_come_from_the_exact_search() -> None:
    held, matrix = _held(2_000)
    held.build_index()
    query = matrix[0].copy()
    assert [i for i, _ in held.search(query, 1_500)] == [row + 1 for row, _ in vec.top_k(matrix, query, 1_500)]
