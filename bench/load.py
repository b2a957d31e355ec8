"""Issue 16's load test: the people of a sales team, as a locustfile.

50 users by default: 40 reps (each logged in as one of the 40 rep accounts) who open their
inbox, open one of its tasks and complete it with the shipped form's data as the page's form
posts it, then look at the deal; 9 managers who open the board, the deal list, the reports
and deals; one designer who, now and then, opens the sales pipeline in the designer and
publishes it with a task renamed (a new version each time).  Run by bench/load_run.py against
`salesflow serve` on PostgreSQL (10,000 deals, bench/_load_team.py); by hand:

    .venv/bin/locust -f bench/load.py --headless -u 50 -r 10 -t 60s --host http://127.0.0.1:5000

LOAD_THINK: the longest pause (seconds, default 0.5) between one person's steps: short, so
that 50 people keep the server busy and the figures say what it can carry.
LOAD_DEALS: how many deals there are (default 10000): managers open one at random.

A completion answered 409 (the task was completed or changed by someone else meanwhile) is
concurrency working as designed, not an error: it is counted apart, under its own name.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

# locust puts this folder first on the import path, where bench/engine.py would shadow the
# engine package: the repository first, this folder (for _load_team) last.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))
sys.path.append(str(_HERE))

from _load_team import DESIGNER, MANAGERS, PASSWORD, REPS, ROOT  # noqa: E402
from locust import FastHttpUser, between, task  # noqa: E402

from engine.usecases.demo import FORMS  # noqa: E402
from webui.schema_form import flatten  # noqa: E402

THINK = float(os.environ.get("LOAD_THINK", "0.5"))
DEALS = int(os.environ.get("LOAD_DEALS", "10000"))
REPORTS = ("funnel", "channels", "cycle", "reps", "stale")
TAKEN = "complete task (409: done by someone else meanwhile)"

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_TASK_LINK = re.compile(r'href="/tasks/([0-9a-f-]{36})"')
_TASK_FORM = re.compile(r"<form[^>]*data-schema-form.*?</form>", re.S)
_FIELD = re.compile(r'name="([^"]+)"')
_USER_TASK = re.compile(r'<bpmn:userTask id="([^"]+)".*?</bpmn:userTask>', re.S)
_SCHEMA_FILE = re.compile(r'name="formJsonSchemaFilename" value="([^"]+)"')
_DESIGNER_DATA = re.compile(
    r'<script type="application/json" id="designer-data">(.*?)</script>', re.S
)
_TASK_NAME = re.compile(r'name="Qualify lead[^"]*"')


def _shipped_forms() -> dict[str, dict[str, list[str]]]:
    """Element id -> the form fields a rep submits for it: the demo's data for the task
    (engine.usecases.demo FORMS), named as the page names them (webui.schema_form)."""
    processes = ROOT / "processes"
    bpmn = (processes / "sales_pipeline.bpmn").read_text(encoding="utf-8")
    forms: dict[str, dict[str, list[str]]] = {}
    for found in _USER_TASK.finditer(bpmn):
        element_id, schema_file = found.group(1), _SCHEMA_FILE.search(found.group(0))
        if element_id in FORMS and schema_file is not None:
            schema = json.loads((processes / schema_file.group(1)).read_text(encoding="utf-8"))
            forms[element_id] = flatten(schema, FORMS[element_id])
    return forms


SHIPPED_FORMS = _shipped_forms()


def form_for(page: str) -> dict[str, list[str]] | None:
    """The shipped form whose fields this task page shows (the page does not say which task
    it is in words a script should rely on; its fields do)."""
    form = _TASK_FORM.search(page)
    if form is None:
        return None
    shown = {name.split(".", 1)[0] for name in _FIELD.findall(form.group(0))}
    fits = [
        raw
        for raw in SHIPPED_FORMS.values()
        if raw and {name.split(".", 1)[0] for name in raw} <= shown
    ]
    return max(fits, key=len) if fits else None


class Person(FastHttpUser):
    abstract = True
    wait_time = between(0, THINK)
    accounts: tuple[str, ...] = ()
    _turns = itertools.count()

    def on_start(self) -> None:
        # Each person takes the next account of the role, round the list.
        self.username = self.accounts[next(self._turns) % len(self.accounts)]
        page = self.client.get("/login", name="log-in page")
        with self.client.post(
            "/login",
            data={"username": self.username, "password": PASSWORD, "csrf_token": token(page)},
            name="log in",
            allow_redirects=False,
            catch_response=True,
        ) as answer:
            if answer.status_code != 302:  # refused: every page after it would be the log-in
                answer.failure(f"log-in of {self.username}: {answer.status_code}")


def token(page: Any) -> str:
    found = _TOKEN.search(page.text or "")
    return found.group(1) if found else ""


class Rep(Person):
    weight = 40
    accounts = REPS
    _turns = itertools.count()

    @task
    def work_the_inbox(self) -> None:
        inbox = self.client.get("/tasks", name="inbox")
        ids = _TASK_LINK.findall(inbox.text or "")
        if not ids:
            return
        task_id = random.choice(ids)
        page = self.client.get(f"/tasks/{task_id}", name="task form")
        raw = form_for(page.text or "")
        if raw is None:  # gone meanwhile, or a form the team's data does not cover
            return
        pairs = [(name, value) for name, values in raw.items() for value in values]
        pairs.append(("csrf_token", token(page)))
        with self.client.post(
            f"/tasks/{task_id}",
            data=urlencode(pairs),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            name="complete task",
            allow_redirects=False,
            catch_response=True,
        ) as answer:
            if answer.status_code == 409:
                answer.request_meta["name"] = TAKEN
                answer.success()
                return
            if answer.status_code != 302:
                answer.failure(f"{answer.status_code}: {(answer.text or '')[:300]}")
                return
            deal_page = answer.headers.get("Location", "")
        self.client.get(deal_page, name="deal page")


class Manager(Person):
    weight = 9
    accounts = MANAGERS
    _turns = itertools.count()

    @task(3)
    def board(self) -> None:
        self.client.get("/deals/board", name="board")

    @task(2)
    def deal_list(self) -> None:
        self.client.get("/deals", name="deal list")

    @task(3)
    def report(self) -> None:
        name = random.choice(REPORTS)
        self.client.get(f"/reports/{name}", name=f"report: {name}")

    @task(2)
    def deal(self) -> None:
        self.client.get(f"/deals/{random.randint(1, DEALS)}", name="deal page")


class Designer(Person):
    fixed_count = 1
    accounts = (DESIGNER,)
    wait_time = between(15, 30)  # publishing is occasional
    _turns = itertools.count()
    _published = itertools.count(1)

    @task
    def publish(self) -> None:
        page = self.client.get("/designer/sales_pipeline", name="designer")
        found = _DESIGNER_DATA.search(page.text or "")
        if found is None:
            return
        data = json.loads(found.group(1))
        files = dict(data["files"])
        bpmn = files["sales_pipeline.bpmn"]
        renamed = f'name="Qualify lead (rev {next(self._published)})"'
        files["sales_pipeline.bpmn"] = _TASK_NAME.sub(renamed, bpmn, count=1)
        csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text or "")
        body = {"files": files, "opened": "sales_pipeline", "base_version": data["base_version"]}
        with self.client.post(
            "/designer/publish",
            data=json.dumps(body),
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "X-CSRFToken": csrf.group(1) if csrf else "",
            },
            name="publish",
            catch_response=True,
        ) as answer:
            if answer.status_code != 200:
                answer.failure(f"{answer.status_code}: {(answer.text or '')[:300]}")
