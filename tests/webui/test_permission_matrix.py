"""Who may open what: every route of the app x every role x own deal / foreign deal.

ROUTES has one line per (endpoint, method) of `app.url_map`.  A route without a line fails
`test_every_route_has_a_line`: whoever adds a route adds its line here, saying who may use it
(`only`), what an allowed user gets (`ok`), and what a user without access gets.  The rules
every line obeys, whatever it says:
- no session: pages redirect to /login (401 for clients that want JSON), the API answers 401
  without a bearer token; the only exceptions are the lines with `anonymous` set;
- a deal or task of a deal the user may not see is a 404, never a 403 or a 409, and reads
  like the 404 of an id that does not exist: what a request is about is looked up before the
  role is checked.  The same holds for someone else's delegation (unless a manager asks).  No
  answer to anyone but managers and admins shows the foreign deal, on any route;
- a migration is about a process, not a deal: the process and the role come first, and the
  deals named are those of the process, a designer's hidden ones included (`process_right`),
  while an id that is no deal of the process reads the same whatever it points at;
- a page's POST without csrf_token is a 400 that changes nothing (the API takes none: its
  bearer token is no cookie a browser sends on its own); a page session is no API token.

URLs and bodies take {deal}, {task}, {delegation} (what the request is about: the user's own
one, then one of bob, a rep), {initiative} and {row} (one initiative everyone reads, with a
row of alice) and {process}.  Where the answer depends on what the target is to the user,
`ok` maps each kind (MINE, QUEUED, OTHER_LANE, TAKEN for a task the user may see; OWN, OTHERS
for a delegation or a row) to a status: the engine's rules, which only ever apply to a deal
the user may see.  tests/webui/test_api.py checks the API's answers in more depth.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from engine import clock
from engine.jobs.timers import tick
from engine.store.models import History, Instance, OpenTask
from engine.usecases.demo import BIG_DISCOUNT, NURTURE, WON, drive
from engine.usecases.service import Service
from tests.conftest import LEAD

from .conftest import csrf_token, text

# The role under test -> the user of the test team who holds it (None: not logged in).
ROLES: dict[str, str | None] = {
    "Sales Rep": "alice",
    "Sales Manager": "mia",
    "Product Expert": "pete",
    "Legal": "lena",
    "Finance": "fay",
    "After-Sales": "sam",
    "Marketing": "mark",
    "designer": "dora",
    "admin": "root",
    "anonymous": None,
}
USERS = [u for u in ROLES.values() if u is not None]
SEE_EVERY_DEAL = {"mia", "root"}  # engine.usecases.access: managers and admins
MANAGERS = frozenset({"Sales Manager", "admin"})  # incidents, handing over, initiatives
DESIGNERS = frozenset({"designer", "admin"})
PROCESS_PAGES = frozenset({"Sales Manager", "designer", "admin"})  # also migration previews
REPORTS = frozenset({"Sales Rep", "Sales Manager", "admin"})  # a rep: the deals they may see
# Who may start the sales pipeline (its startRoles; admins always: engine.core.starters).
DEAL_STARTERS = frozenset({"Sales Rep", "Sales Manager", "admin"})
ADMIN_PAGES = frozenset({"admin"})
# Who may mark their own deal of the test (their `own` one) lost or change its value: its
# owner (alice; dora, to whom root's deal was handed) or a manager.
CHANGERS = {"Sales Rep": 422, "Sales Manager": 422, "admin": 422, "designer": 422}

# What the target of a request is to the user asking.
VISIBLE = "a deal the user may see"
HIDDEN = "a deal the user may not see"
MINE = "a task assigned to the user"
QUEUED = "a task in the queue of a role the user holds"
OTHER_LANE = "a task in the queue of a role the user does not hold"
TAKEN = "a task assigned to someone else"
OWN = "the user's own"
OTHERS = "someone else's"
# What a request can be about; a URL with a task and its deal is about the task.
TARGETS = ("task", "delegation", "row", "initiative", "deal")

LOGIN = "redirect to /login"
FOREIGN = "Hidden Foreign Ltd"  # bob's deal: no one but managers and admins may read this
MISSING = {  # each one different: an answer's ids are told apart by their values
    "deal": "999999",
    "task": "00000000-0000-4000-8000-000000000000",
    "delegation": "999998",
    "initiative": "999997",
    "row": "999996",
}
ANY_METHOD = ("GET", "POST", "PUT", "PATCH", "DELETE")
NEW_DEAL = {"process_id": "sales_pipeline", "data": LEAD}
NOT_BPMN = "<definitions/>"  # refused by every check: nothing is ever deployed
QUALIFIED = {
    "annual_revenue": 8_000_000,
    "intent": "high",
    "decision_chain": "known",
    "industry": "manufacturing",
    "region": "Shanghai",
}


@dataclass(frozen=True)
class Line:
    """The expectations of one route and method."""

    url: str
    ok: int | Mapping[str, int] = 200  # allowed users; or per kind of target
    only: frozenset[str] = frozenset()  # roles that may use it; empty: every logged-in user
    refused: int = 403  # the other logged-in users
    anonymous: int | str | None = None  # None: LOGIN (pages) or 401 (API)
    data: dict[str, Any] = field(default_factory=dict)  # form fields or JSON body
    by_role: Mapping[str, int] = field(default_factory=dict)  # these roles get this, not `ok`
    json_body: bool = False  # a page's JSON endpoint: `data` as JSON, the token in X-CSRFToken
    xml: str | None = None  # an API body of BPMN XML instead of `data`
    role_first: bool = False  # about a process: the role is refused before any deal is named
    hidden: int = 404  # a deal the user may not see (a batch answers per deal: 200)
    # Roles with a right over the whole process (engine.usecases.moves): they act on its deals they
    # may not see, so their answer for one is not a missing deal's (no name, no owner in it).
    process_right: frozenset[str] = frozenset()

    def expected(self, role: str, user: str | None, kind: str, api: bool) -> int | str:
        refused = bool(self.only) and role not in self.only
        if user is None:
            if self.anonymous is not None:
                return self.anonymous
            return 401 if api else LOGIN
        if refused and self.role_first:
            return self.refused
        if kind == HIDDEN:
            return self.hidden
        if refused:
            return self.refused
        if role in self.by_role:
            return self.by_role[role]
        if isinstance(self.ok, Mapping):
            return self.ok[kind]
        return self.ok


def tasks(mine: int, queued: int, other_lane: int, taken: int) -> dict[str, int]:
    return {MINE: mine, QUEUED: queued, OTHER_LANE: other_lane, TAKEN: taken}


# (endpoint, method) -> Line.  Keep one line per route; a new route needs its line.
ROUTES: dict[tuple[str, str], Line] = {
    # --- open to everyone ----------------------------------------------------------------
    ("static", "GET"): Line("/static/app.css", anonymous=200),
    ("healthz", "GET"): Line("/healthz", anonymous=200),
    ("favicon", "GET"): Line("/favicon.ico", ok=301, anonymous=301),
    ("favicon_svg", "GET"): Line("/favicon.svg", anonymous=200),
    ("chart_pages.asset", "GET"): Line("/charts/assets/svg-pan-zoom.min.js"),
    ("imports.upload", "GET"): Line("/imports", only=DEAL_STARTERS),
    # No task ticked: refused by the engine, shown as a message on the inbox.
    ("tasks.bulk", "POST"): Line("/tasks/bulk", ok=302, data={"action": "claim"}),
    ("imports.preview", "POST"): Line("/imports/preview", ok=422),
    ("imports.run", "POST"): Line("/imports/run", ok=422),
    ("auth.login", "GET"): Line("/login", ok=302, anonymous=200),  # logged in: on to the app
    ("auth.login", "POST"): Line("/login", ok=401, anonymous=401),  # no name, no password
    ("i18n.switch", "POST"): Line("/language", ok=302, anonymous=302, data={"lang": "en"}),
    # --- every logged-in user ------------------------------------------------------------
    ("index", "GET"): Line("/", ok=302),
    ("auth.logout", "POST"): Line("/logout", ok=302),
    ("tasks.inbox", "GET"): Line("/tasks"),
    ("deals.index", "GET"): Line("/deals"),
    ("deals.board", "GET"): Line("/deals/board"),
    # Saved views are the user's own: no name is refused; an id not theirs is not found.
    ("deals.save_filter", "POST"): Line("/deals/filters", ok=422, data={"query": "stage=lead"}),
    ("deals.delete_filter", "POST"): Line("/deals/filters/999995/delete", ok=404),
    ("deals.new", "GET"): Line("/deals/new", only=DEAL_STARTERS),
    ("deals.new", "POST"): Line("/deals/new", ok=422, only=DEAL_STARTERS),  # an empty lead form
    ("digest.today", "GET"): Line("/digest"),
    ("notifications.index", "GET"): Line("/notifications"),
    ("notifications.read", "POST"): Line("/notifications/read", ok=302),  # all of mine
    ("handover.holiday", "GET"): Line("/holiday"),
    ("handover.holiday", "POST"): Line("/holiday", ok=422),  # no one to cover, no end
    # --- customers: each sees those they own and those of the deals they may see -------
    ("customers.index", "GET"): Line("/customers"),  # never the foreign deal's customer
    ("customers.new", "GET"): Line("/customers/new", only=DEAL_STARTERS),
    ("customers.set_cadence", "POST"): Line(
        "/customers/cadence", ok=302, only=MANAGERS, data={"cadence_A": "5"}
    ),
    ("customers.new", "POST"): Line("/customers/new", ok=422, only=DEAL_STARTERS),  # no name
    # An id that names no customer (or one the user may not see) is a 404 for everyone.
    ("customers.show", "GET"): Line("/customers/999990", ok=404),
    ("customers.edit", "POST"): Line("/customers/999990", ok=404, data={"tier": "A"}),
    ("customers.add_contact", "POST"): Line(
        "/customers/999990/contacts", ok=404, data={"name": "Li Wei"}
    ),
    ("customers.update_contact", "POST"): Line("/customers/999990/contacts/999989", ok=404),
    ("customers.delete_contact", "POST"): Line("/customers/999990/contacts/999989/delete", ok=404),
    # --- one deal, one task --------------------------------------------------------------
    ("deals.show", "GET"): Line("/deals/{deal}"),
    ("deals.chart", "GET"): Line("/deals/{deal}/chart.svg"),
    ("deals.comment", "POST"): Line("/deals/{deal}/comments", ok=302, data={"text": "Hi"}),
    # A call logged from the deal page's panel, by whoever may see the deal: back to it.
    ("activities.log", "POST"): Line(
        "/activities", ok=302, data={"deal_id": "{deal}", "kind": "call", "notes": "Called"}
    ),
    # Its owner or a manager (engine.usecases.outcomes): dora owns the deal she was handed.
    # A reason not on the list: refused (422) for them, before anything changes.
    ("deals.mark_lost", "POST"): Line(
        "/deals/{deal}/lost", ok=403, by_role=CHANGERS, data={"reason": "Test"}
    ),
    ("deals.change_basics", "POST"): Line(
        "/deals/{deal}/basics", ok=403, by_role=CHANGERS, data={"amount": "-1"}
    ),
    ("deals.probabilities", "POST"): Line("/deals/board/probabilities", ok=302, only=MANAGERS),
    ("tasks.task_page", "GET"): Line("/tasks/{task}"),
    ("tasks.task_page", "POST"): Line(
        "/tasks/{task}", ok=tasks(302, 302, 403, 403), data={"action": "draft"}
    ),
    ("tasks.claim", "POST"): Line("/tasks/{task}/claim", ok=tasks(302, 302, 403, 409)),
    ("tasks.release", "POST"): Line("/tasks/{task}/release", ok=tasks(302, 403, 403, 403)),
    # The task's holder or a manager may reassign it ("to" nobody: refused on the page).
    ("handover.reassign", "POST"): Line(
        "/deals/{deal}/reassign",
        ok=tasks(302, 403, 403, 302),
        by_role={"Sales Manager": 302, "admin": 302},
        data={"task_id": "{task}", "to": ""},
    ),
    # The deal first (a 404 for one the user may not see), then the role (a 403).
    ("handover.hand_over_deal", "POST"): Line(
        "/deals/{deal}/handover", ok=302, only=MANAGERS, data={"to": ""}
    ),
    # Someone else's delegation reads like a missing one, except to managers and admins.
    ("handover.cancel", "POST"): Line(
        "/delegations/{delegation}/cancel",
        ok={OWN: 302, OTHERS: 404},
        by_role={"Sales Manager": 302, "admin": 302},
    ),
    # --- roles ---------------------------------------------------------------------------
    ("processes.index", "GET"): Line("/processes", only=PROCESS_PAGES),
    ("processes.show", "GET"): Line("/processes/{process}", only=PROCESS_PAGES),
    ("processes.heatmap", "GET"): Line("/processes/{process}/heatmap", only=PROCESS_PAGES),
    ("processes.chart", "GET"): Line("/processes/{process}/chart.svg", only=PROCESS_PAGES),
    ("simulation.show", "GET"): Line("/simulation/{process}", only=PROCESS_PAGES),
    ("handover.people", "GET"): Line("/people", only=MANAGERS),
    ("handover.people", "POST"): Line("/people", ok=422, only=MANAGERS),  # from, to: nobody
    ("incidents.index", "GET"): Line("/incidents", only=MANAGERS),
    # None of the deals is in error: the pages send a manager on to the deal.
    ("incidents.show", "GET"): Line("/incidents/{deal}", ok=302, only=MANAGERS),
    ("incidents.retry", "POST"): Line("/incidents/{deal}/retry", ok=302, only=MANAGERS),
    ("incidents.skip", "POST"): Line("/incidents/{deal}/skip", ok=302, only=MANAGERS),
    ("incidents.cancel", "POST"): Line("/incidents/{deal}/cancel", ok=302, only=MANAGERS),
    ("admin.users", "GET"): Line("/admin/users", only=ADMIN_PAGES),
    ("admin.users", "POST"): Line("/admin/users", ok=422, only=ADMIN_PAGES),  # no user name
    ("admin.user_page", "GET"): Line("/admin/users/bob", only=ADMIN_PAGES),
    ("admin.user_page", "POST"): Line(
        "/admin/users/bob", ok=302, only=ADMIN_PAGES, data={"action": "activate"}
    ),
    ("settings.edit", "GET"): Line("/settings", only=ADMIN_PAGES),
    ("settings.edit", "POST"): Line("/settings", ok=422, only=ADMIN_PAGES),  # no time zone
    # Integrations (issue 18): the admins' robots, webhooks, logs and signed-message secrets.
    ("integrations.index", "GET"): Line("/integrations", only=ADMIN_PAGES),
    ("integrations.add_robot", "POST"): Line("/integrations/robots", ok=422, only=ADMIN_PAGES),
    ("integrations.remove_robot", "POST"): Line(
        "/integrations/robots/999995/remove", ok=404, only=ADMIN_PAGES
    ),
    ("integrations.test_robot", "POST"): Line(
        "/integrations/robots/999995/test", ok=404, only=ADMIN_PAGES
    ),
    ("integrations.pause_robot", "POST"): Line(
        "/integrations/robots/999995/pause", ok=404, only=ADMIN_PAGES
    ),
    ("integrations.pause_webhook", "POST"): Line(
        "/integrations/webhooks/999995/pause", ok=404, only=ADMIN_PAGES
    ),
    ("integrations.add_webhook", "POST"): Line("/integrations/webhooks", ok=422, only=ADMIN_PAGES),
    ("integrations.remove_webhook", "POST"): Line(
        "/integrations/webhooks/999995/remove", ok=404, only=ADMIN_PAGES
    ),
    ("integrations.replay_delivery", "POST"): Line(
        "/integrations/deliveries/999995/replay", ok=404, only=ADMIN_PAGES
    ),
    ("integrations.replay_chat", "POST"): Line(
        "/integrations/chat/999995/replay", ok=404, only=ADMIN_PAGES
    ),
    ("integrations.set_inbound", "POST"): Line("/integrations/inbound", ok=422, only=ADMIN_PAGES),
    ("integrations.remove_inbound", "POST"): Line(
        "/integrations/inbound/contract_signed/remove", ok=302, only=ADMIN_PAGES
    ),
    # Everyone chooses their own chat (no robot: "no chat").
    ("integrations.mine", "GET"): Line("/integrations/mine"),
    ("integrations.mine", "POST"): Line("/integrations/mine", ok=302, data={"robot": ""}),
    ("connectors.index", "GET"): Line("/connectors", only=DESIGNERS),
    # No host given: refused on its field; a designer reads the page but changes nothing.
    ("connectors.change", "POST"): Line(
        "/connectors", ok=422, only=ADMIN_PAGES, data={"action": "allow_host"}
    ),
    ("versions.diff", "GET"): Line("/processes/{process}/diff", only=PROCESS_PAGES),
    ("versions.migrate", "GET"): Line("/processes/{process}/migrate", only=PROCESS_PAGES),
    # A deal named by id is moved (here: kept on version 1) or reported "not found".
    ("versions.migrate_deals", "POST"): Line(
        "/processes/{process}/migrate",
        only=DESIGNERS,
        role_first=True,
        hidden=200,
        process_right=DESIGNERS,
        data={"to": "1", "scope": "selected", "instance_id": "{deal}"},
    ),
    ("designer.index", "GET"): Line("/designer", only=DESIGNERS),
    ("designer.new", "GET"): Line("/designer/new", only=DESIGNERS),
    ("designer.edit", "GET"): Line("/designer/{process}", only=DESIGNERS),
    ("designer.asset", "GET"): Line(
        "/designer/assets/bpmn-modeler.production.min.js", only=DESIGNERS
    ),
    ("designer.discard", "POST"): Line("/designer/{process}/discard", ok=302, only=DESIGNERS),
    **{
        ("designer." + name, "POST"): Line(
            f"/designer/{path}",
            ok=ok,
            only=DESIGNERS,
            json_body=True,
            data={"files": {"x.bpmn": NOT_BPMN}, "xml": NOT_BPMN},
        )
        for name, path, ok in [
            ("check", "check", 200),
            ("publish", "publish", 422),
            ("save_draft", "draft", 422),  # no process in it to keep a draft of
            ("lay_out", "layout", 422),
        ]
    },
    ("designer.preview", "POST"): Line(
        "/designer/preview", only=DESIGNERS, json_body=True, data={"schema": "{}", "name": "f.json"}
    ),
    # --- reports: reps (their own deals' figures), managers and admins --------------------
    ("reports.index", "GET"): Line("/reports", ok=302, only=REPORTS),  # on to the funnel
    ("reports.show", "GET"): Line("/reports/stale", only=REPORTS),  # it lists deals by name
    # Only managers and admins set the spend per channel (nothing given: nothing to save).
    ("reports.set_costs", "POST"): Line("/reports/channels/costs", ok=302, only=MANAGERS),
    # Targets: reps read their own and the team's; managers and admins set them (nothing
    # given: refused with a message, back to the page).
    ("reports.targets", "GET"): Line("/reports/targets", only=REPORTS),
    ("reports.set_target", "POST"): Line("/reports/targets", ok=302, only=MANAGERS),
    # The forecast lists deals by name: a rep's only those they may see.
    ("forecast.page", "GET"): Line("/reports/forecast", only=REPORTS),
    # --- initiatives: everyone reads; the lead (mia), managers and a row's owner write ----
    ("initiatives.index", "GET"): Line("/initiatives"),
    ("initiatives.show", "GET"): Line("/initiatives/{initiative}"),
    ("initiatives.printable", "GET"): Line("/initiatives/{initiative}/print"),
    ("initiatives.export", "GET"): Line("/initiatives/{initiative}/export.csv"),
    ("initiatives.create", "POST"): Line("/initiatives", ok=422, only=MANAGERS),  # no name
    ("initiatives.add_row", "POST"): Line("/initiatives/{initiative}/rows", ok=422, only=MANAGERS),
    ("initiatives.update_row", "POST"): Line(
        "/initiatives/{initiative}/rows/{row}",
        ok={OWN: 302, OTHERS: 403},
        by_role={"Sales Manager": 302, "admin": 302},
        data={"notes": "Called them"},
    ),
    ("initiatives.save_table", "POST"): Line(
        "/initiatives/{initiative}/table",
        ok={OWN: 302, OTHERS: 403},
        by_role={"Sales Manager": 302, "admin": 302},
        data={"{row}.notes": "Called them"},
    ),
    ("initiatives.review", "POST"): Line(
        "/initiatives/{initiative}/reviews", ok=302, only=MANAGERS
    ),
    # --- the JSON API (bearer tokens) ----------------------------------------------------
    ("api.openapi_json", "GET"): Line("/api/v1/openapi.json", anonymous=200),
    ("api.docs", "GET"): Line("/api/v1/docs", anonymous=200),
    **{
        ("api.unknown_path", method): Line("/api/v1/nowhere", ok=404, anonymous=404)
        for method in ANY_METHOD
    },
    ("api.list_deals", "GET"): Line("/api/v1/deals"),
    ("api.start_deal", "POST"): Line("/api/v1/deals", ok=201, data=NEW_DEAL, only=DEAL_STARTERS),
    ("api.get_deal", "GET"): Line("/api/v1/deals/{deal}"),
    ("api.get_deal_progress", "GET"): Line("/api/v1/deals/{deal}/progress"),
    ("api.get_deal_timeline", "GET"): Line("/api/v1/deals/{deal}/timeline"),
    ("api.get_deal_data", "GET"): Line("/api/v1/deals/{deal}/data"),
    ("api.preview_import", "POST"): Line("/api/v1/imports/preview", ok=422),
    ("api.import_leads", "POST"): Line("/api/v1/imports", ok=422),
    ("api.get_deal_diagram", "GET"): Line("/api/v1/deals/{deal}/diagram.svg"),
    ("api.mark_deal_lost", "POST"): Line(
        "/api/v1/deals/{deal}/lost", ok=403, by_role=CHANGERS, data={"reason": "Test"}
    ),
    ("api.get_board", "GET"): Line("/api/v1/board"),
    ("api.list_tasks", "GET"): Line("/api/v1/tasks"),
    ("api.get_task", "GET"): Line("/api/v1/tasks/{task}"),
    ("api.claim_task", "POST"): Line("/api/v1/tasks/{task}/claim", ok=tasks(200, 200, 403, 409)),
    ("api.release_task", "POST"): Line(
        "/api/v1/tasks/{task}/release", ok=tasks(200, 403, 403, 403)
    ),
    ("api.complete_task", "POST"): Line(
        "/api/v1/tasks/{task}/complete", ok=tasks(422, 422, 403, 403), data={"data": {}}
    ),
    ("api.list_definitions", "GET"): Line("/api/v1/definitions"),
    ("api.get_definition", "GET"): Line("/api/v1/definitions/{process}"),
    ("api.get_definition_diagram", "GET"): Line("/api/v1/definitions/{process}/diagram.svg"),
    ("api.get_simulation", "GET"): Line(
        "/api/v1/definitions/{process}/simulation", only=PROCESS_PAGES
    ),
    # Nothing in the shipped pipeline waits for a message: a deal one sees is a 404 too.
    ("api.post_message", "POST"): Line(
        "/api/v1/messages/contract_signed", ok=404, data={"instance_id": "{deal}"}
    ),
    ("api.list_notifications", "GET"): Line("/api/v1/notifications"),
    ("api.list_customers", "GET"): Line("/api/v1/customers"),
    ("api.get_customer", "GET"): Line("/api/v1/customers/999990", ok=404),
    # The role first (403), then the body: no name is 422.
    ("api.create_customer", "POST"): Line("/api/v1/customers", ok=422, only=DEAL_STARTERS),
    # Webhooks are the admins'; a signed message needs no token, only its signature (401).
    ("api.list_webhooks", "GET"): Line("/api/v1/webhooks", only=ADMIN_PAGES),
    ("api.add_webhook", "POST"): Line("/api/v1/webhooks", ok=422, only=ADMIN_PAGES),  # no body
    ("api.remove_webhook", "DELETE"): Line("/api/v1/webhooks/999995", ok=404, only=ADMIN_PAGES),
    ("api.pause_webhook", "POST"): Line("/api/v1/webhooks/999995/pause", ok=404, only=ADMIN_PAGES),
    ("api.resume_webhook", "POST"): Line(
        "/api/v1/webhooks/999995/resume", ok=404, only=ADMIN_PAGES
    ),
    ("api.replay_delivery", "POST"): Line(
        "/api/v1/webhooks/deliveries/999995/replay", ok=404, only=ADMIN_PAGES
    ),
    ("api.signed_message", "POST"): Line(
        "/api/v1/hooks/messages/contract_signed", ok=401, anonymous=401, data={"instance_id": "1"}
    ),
    ("api.list_filters", "GET"): Line("/api/v1/filters"),
    ("api.save_filter", "POST"): Line("/api/v1/filters", ok=422),  # no name
    ("api.delete_filter", "DELETE"): Line("/api/v1/filters/999995", ok=404),
    # Activities: whoever may see the deal logs one on it (engine.usecases.activities); the
    # list without a customer or a deal named is refused, naming the parameter.
    ("api.list_activities", "GET"): Line("/api/v1/activities", ok=422),
    ("api.log_activity", "POST"): Line(
        "/api/v1/activities", ok=201, data={"deal_id": "{deal}", "kind": "call"}
    ),
    ("api.read_notifications", "POST"): Line("/api/v1/notifications/read"),
    ("api.list_incidents", "GET"): Line("/api/v1/incidents", only=MANAGERS),
    ("api.publish_definition", "POST"): Line(
        "/api/v1/definitions", ok=422, only=DESIGNERS, xml=NOT_BPMN
    ),
    ("api.list_versions", "GET"): Line("/api/v1/definitions/{process}/versions"),
    ("api.migrate_deals", "POST"): Line(
        "/api/v1/definitions/{process}/migrations",
        only=PROCESS_PAGES,
        role_first=True,
        hidden=200,
        process_right=DESIGNERS,
        data={"to_version": 1, "instance_ids": ["{deal}"], "dry_run": True},
    ),
    ("api.list_initiatives", "GET"): Line("/api/v1/initiatives"),
    ("api.create_initiative", "POST"): Line("/api/v1/initiatives", ok=422, only=MANAGERS),
    ("api.get_initiative", "GET"): Line("/api/v1/initiatives/{initiative}"),
    ("api.add_initiative_row", "POST"): Line(
        "/api/v1/initiatives/{initiative}/rows", ok=422, only=MANAGERS
    ),
    ("api.update_initiative_row", "PATCH"): Line(
        "/api/v1/initiatives/{initiative}/rows/{row}",
        ok={OWN: 200, OTHERS: 403},
        by_role={"Sales Manager": 200, "admin": 200},
        data={"notes": "Called them"},
    ),
    ("api.update_initiative_rows", "PATCH"): Line(
        "/api/v1/initiatives/{initiative}/rows",
        ok={OWN: 200, OTHERS: 403},
        by_role={"Sales Manager": 200, "admin": 200},
        data={"rows": {"{row}": {"notes": "Called them"}}},
    ),
    ("api.record_initiative_review", "POST"): Line(
        "/api/v1/initiatives/{initiative}/reviews", ok=201, only=MANAGERS
    ),
    **{
        (f"api.report_{name}", "GET"): Line(f"/api/v1/reports/{name}", only=REPORTS)
        for name in ("funnel", "channels", "cycle", "reps", "stale", "customers", "targets")
    },
    ("api.get_forecast", "GET"): Line("/api/v1/forecast", only=REPORTS),
    ("api.set_target", "POST"): Line(
        "/api/v1/targets",
        ok=201,
        only=MANAGERS,
        data={"period": "2026-03", "user": None, "metric": "won_value", "value": 1000},
    ),
    # None of the deals is in error: 409 for a manager.
    ("api.retry_deal", "POST"): Line("/api/v1/deals/{deal}/retry", ok=409, only=MANAGERS),
    ("api.skip_deal", "POST"): Line("/api/v1/deals/{deal}/skip", ok=409, only=MANAGERS),
    ("api.cancel_deal", "POST"): Line(
        "/api/v1/deals/{deal}/cancel", ok=409, only=MANAGERS, data={"reason": "Test"}
    ),
}
POSTS = sorted(key for key in ROUTES if key[1] != "GET")


# --- the deals of the test ---------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """What a request is about (a deal, one of its open tasks, a delegation, an initiative and
    a row of it), and what each of them is to the user asking."""

    ids: dict[str, str]
    kinds: dict[str, str]


@dataclass
class World:
    service: Service
    own: dict[str, Case]  # user -> their deal, task, delegation; the initiative and its row
    foreign: dict[str, Case]  # user -> bob's, as that user sees them


def _start(service: Service, owner: str, company: str, steps: list[Any]) -> str:
    data = {**LEAD, "company": company}
    deal = service.start("sales_pipeline", owner=owner, actor=owner, data=data)
    drive(service, deal["instance_id"], steps)
    return str(deal["instance_id"])


def _task(service: Service, deal: str, element_id: str) -> str:
    [found] = [t for t in service.tasks(instance=deal) if t["element_id"] == element_id]
    return str(found["task_id"])


def _away(service: Service, user: str, to: str, in_days: int) -> str:
    """A holiday of `user` in a few days (nothing moves before it starts)."""
    day = (clock.now() + timedelta(days=in_days)).date().isoformat()
    made = service.delegate(user, to, starts=day, until=day, actor=user)
    return str(made["id"])


@pytest.fixture
def world(staff: Service) -> World:
    """Every role's own deal, with a task for each lane, and a deal of bob that only managers
    and admins may see; a coming holiday of everyone, and one of bob."""
    s = staff
    with time_machine.travel(clock.now() - timedelta(days=31), tick=True):
        nurtured = _start(s, "alice", "Nurture Co", NURTURE)
    tick(s)  # the 30 days of nurture are over: marketing follows up
    alice = _start(s, "alice", "Alice Co", [])
    discount = _start(s, "alice", "Discount Co", BIG_DISCOUNT[:5])
    proposal = _start(s, "alice", "Proposal Co", WON[:3])
    contract = _start(s, "alice", "Contract Co", WON[:6])
    revisit = _start(s, "alice", "Revisit Co", WON)
    # A designer starts no deal (the pipeline's startRoles) and may own one only as the
    # whole work of someone else: root's, handed over.
    dora = _start(s, "root", "Designer Co", [])  # its lead waits for a sales rep
    s.hand_over("root", "dora", actor="mia")
    bob = _start(s, "bob", FOREIGN, [])
    plan = s.create_initiative(
        name="Faster quotes", process_id="sales_pipeline", lead="mia", actor="mia"
    )
    row = s.add_initiative_row(plan["id"], {"task": "Call", "owner": "alice"}, actor="mia")
    everyones = {"initiative": str(plan["id"]), "row": str(row["id"])}
    targets = {
        "alice": (alice, "task_qualify_lead", MINE),
        "mia": (discount, "task_approve_discount", QUEUED),
        "pete": (proposal, "task_design_proposal", QUEUED),
        "lena": (contract, "task_legal_review", QUEUED),
        "fay": (contract, "task_confirm_down_payment", QUEUED),
        "sam": (revisit, "task_satisfaction_revisit", QUEUED),
        "mark": (nurtured, "task_nurture_follow_up", QUEUED),
        "dora": (dora, "task_qualify_lead", OTHER_LANE),
        "root": (dora, "task_qualify_lead", OTHER_LANE),
    }
    own = {
        user: Case(
            {
                "deal": deal,
                "task": _task(s, deal, element),
                "delegation": _away(s, user, "bob", 10),
                **everyones,
            },
            {
                "deal": VISIBLE,
                "task": kind,
                "delegation": OWN,
                "initiative": VISIBLE,
                "row": OWN if user == "alice" else OTHERS,
            },
        )
        for user, (deal, element, kind) in targets.items()
    }
    theirs = {
        "deal": bob,
        "task": _task(s, bob, "task_qualify_lead"),
        "delegation": _away(s, "bob", "mark", 20),
    }
    foreign = {
        user: Case(
            theirs,
            {"deal": VISIBLE, "task": TAKEN, "delegation": OTHERS}
            if user in SEE_EVERY_DEAL
            else {"deal": HIDDEN, "task": HIDDEN, "delegation": OTHERS},
        )
        for user in USERS
    }
    # The fixture is under test too: what it calls own and foreign, the engine agrees with.
    for user in USERS:
        assert s.may_see(user, own[user].ids["deal"])
        assert s.may_see(user, bob) is (user in SEE_EVERY_DEAL)
    return World(s, own, foreign)


@dataclass
class Visitor:
    """A browser of one role: its client, the CSRF token of its session, its API token."""

    role: str
    user: str | None
    client: FlaskClient
    csrf: str
    bearer: dict[str, str]


@pytest.fixture
def visitors(app: Flask, staff: Service) -> list[Visitor]:
    """One browser per role, logged in (the session a log-in writes: test_auth.py tests the
    log-in itself, and its password check takes long on purpose)."""
    found = []
    for role, user in ROLES.items():
        client = app.test_client()
        if user is None:
            found.append(Visitor(role, None, client, csrf_token(client, "/login"), {}))
            continue
        with client.session_transaction() as session:
            session["user"] = session["name"] = user
        bearer = {"Authorization": f"Bearer {staff.create_token(user)['token']}"}
        found.append(Visitor(role, user, client, csrf_token(client, "/tasks"), bearer))
    return found


# --- making a request and judging its answer ---------------------------------------------


def is_api(endpoint: str) -> bool:
    return endpoint.startswith("api.")


def target(line: Line) -> str | None:
    """What a route is about (one of TARGETS, in its URL or body), or None."""
    said = line.url + json.dumps(line.data)
    return next((t for t in TARGETS if f"{{{t}}}" in said), None)


def prepare(line: Line, case: Case | None) -> tuple[str, dict[str, Any]]:
    """The line's URL and data with the case's ids in them."""
    values = {"process": "sales_pipeline", **(case.ids if case is not None else {})}

    def fill(text: str) -> str:
        for name, value in values.items():
            text = text.replace(f"{{{name}}}", value)
        return text

    data: dict[str, Any] = json.loads(fill(json.dumps(line.data)))
    return fill(line.url), data


def send(
    visitor: Visitor,
    endpoint: str,
    method: str,
    line: Line,
    case: Case | None,
    *,
    csrf: bool = True,
    bearer: bool = True,
    headers: dict[str, str] | None = None,
) -> TestResponse:
    url, data = prepare(line, case)
    if is_api(endpoint):
        sent = dict(headers or {}, **(visitor.bearer if bearer else {}))
        if line.xml is not None:
            answer = visitor.client.open(url, method=method, data=line.xml, headers=sent,
                                         content_type="application/xml")  # fmt: skip
        else:
            body = data if method != "GET" else None
            answer = visitor.client.open(url, method=method, json=body, headers=sent)
    elif line.json_body:
        sent = dict(headers or {}, **({"X-CSRFToken": visitor.csrf} if csrf else {}))
        answer = visitor.client.open(url, method=method, json=data, headers=sent)
    else:
        form = {**data, **({"csrf_token": visitor.csrf} if csrf else {})}
        sent_form = form if method != "GET" else None
        answer = visitor.client.open(url, method=method, data=sent_form, headers=headers)
    answer.get_data()  # read it all, then let go of the file a static answer streams from
    answer.close()
    return answer


def judge(answer: TestResponse, expected: int | str) -> str | None:
    """What is wrong with the answer, or None."""
    if expected == LOGIN:
        where = answer.headers.get("Location", "")
        if answer.status_code != 302 or not where.startswith("/login"):
            return f"{answer.status_code} {where!r}, expected a redirect to /login"
        return None
    if answer.status_code != expected:
        return f"{answer.status_code}, expected {expected}"
    return None


_TOKENS = re.compile(r'name="csrf_token" value="[^"]*"')


def _plain(answer: TestResponse, ids: Mapping[str, str]) -> str:
    """The answer's text with the ids asked for (and the CSRF token) taken out."""
    page = _TOKENS.sub("", text(answer))
    for name, ident in ids.items():
        page = re.sub(rf"(?<![\w.-]){re.escape(ident)}(?![\w.-])", f"<{name}>", page)
    return page


