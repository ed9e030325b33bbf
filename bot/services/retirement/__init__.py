"""Retirement use cases: plan, show, cancel; the ceremony (claim, farewell, posted messages, completion); the legacy
(access, research export); retention. One module per part, everything re-exported here, so callers write
``from bot.services import retirement`` and ``retirement.claim_ceremony(...)``:

- :mod:`.views`: the plain data returned (plans, claims, results, legacies) and the plan form's input;
- :mod:`.store`: the plan row read as a plan, its ceremony progress, shared SQL helpers;
- :mod:`.planning`: save, show and cancel a plan (the owner only);
- :mod:`.triggers`: which ceremonies are due (date, inactivity, or interrupted);
- :mod:`.lease`: the lease on a ceremony in progress and its recorded progress;
- :mod:`.claim`: taking a ceremony, exactly once, or taking over an interrupted one;
- :mod:`.farewell`: the life in numbers and moods, and the farewell in the persona's voice;
- :mod:`.completion`: completing the ceremony (the legacy archive), or reading back its result;
- :mod:`.legacy` and :mod:`.research`: reading a legacy, and its anonymised research export;
- :mod:`.retention`: what is deleted when the retention ends.

Each function takes an open session (the caller owns the transaction), ids, plain data and ``now``. The rules are in
:mod:`bot.core.retirement`; who may do what is enforced here (the owner plans, cancels and retires; the plan's
archive access decides who reads the legacy).

**Exactly once.** The persona moves ``active -> retiring -> retired`` through guarded updates (``UPDATE ... WHERE
status = 'active'``), and the plan ``planned -> executing -> executed`` with it, so a second firing of the same
ceremony (two schedulers by mistake, a retry, a restart) changes nothing. The ``executing`` plan carries a lease
(its ``updated_at``, and ``lease_holder``, the identity of the process running it: :mod:`bot.db.presence`): a
ceremony interrupted by a crash is resumed by whoever finds the lease expired or its holder dead (a process that
starts again after a crash resumes its previous life's ceremony at once), and its
progress (the farewell text, the ids of the messages already posted, whether the export was sent) is kept in the
plan's ``ceremony_settings["progress"]``, so a resumed ceremony does not post twice. Every progress write and the
completion are guarded by the lease (``lease_holder`` is the writer's): a process whose ceremony was taken over
(it looked dead for a while) gets :class:`LeaseLost` and stops, without posting.

**Posting is not here**: the ceremony's caller posts between :func:`claim_ceremony` and :func:`complete_ceremony`
and records what it posted with :func:`record_posted`. No session is held while it talks to Discord or the model.
"""

from __future__ import annotations

from bot.services.retirement.claim import claim_ceremony
from bot.services.retirement.completion import complete_ceremony, result_of
from bot.services.retirement.farewell import guild_of, life_history, life_stats, mood_words, write_farewell
from bot.services.retirement.lease import LEASE, LeaseLost, claim_export, hold_lease, keep_farewell, record_posted
from bot.services.retirement.legacy import find_retired, legacy, retired_choices
from bot.services.retirement.planning import (
    cancel,
    check_plan,
    default_ceremony_channel,
    get_plan,
    plan_input,
    plan_retirement,
    scheduled_ceremonies,
)
from bot.services.retirement.research import people_of, research_export
from bot.services.retirement.retention import apply_retention, due_retention
from bot.services.retirement.triggers import due_ceremonies, last_activity
from bot.services.retirement.views import (
    CeremonyClaim,
    CeremonyResult,
    LegacyView,
    LifeStats,
    PlanInput,
    PlanView,
    RetentionReport,
)

__all__ = [
    "LEASE",
    "CeremonyClaim",
    "CeremonyResult",
    "LeaseLost",
    "LegacyView",
    "LifeStats",
    "PlanInput",
    "PlanView",
    "RetentionReport",
    "apply_retention",
    "cancel",
    "check_plan",
    "claim_ceremony",
    "claim_export",
    "complete_ceremony",
    "default_ceremony_channel",
    "due_ceremonies",
    "due_retention",
    "find_retired",
    "get_plan",
    "guild_of",
    "hold_lease",
    "keep_farewell",
    "last_activity",
    "legacy",
    "life_history",
    "life_stats",
    "mood_words",
    "people_of",
    "plan_input",
    "plan_retirement",
    "record_posted",
    "research_export",
    "result_of",
    "retired_choices",
    "scheduled_ceremonies",
    "write_farewell",
]
