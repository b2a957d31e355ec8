"""`Service`: every use case of the engine over one database, the object the CLI, the web
pages, the JSON API, the worker and the demo hold.

It is composed of one class per concern, each in its own module of this package, so that an
operation has one obvious home: a deal's (start, list, board, show, comment) in `deals`, a
task's (inbox, complete, claim, release, drafts) in `tasks`, and so on.  A use case that
changes a deal does it through the unit of work (engine.usecases.unit).

    service = Service(Database(url))
    service.complete(task_id, user="alice", data={"budget_confirmed": True})
"""

from __future__ import annotations

from engine.store.db import Database
from engine.usecases.charts import ChartCases
from engine.usecases.deals import DealCases
from engine.usecases.definitions import DefinitionCases
from engine.usecases.handover import HandoverCases
from engine.usecases.incidents import IncidentCases
from engine.usecases.messages import MessageCases
from engine.usecases.moves import MoveCases
from engine.usecases.notifications import NotificationCases
from engine.usecases.tasks import TaskCases
from engine.usecases.unit import Workspace
from engine.usecases.users import UserCases

__all__ = ["Service"]


class Service(
    UserCases,
    DefinitionCases,
    ChartCases,
    DealCases,
    TaskCases,
    MessageCases,
    HandoverCases,
    NotificationCases,
    IncidentCases,
    MoveCases,
):
    """The engine's use cases over one database.  `workflow_cache`: how many live workflows
    to keep between calls (0: none, every step restored from the database)."""

    def __init__(self, db: Database, *, workflow_cache: int | None = None) -> None:
        self.space = Workspace(db, workflow_cache=workflow_cache)
