"""The spiff-examples corpus (sartography/example-process-models, CC0) run by our runtime.

Differential test: each example's unit-test inputs are fed both to plain SpiffWorkflow and to
our runtime (restricted script engine, task tree pruned after every change, state saved and
reloaded between tasks).  Both must ask for the same tasks in the same order and end with
the same data; where the example's own expected output holds for plain SpiffWorkflow, it
holds for us too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.core import runtime
from engine.core.definitions import parse_sources
from engine.core.expressions import SafeScriptEngine
from engine.errors import DefinitionError
from tests.conftest import CORPORA

EXAMPLES = CORPORA / "spiff-examples" / "examples"
# The examples whose test cases run here (the others use timers, service calls, user functions
# such as get_current_user, or spiff-arena form extensions outside our language), each with
# how many of its cases end as the example expects when plain SpiffWorkflow runs them (the
# others were written for spiff-arena's runner, which feeds data another way).
RUNNABLE = {
    "0-1-minimal-example": 1,
    "0-2-basic-example": 2,
    "1-basic-concepts/1-4-decisions": 2,
    "2-in-depth/2-3-sub-processes": 2,
    "3-use-cases/allow-updates-until-approved": 0,
    "3-use-cases/todo-list": 0,
}

pytestmark = pytest.mark.skipif(not EXAMPLES.is_dir(), reason="shared/corpora is not beside")


def sources(folder: Path) -> dict[str, str]:
    return {
        p.name: p.read_text(encoding="utf-8")
        for p in folder.iterdir()
        if p.suffix in (".bpmn", ".dmn", ".json")
    }


def cases(folder: Path) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for test_file in sorted(folder.glob("test_*.json")):
        for name, case in json.loads(test_file.read_text()).items():
            found.append((f"{test_file.stem}:{name}", case))
    return found


Run = tuple[list[str], dict[str, Any], bool]  # tasks asked for, end data, completed


def feed(inputs: dict[str, list[dict[str, Any]]], element_id: str) -> dict[str, Any] | None:
    queue = inputs.get(element_id)
    return queue.pop(0) if queue else None


def run_plain(spec: Any, subs: Any, case: dict[str, Any]) -> Run:
    inputs = {k.split(":")[-1]: list(v["data"]) for k, v in case["tasks"].items()}
    wf = BpmnWorkflow(spec, subs, script_engine=SafeScriptEngine())
    wf.do_engine_steps()
    asked = []
    while ready := wf.get_tasks(state=TaskState.READY, manual=True):
        task = ready[0]
        asked.append(task.task_spec.bpmn_id)
        data = feed(inputs, task.task_spec.bpmn_id)
        if data is None:
            break
        task.data.update(data)
        task.run()
        wf.do_engine_steps()
    done = wf.is_completed()
    return asked, (wf.data if done else dict(ready[0].data)), done


def run_ours(spec: Any, subs: Any, case: dict[str, Any]) -> Run:
    inputs = {k.split(":")[-1]: list(v["data"]) for k, v in case["tasks"].items()}
    wf = runtime.new_workflow(spec, subs, {})
    change = runtime.Change(wf)
    change.engine_steps()
    change.finish()
    asked = []
    while ready := runtime.open_human_tasks(wf):
        task = ready[0]
        asked.append(task.task_spec.bpmn_id)
        data = feed(inputs, task.task_spec.bpmn_id)
        if data is None:
            break
        change = runtime.Change(wf)
        task.data.update(data)
        task.run()
        change.engine_steps()
        change.finish()
        wf = runtime.load_state(runtime.dump_state(wf), spec, subs)
    done = wf.is_completed()
    return asked, (runtime.current_data(wf) if done else dict(ready[0].data)), done


@pytest.mark.parametrize("example", sorted(RUNNABLE))
def test_examples_run_as_in_plain_spiffworkflow(example: str) -> None:
    folder = EXAMPLES / example
    model = json.loads((folder / "process_model.json").read_text())
    bundles = {b.process_id: b for b in parse_sources(sources(folder))}
    bundle = bundles[model["primary_process_id"]]
    spec, subs = runtime.load_spec(runtime.dump_spec(bundle.spec, bundle.subprocess_specs))
    found = cases(folder)
    assert found, f"{example} has no test cases"
    expected_held = 0
    for name, case in found:
        plain = run_plain(spec, subs, case)
        ours = run_ours(spec, subs, case)
        assert ours[0] == plain[0], name
        assert ours[2] == plain[2], name
        assert runtime.json_safe(ours[1]) == runtime.json_safe(plain[1]), name
        expected = case["expected_output_json"]
        if plain[2] and all(plain[1].get(k) == v for k, v in expected.items()):
            assert {k: ours[1].get(k) for k in expected} == expected, name
            expected_held += 1
    assert expected_held == RUNNABLE[example]


def test_spiff_arena_form_extensions_are_refused_clearly() -> None:
    """spiff-arena's `options_from_task_data_var:` is not JSON Schema: the file is named."""
    with pytest.raises(DefinitionError) as err:
        parse_sources(sources(EXAMPLES / "1-basic-concepts" / "1-2-forms"))
    assert err.value.file == "test-schema.json"
    assert "anyOf/0" in str(err.value) and "options_from_task_data_var" in str(err.value)