def check(
    visitor: Visitor, endpoint: str, method: str, line: Line, case: Case | None, **kw: Any
) -> list[str]:
    """Send one request of the matrix; the problems with its answer (none: an empty list)."""
    about = target(line)
    kind = case.kinds[about] if case is not None and about is not None else VISIBLE
    expected = line.expected(visitor.role, visitor.user, kind, is_api(endpoint))
    if not kw.get("csrf", True) and not is_api(endpoint):
        # Without the token, a page's POST is refused before anything looks at the deal.
        expected = 400 if visitor.user is not None or line.anonymous is not None else LOGIN
    where = f"{visitor.role} {method} {prepare(line, case)[0]}" + (f" ({kind})" if about else "")
    try:
        answer = send(visitor, endpoint, method, line, case, **kw)
    except Exception as exc:  # a crash (TESTING lets it through): report it with the rest
        return [f"{where}: raised {exc!r}"]
    wrong = judge(answer, expected)
    problems = [f"{where}: {wrong}"] if wrong else []
    if visitor.user not in SEE_EVERY_DEAL and FOREIGN in text(answer):
        # Not in a list, a count, a chart, a digest, an error message: nowhere.
        problems.append(f"{where}: the answer shows the foreign deal")
    if visitor.user is None and not is_api(endpoint) and line.anonymous is None:
        # A client that wants no HTML gets a 401 instead of the redirect.
        json_please = {"Accept": "application/json"}
        asked = send(visitor, endpoint, method, line, case, headers=json_please, **kw)
        if asked.status_code != 401 or FOREIGN in text(asked):
            problems.append(f"{where} as JSON: {asked.status_code}, expected 401")
    unseen = kind == HIDDEN or (kind == OTHERS and expected == 404)
    if unseen and case is not None and about is not None and visitor.role not in line.process_right:
        # Word for word the answer for an id that does not exist: nothing can be probed.
        missing = Case(MISSING, case.kinds)
        other = send(visitor, endpoint, method, line, missing, **kw)
        same = (other.status_code, _plain(other, MISSING))
        if same != (answer.status_code, _plain(answer, case.ids)):
            problems.append(f"{where}: differs from the answer for a missing id")
    return problems


