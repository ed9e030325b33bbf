"""The scheduler's persistent job store across versions (bot/runtime/scheduling.py): a ceremony job stored by an
earlier version, under a function path that has moved since, counts as missing, and scheduling it again replaces
it (the trigger sweep does so), instead of breaking every look-up of that job."""

from __future__ import annotations

import pickle
import sqlite3
from datetime import timedelta
from pathlib import Path

from bot.clock import utcnow
from bot.core.retirement import ceremony_job_id
from bot.runtime import scheduling


def _move_function(path: Path, job_id: str, func: str) -> None:
    """Rewrite a stored job as an earlier version stored it: the same job, its function at ``func``."""
    with sqlite3.connect(path) as db:
        (state,) = db.execute("SELECT job_state FROM apscheduler_jobs WHERE id = ?", (job_id,)).fetchone()
        old = pickle.loads(state)
        old["func"] = func
        moved = pickle.dumps(old, pickle.HIGHEST_PROTOCOL)
        db.execute("UPDATE apscheduler_jobs SET job_state = ? WHERE id = ?", (moved, job_id))
    db.close()


async def test_a_ceremony_job_stored_under_a_moved_path_is_scheduled_again(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    scheduler = scheduling.build_scheduler(f"sqlite:///{path}")
    scheduler.start(paused=True)
    when = (utcnow() + timedelta(days=3)).replace(microsecond=0)
    try:
        scheduling.schedule_retirement_ceremony(scheduler, 7, when)
        assert scheduling.has_retirement_ceremony(scheduler, 7)

        _move_function(path, ceremony_job_id(7), "bot.scheduling:run_retirement_ceremony")
        assert not scheduling.has_retirement_ceremony(scheduler, 7)

        scheduling.schedule_retirement_ceremony(scheduler, 7, when)
        job = scheduler.get_job(ceremony_job_id(7))
        assert job is not None and job.func is scheduling.run_retirement_ceremony
        assert tuple(job.args) == (7, when.isoformat())
        assert scheduling.unschedule_retirement_ceremony(scheduler, 7)
        assert not scheduling.has_retirement_ceremony(scheduler, 7)
        assert not scheduling.unschedule_retirement_ceremony(scheduler, 7)
    finally:
        scheduler.shutdown(wait=False)
