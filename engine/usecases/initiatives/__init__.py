"""Optimisation initiatives (销售流程优化执行表): an instance of the initiative process, the
sales process it improves, its execution table, its weekly reviews and its measured effect.

An initiative is one run of `optimization_initiative` (started with Service.start, owned by
the lead) plus an `initiative` row in the same transaction.  Its execution table rows each
have exactly one responsible person (one active user: a role, a team or a list is refused),
a status (not started / in progress / done / blocked), planned and actual dates, notes, the
contact in another department, and the elements of the sales process the row changes
(checked against the graph of that process's current version).

Who may do what (every use case checks it; reading is open to every active user):
- create an initiative: who may start the initiative process (its `startRoles`: sales
  managers; and admins), the rule of every process (engine.usecases.deals.check_starter);
- add rows, change any field of any row, record weekly reviews: sales managers, admins and
  the initiative's lead;
- the owner of a row: its progress (status, actual date, notes, contact), not its plan
  (stage, task, owner, planned date, elements), which is the lead's;
- everyone else reads.

Weekly review (`record_review`): every blocked row counts one more consecutive blocked
review, every other row starts again from none; a row blocked at three consecutive reviews
(or more) is flagged.  The review then drives the initiative's process, whose execution loop
is "wait 7 days -> Weekly review -> count -> blocked for 3 cycles? -> Re-evaluate direction":
the review completes the open Weekly review task with `blocked_cycles_max` (the longest run
of blocked reviews of any row) and `execution_done` (every row done), and the process raises
the Re-evaluate direction task for its lead (the lane is the sales manager's, so the lead
must hold that role).  A review recorded before the 7 days are over ends that week's wait (the
review is the week's review) and the next wait starts from it.  A process still in
preparation, or at the re-evaluation already, is left where it is; the review is recorded.
As long as a flagged row stays blocked, every review raises the re-evaluation again.
Setting a row to another status than blocked clears its flag at once; its count of blocked
reviews only changes at reviews, so switching back and forth between reviews changes nothing.

Reminders (`send_reminders`, run by the worker: engine.jobs.reminders): a row in progress
not updated for a day tells its owner, at most once a day.

Effect: for the elements linked by the rows, the passes of the process's deals through them
(history rows with the time the element was entered) before `effective_at` against after it:
mean, shortest and longest time in the element, how many passes and deals, and how many of
those deals were won and lost (passed an element whose stage is won or lost); conversion is
won of decided (won + lost).  Computed with SQL aggregates; a deal is before or after by when
it entered the element.

Where it lives: the use cases are `InitiativeCases` (cases.py), methods of `Service`; the
rules that need no database (statuses, fields, who plans, the effect's figures) are
engine.core.initiatives; the execution table against the database is table.py, the weekly
review's counting and process driving review.py, the effect's query effect.py, the demo's
initiative demo.py.
"""

from __future__ import annotations

from engine.core.initiatives import (
    PLAN_FIELDS,
    PROCESS,
    PROGRESS_FIELDS,
    ROW_STATUSES,
    WEEK_TIMER,
)
from engine.usecases.initiatives.cases import InitiativeCases
from engine.usecases.initiatives.demo import PREPARATION, load_demo_initiative

__all__ = [
    "PLAN_FIELDS",
    "PREPARATION",
    "PROCESS",
    "PROGRESS_FIELDS",
    "ROW_STATUSES",
    "WEEK_TIMER",
    "InitiativeCases",
    "load_demo_initiative",
]