def cases(world: World, visitor: Visitor, line: Line) -> list[Case | None]:
    """The targets of a route for a visitor: a foreign one first (a refusal changes nothing),
    then the visitor's own; anonymous visitors only try the foreign one."""
    if target(line) is None:
        return [None]
    if visitor.user is None:
        found = [world.foreign["alice"]]
    else:
        found = [world.foreign[visitor.user], world.own[visitor.user]]
    # Initiatives are everyone's: they come with the visitor's own case only.
    needed = {t for t in TARGETS if f"{{{t}}}" in line.url + json.dumps(line.data)}
    return [c for c in found if needed <= set(c.ids)] or [world.own["alice"]]


def snapshot(world: World) -> tuple[Any, ...]:
    """What a change to any deal changes: its row version (saved workflow, status, data),
    its history and its open tasks (claims and releases touch only these)."""
    with world.service.db.read() as s:
        deals = s.execute(select(Instance.id, Instance.lock_version, Instance.status)).all()
        history = s.scalar(select(func.count(History.id)))
        tasks = s.execute(select(OpenTask.task_id, OpenTask.assignee)).all()
    return sorted(deals), history, sorted(tasks, key=str)


# --- the tests ---------------------------------------------------------------------------


def test_every_route_has_a_line(app: Flask) -> None:
    routed = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    missing = sorted(routed - set(ROUTES))
    assert not missing, f"add a line to ROUTES in {__name__} for each of {missing}"
    stale = sorted(set(ROUTES) - routed)
    assert not stale, f"no such route any more: {stale}"
    # Each line's URL reaches its own endpoint (a typo would test another route).
    adapter = app.url_map.bind("localhost")
    for (endpoint, method), line in ROUTES.items():
        found, _values = adapter.match(prepare(line, Case(MISSING, {}))[0], method=method)
        assert found == endpoint, (endpoint, method, line.url)


