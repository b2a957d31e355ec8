"""Drives the engine through the `salesflow` command (in-process), with Service's interface.

Lets the same scenario tests run through the CLI as a user would type it: every call is one
command with `--json`, and a failing command becomes the engine error its exit code and JSON
error report describe.
"""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

from engine.errors import EngineError, ValidationError
from salesflow.cli import EXIT_CODES, main

_BY_CODE = {code: cls for cls, code in EXIT_CODES.items()}


class CliDriver:
    def run(self, *args: str) -> Any:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["--json", *args])
        if code != 0:
            report = json.loads(err.getvalue())
            cls = _BY_CODE.get(code, EngineError)
            if cls is ValidationError:
                raise ValidationError(report["message"], field=report["field"])
            raise cls(report["message"])
        return json.loads(out.getvalue())

    def start(
        self,
        process_id: str,
        *,
        owner: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> Any:
        args = ["start", process_id, "--data", json.dumps(data or {})]
        if owner is not None:
            args += ["--owner", owner]
        return self.run(*args)

    def tasks(self, *, user: str | None = None, instance: str | None = None) -> Any:
        args = ["tasks"]
        if user is not None:
            args += ["--user", user]
        if instance is not None:
            args += ["--instance", instance]
        return self.run(*args)

    def complete(self, task_id: str, *, user: str, data: dict[str, Any] | None = None) -> Any:
        return self.run("complete", task_id, "--user", user, "--data", json.dumps(data or {}))

    def show(self, instance_id: str) -> Any:
        return self.run("show", instance_id)

    def simulate(
        self,
        process_id: str,
        *,
        actor: str | None = None,
        draft: bool = False,
        weeks: int | None = None,
        seed: int | None = None,
    ) -> Any:
        """`salesflow simulate PROCESS [--draft] [--weeks N] [--seed S] [--user U] --json`."""
        args = ["simulate", process_id] + (["--draft"] if draft else [])
        args += ["--weeks", str(weeks)] if weeks is not None else []
        args += ["--seed", str(seed)] if seed is not None else []
        args += ["--user", actor] if actor is not None else []
        return self.run(*args)

    def instances(self) -> Any:
        return self.run("instances")

    def users(self) -> Any:
        return self.run("users", "list")

    def tick(self) -> Any:
        return self.run("tick")
