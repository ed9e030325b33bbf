"""Run limits (bot.core.run_limits): one run at a time per key, a cool-down after a finished run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.run_limits import Refusal, RunLimits

T = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_one_run_at_a_time_then_a_cool_down_per_key() -> None:
    turns = RunLimits(timedelta(minutes=10))
    assert turns.start("alice", T) is None
    assert turns.start("alice", T + timedelta(seconds=5)) == Refusal(running=True)
    assert turns.start("bob", T) is None  # another key is not held back
    turns.finish("alice", T + timedelta(minutes=1), succeeded=True)
    assert turns.start("alice", T + timedelta(minutes=2)) == Refusal(running=False, wait=timedelta(minutes=9))
    assert turns.start("alice", T + timedelta(minutes=11)) is None


def test_a_failed_run_can_be_tried_again_at_once() -> None:
    turns = RunLimits(timedelta(minutes=10))
    assert turns.start("alice", T) is None
    turns.finish("alice", T, succeeded=False)
    assert turns.start("alice", T) is None