def test_what_every_role_gets_from_every_page_and_endpoint(
    world: World, visitors: list[Visitor]
) -> None:
    """Every GET route: read-only, so one set of deals serves every role."""
    manager = next(v for v in visitors if v.user in SEE_EVERY_DEAL)
    for endpoint in ("deals.index", "api.list_deals"):  # the foreign deal shows where it may
        assert FOREIGN in text(send(manager, endpoint, "GET", ROUTES[(endpoint, "GET")], None))
    problems = []
    for (endpoint, method), line in ROUTES.items():
        if method != "GET":
            continue
        for visitor in visitors:
            for case in cases(world, visitor, line):
                problems += check(visitor, endpoint, method, line, case)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("endpoint", "method"), POSTS, ids=[f"{e}-{m}" for e, m in POSTS])
def test_what_every_role_gets_from_every_form_and_action(
    request: pytest.FixtureRequest, visitors: list[Visitor], endpoint: str, method: str
) -> None:
    """One state-changing route per test, on fresh deals: what one role did cannot change
    what the next one gets (each role has deals and tasks of its own)."""
    line = ROUTES[(endpoint, method)]
    # Deals only for the routes about one (making them is half of the time of a test).
    world: World | None = request.getfixturevalue("world") if target(line) else None
    problems = []
    for visitor in visitors:
        if world is None:
            problems += check(visitor, endpoint, method, line, None)
            continue
        for case in cases(world, visitor, line):
            before = snapshot(world)
            problems += check(visitor, endpoint, method, line, case)
            if case is not None and case.kinds["deal"] == HIDDEN and snapshot(world) != before:
                problems.append(f"{visitor.role} {endpoint}: changed a deal it may not see")
    assert not problems, "\n".join(problems)


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    world: World, visitors: list[Visitor]
) -> None:
    before = snapshot(world), world.service.delegations()
    problems = []
    for (endpoint, method), line in ROUTES.items():
        if method == "GET" or is_api(endpoint):
            continue
        for visitor in visitors:
            for case in cases(world, visitor, line):
                problems += check(visitor, endpoint, method, line, case, csrf=False)
    assert not problems, "\n".join(problems)
    assert (snapshot(world), world.service.delegations()) == before


