"""`Service`: every use case of the engine over one database, the object the CLI, the web
pages, the JSON API, the worker and the demo hold.

It is composed of one class per concern, each in its own module of this package, so that an
operation has one obvious home: a deal's (start, list, show, comment) in `deals`, a
task's (inbox, complete, claim, release, drafts) in `tasks`, and so on.  A use case that
changes a deal does it through the unit of work (engine.usecases.unit).

    service = connect()              # SALESFLOW_DATABASE_URL, or the SQLite file under var/
    service.complete(task_id, user="alice", data={"budget_confirmed": True})
"""

from __future__ import annotations

from engine.errors import EngineError
from engine.store.config import database_url
from engine.store.db import Database
from engine.store.sealing import seal_plain
from engine.usecases.activities import ActivityCases
from engine.usecases.board import BoardCases
from engine.usecases.charts import ChartCases
from engine.usecases.connectors import ConnectorCases
from engine.usecases.customers import CustomerCases
from engine.usecases.deal_data import DealDataCases
from engine.usecases.deals import DealCases
from engine.usecases.definitions import DefinitionCases
from engine.usecases.delegations import DelegationCases
from engine.usecases.forecast import ForecastCases
from engine.usecases.handover import HandoverCases
from engine.usecases.imports import ImportCases
from engine.usecases.incidents import IncidentCases
from engine.usecases.initiatives import InitiativeCases
from engine.usecases.integrations import IntegrationCases
from engine.usecases.messages import MessageCases
from engine.usecases.moves import MoveCases
from engine.usecases.notifications import NotificationCases
from engine.usecases.outcomes import OutcomeCases
from engine.usecases.reports import ReportCases
from engine.usecases.saved_filters import SavedFilterCases
from engine.usecases.settings import SettingCases
from engine.usecases.simulation import SimulationCases
from engine.usecases.targets import TargetCases
from engine.usecases.tasks import TaskCases
from engine.usecases.texts import TextCases
from engine.usecases.timeline import TimelineCases
from engine.usecases.unit import Workspace
from engine.usecases.users import UserCases

__all__ = ["NotInitialisedError", "Service", "connect", "database_url"]


class Service(
    InitiativeCases,  # before DealCases, which it builds on
    ImportCases,  # and this one too
    UserCases,
    ActivityCases,
    DefinitionCases,
    ChartCases,
    CustomerCases,
    DealCases,
    DealDataCases,
    OutcomeCases,
    BoardCases,
    TaskCases,
    ConnectorCases,
    IntegrationCases,  # before MessageCases, which it builds on
    MessageCases,
    HandoverCases,
    DelegationCases,
    ForecastCases,
    NotificationCases,
    IncidentCases,
    MoveCases,
    ReportCases,
    SavedFilterCases,
    SettingCases,
    SimulationCases,
    TargetCases,
    TextCases,
    TimelineCases,
):
    """The engine's use cases over one database.  `workflow_cache`: how many live workflows
    to keep between calls (0: none, every step restored from the database)."""

    def __init__(self, db: Database, *, workflow_cache: int | None = None) -> None:
        self.space = Workspace(db, workflow_cache=workflow_cache)

    def setup_database(self) -> dict[str, object]:
        """Create or upgrade the schema (Alembic), then seal the secrets stored before they
        were sealed at rest (migration 0019 says why not there); `created` is True for a new
        database, `sealed` counts the secrets sealed now."""
        created = self.db.migrate()
        with self.db.write() as s:
            sealed = seal_plain(s)
        return {"database": self.db.describe(), "created": created, "sealed": sealed}

    def check_initialised(self) -> None:
        """NotInitialisedError unless the database has its schema."""
        if not self.db.is_initialised():
            raise NotInitialisedError(
                f"the database {self.db.describe()} is not set up: run `salesflow init` first"
            )

    def storage_problem(self) -> dict[str, object] | None:
        """Why the database cannot be read or written right now (the
        StorageUnavailableError's `to_dict()`: error, message, reason), or None when it
        can: what /healthz reports (engine.store.failures.StorageMonitor.check)."""
        found = self.db.storage.check()
        return None if found is None else found.to_dict()

    def close(self) -> None:
        """Close the database's connections (the command line does at its end)."""
        self.db.dispose()


class NotInitialisedError(EngineError):
    """The database has no schema yet."""


def connect(url: str | None = None, *, workflow_cache: int | None = None) -> Service:
    """The use cases over the database at `url` (default: `database_url()`, from the
    environment); what the web app, the command line and the worker start from."""
    return Service(Database(url or database_url()), workflow_cache=workflow_cache)
