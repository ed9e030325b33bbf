"""The LoCoMo benchmark's machinery (``bench/bench_locomo.py``, ``bench/locomo.py``) on a tiny conversation of the
data set's shape written here: reading it, importing it as a persona, the baselines' recall worked out by hand, the
chat path's retrieval, and a missing data set that is explained and skipped, not failed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from bench import bench_locomo, locomo
from bench.__main__ import parse_arguments
from bot.db import models
from bot.db.engine import Database
from bot.services.conversation import recalling

ROOT = Path(__file__).resolve().parents[2]
MAY = datetime(2023, 5, 1, 13, 0, tzinfo=UTC)
JUNE = datetime(2023, 6, 3, 10, 0, tzinfo=UTC)


def _turn(speaker: str, dia_id: str, text: str) -> dict[str, Any]:
    return {"speaker": speaker, "dia_id": dia_id, "text": text}


CONVERSATION: dict[str, Any] = {
    "speaker_a": "Ann",
    "speaker_b": "Bob",
    "session_1_date_time": "1:00 pm on 1 May, 2023",
    "session_1": [
        _turn("Ann", "D1:1", "I adopted a kitten called Pickles."),
        _turn("Bob", "D1:2", "I am learning the violin."),
        _turn("Ann", "D1:3", "My sister moved to Lisbon."),
    ],
    "session_2_date_time": "10:00 am on 3 June, 2023",
    "session_2": [
        {**_turn("Bob", "D2:1", "My violin teacher lives in Porto."), "blip_caption": "a photo of a violin"},
        _turn("Ann", "D2:2", "Pickles knocked my coffee over."),
        _turn("Bob", "D2:3", "Kittens love chaos."),
    ],
    "qa": [
        {"question": "What is the kitten called?", "answer": "Pickles", "evidence": ["D1:1"], "category": 4},
        {
            "question": "Where do Ann's sister and Bob's violin teacher live?",
            "answer": "Lisbon and Porto",
            "evidence": ["D1:3", "D2:1"],
            "category": 1,
        },
        {"question": "When did the cat spill a drink?", "answer": "3 June 2023", "evidence": ["D2:2"], "category": 2},
        {"question": "Who owns Pickles?", "answer": "Ann", "evidence": ["D1:1; D2:02"], "category": 3},
        {"question": "What do kittens love?", "answer": "Chaos", "evidence": ["D2:3"], "category": 4},
        # Not scored: adversarial, evidence naming no turn, no evidence.
        {"question": "What is Bob's cat called?", "adversarial_answer": "Tom", "evidence": ["D2:3"], "category": 5},
        {"question": "Who is Carl?", "answer": "Nobody", "evidence": ["D7:1"], "category": 4},
        {"question": "Would Ann like Porto?", "answer": "Likely", "evidence": [], "category": 3},
    ],
}


@pytest.fixture
def data_folder(tmp_path: Path) -> Path:
    """The data set as its zip unpacks: one file per conversation, a few folders down, beside other files."""
    folder = tmp_path / "data" / "multimodal_dialog" / "locomo10_v2"
    folder.mkdir(parents=True)
    (folder / "07.json").write_text(json.dumps(CONVERSATION), encoding="utf-8")
    (tmp_path / "data" / "notes.json").write_text(json.dumps({"not": "a conversation"}), encoding="utf-8")
    return tmp_path


def test_the_data_set_is_read_as_the_benchmark_scores_it(data_folder: Path) -> None:
    (conversation,) = locomo.load(data_folder)
    assert conversation.name == "07" and conversation.speakers == ("Ann", "Bob")
    assert [t.dia_id for t in conversation.turns] == ["D1:1", "D1:2", "D1:3", "D2:1", "D2:2", "D2:3"]
    assert [t.at for t in conversation.turns] == [MAY] * 3 + [JUNE] * 3
    assert conversation.turns[0].content == "Ann: I adopted a kitten called Pickles."
    assert [(q.category, q.evidence) for q in conversation.questions] == [
        (4, ("D1:1",)),
        (1, ("D1:3", "D2:1")),
        (2, ("D2:2",)),
        (3, ("D1:1", "D2:2")),  # "D1:1; D2:02" read as the two turns it means
        (4, ("D2:3",)),
    ]
    # The other published shape: one file, a list of samples with the conversation under "conversation".
    sample = {"sample_id": "conv-7", "qa": CONVERSATION["qa"], "conversation": CONVERSATION}
    single = data_folder / "locomo10.json"
    single.write_text(json.dumps([sample]), encoding="utf-8")
    (again,) = locomo.load(single)
    assert again.name == "conv-7" and again.turns == conversation.turns and again.questions == conversation.questions


def test_bm25_and_recency_baselines_by_hand(data_folder: Path) -> None:
    (conversation,) = locomo.load(data_folder)
    results = bench_locomo.Results()
    bench_locomo._baselines(conversation, results)
    # BM25 ranks only the turns sharing a word with the question: the paraphrase (the cat, a drink) finds no
    # evidence at any depth; every other question's evidence is among its top 5 of 6 turns.
    bm25 = results.tallies["bm25"]
    for k in locomo.KS:
        assert bm25.recall(k) == pytest.approx(4 / 5)
        assert [bm25.recall(k, c) for c in (1, 2, 3, 4)] == [1.0, 0.0, 1.0, 1.0]
    # Newest first: D2:3 D2:2 D2:1 D1:3 D1:2 D1:1. Kitten (D1:1, 6th) 0 at 5; owner (D2:2 2nd, D1:1 6th) 1/2.
    recency = results.tallies["recency"]
    assert recency.recall(5) == pytest.approx((0 + 1 + 1 + 0.5 + 1) / 5)
    assert [recency.recall(5, c) for c in (1, 2, 3, 4)] == [1.0, 1.0, 0.5, 0.5]
    assert recency.recall(10) == recency.recall(25) == 1.0
    assert recency.figures()["recall5_cat4"] == 0.5 and recency.figures()["recall10_all"] == 1.0
    assert locomo.BM25(["a cat", "a dog"]).rank("cat", 5) == [0]


async def test_imported_persona_asked_as_the_chat_path_asks(database: Database, data_folder: Path) -> None:
    (conversation,) = locomo.load(data_folder)
    results = await bench_locomo.evaluate(database, [conversation])
    async with database.session() as session:
        rows = (await session.execute(select(models.Memory).order_by(col(models.Memory.id)))).scalars().all()
        persona = await session.get(models.Persona, rows[0].persona_id)
    assert persona is not None and persona.id is not None and persona.name == "LoCoMo 07"
    assert [m.content for m in rows] == [t.content for t in conversation.turns]
    assert [(m.created_at, m.last_accessed_at, m.importance) for m in rows] == [
        (t.at, t.at, 5) for t in conversation.turns
    ]
    assert results.memories == 6 and results.evidence == 7
    assert results.final_two_memories == 6 and results.final_two_evidence == 7  # two sessions: both are final
    for system in bench_locomo.ASKED:
        tally = results.tallies[system]
        assert tally.questions == Counter({1: 1, 2: 1, 3: 1, 4: 2})
        assert 0 <= tally.recall(5) <= tally.recall(10) <= tally.recall(25) <= 1
        assert 0 < results.slots[system].total <= 10 * 5
    assert len(results.durations_ms) == 2 * 5
    # The newest turn, the only one holding the question's words: first whatever the ranking.
    found = await bench_locomo.chat_retrieval(
        database, persona.id, "What do kittens love?", name=persona.name, now=JUNE.replace(day=4)
    )
    assert found[0].memory.content == "Bob: Kittens love chaos."
    assert recalling.MEMORY_K == 6  # the prompt's depth, put back
    # No words left to search (common words only): nothing, as the planner asks nothing.
    assert await bench_locomo.chat_retrieval(database, persona.id, "What is it?", name=persona.name, now=JUNE) == []


async def test_a_missing_data_set_is_explained_and_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    await bench_locomo.main({"data": str(tmp_path / "nowhere")})
    out = capsys.readouterr().out
    assert "LoCoMo figures skipped" in out and locomo.HOW_TO in out and "BENCH" not in out
    assert "snap-research/locomo" in locomo.HOW_TO and "data/locomo10.zip" in locomo.HOW_TO


def test_python_m_bench_without_the_data_set_succeeds() -> None:
    env = {k: v for k, v in os.environ.items() if k != locomo.ENV} | {"PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "bench", "locomo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert locomo.HOW_TO in done.stdout and "failed" not in done.stdout


def test_bench_options() -> None:
    assert parse_arguments(["locomo", "--data", "x y"]) == (["locomo"], {"data": "x y"})
    assert parse_arguments(["--data=here", "memory"]) == (["memory"], {"data": "here"})
    with pytest.raises(SystemExit, match="needs a value"):
        parse_arguments(["locomo", "--data"])