def test_a_page_session_is_no_api_token(world: World, visitors: list[Visitor]) -> None:
    problems = []
    for (endpoint, method), line in ROUTES.items():
        if not is_api(endpoint) or line.anonymous is not None:
            continue
        for visitor in visitors[:-1]:  # logged in to the pages, no bearer token
            case = world.own[str(visitor.user)]
            answer = send(visitor, endpoint, method, line, case, bearer=False)
            if answer.status_code != 401:
                problems.append(f"{visitor.role} {method} {line.url}: {answer.status_code}")
    assert not problems, "\n".join(problems)


def test_a_done_task_of_a_hidden_deal_is_not_found_not_who_did_it(
    world: World, visitors: list[Visitor]
) -> None:
    """The 409 "already completed by bob at ..." is for those who may see the deal."""
    foreign = world.foreign["alice"]
    world.service.complete(foreign.ids["task"], user="bob", data=QUALIFIED)
    by_user = {v.user: v for v in visitors}
    for endpoint, method in [
        ("tasks.task_page", "GET"),
        ("tasks.claim", "POST"),
        ("tasks.release", "POST"),
        ("api.claim_task", "POST"),
        ("api.release_task", "POST"),
        ("api.complete_task", "POST"),
    ]:
        line = ROUTES[(endpoint, method)]
        hidden = send(by_user["alice"], endpoint, method, line, foreign)
        assert hidden.status_code == 404, (endpoint, hidden.status_code)
        assert "bob" not in text(hidden) and FOREIGN not in text(hidden)
        seen = send(by_user["mia"], endpoint, method, line, foreign)
        assert seen.status_code == 409, (endpoint, seen.status_code)


def test_a_hidden_task_named_through_a_visible_deal_is_not_found(
    world: World, visitors: list[Visitor]
) -> None:
    """Reassigning names the deal in the URL and the task in the form: both must be seen."""
    alice = next(v for v in visitors if v.user == "alice")
    line = ROUTES[("handover.reassign", "POST")]
    mixed = Case({**world.own["alice"].ids, "task": world.foreign["alice"].ids["task"]}, {})
    before = snapshot(world)
    answer = send(alice, "handover.reassign", "POST", line, mixed)
    assert answer.status_code == 404 and FOREIGN not in text(answer)
    assert snapshot(world) == before


def test_a_migration_answers_a_deal_of_another_process_like_no_deal(
    world: World, visitors: list[Visitor]
) -> None:
    """Designers act on every deal of the process they migrate (`process_right`), and on
    nothing else: the id of another process's deal reads word for word like an id that does
    not exist, for every role, on the page and in the API (a manager's dry run included)."""
    made = world.service.start("optimization_initiative", owner="mia", actor="mia")
    elsewhere = Case({"deal": str(made["instance_id"])}, {"deal": HIDDEN})
    missing = Case(MISSING, {"deal": HIDDEN})
    before = snapshot(world)
    problems = []
    for visitor in visitors[:-1]:  # logged in (anonymous visitors: the matrix above)
        for endpoint in ("versions.migrate_deals", "api.migrate_deals"):
            line = ROUTES[(endpoint, "POST")]
            other = send(visitor, endpoint, "POST", line, elsewhere)
            none = send(visitor, endpoint, "POST", line, missing)
            where = f"{visitor.role} {endpoint}"
            if (other.status_code, _plain(other, elsewhere.ids)) != (
                none.status_code,
                _plain(none, MISSING),
            ):
                problems.append(f"{where}: another process's deal differs from a missing one")
            if visitor.role not in line.only:
                if other.status_code != 403:
                    problems.append(f"{where}: {other.status_code}, expected 403")
            elif is_api(endpoint):
                [deal] = other.get_json()["deals"]
                if (deal["code"], deal["name"], deal["stage"]) != ("not_found", None, None):
                    problems.append(f"{where}: {deal}")
            elif "No such deal of this process." not in text(other):
                problems.append(f"{where}: {other.status_code}, no 'not found' for the deal")
    assert not problems, "\n".join(problems)
    assert snapshot(world) == before
