"""The pure runtime layer: pruning, state round-trips, position and data of an instance."""

from __future__ import annotations

import random

import pytest

from engine.core import runtime
from engine.core.definitions import parse_sources, read_paths
from tests.conftest import ENGINE_DATA


def load(name: str) -> tuple[object, dict[str, object]]:
    files = [ENGINE_DATA / f"{name}.bpmn", ENGINE_DATA / "review.schema.json"]
    bundle = next(b for b in parse_sources(read_paths(files)) if b.process_id == name)
    spec, subs = runtime.load_spec(runtime.dump_spec(bundle.spec, bundle.subprocess_specs))
    return spec, subs


def ready_names(wf: runtime.SalesWorkflow) -> list[str]:
    return sorted(t.task_spec.bpmn_id for t in runtime.open_human_tasks(wf))


def complete(wf: runtime.SalesWorkflow, element_id: str, **data: object) -> None:
    change = runtime.Change(wf)
    task = next(t for t in runtime.open_human_tasks(wf) if t.task_spec.bpmn_id == element_id)
    task.data.update(data)
    task.run()
    change.engine_steps()
    change.finish()


@pytest.mark.parametrize("seed", range(5))
def test_parallel_join_in_a_loop_waits_for_both_branches(seed: int) -> None:
    """Raw SpiffWorkflow 3.2 fires this join early from the second round on when the branches
    finish in a different order than before (a cancelled join task of the last round counts
    as an arrived token); the pruned tree has no such leftovers."""
    spec, subs = load("parallel_loop")
    wf = runtime.new_workflow(spec, subs, {"stop": False})
    runtime.Change(wf).engine_steps()
    rng = random.Random(seed)
    for round_no in range(60):
        assert ready_names(wf) == ["task_finance", "task_legal"], round_no
        first, second = rng.sample(["task_finance", "task_legal"], 2)
        complete(wf, first)
        assert ready_names(wf) == [second], round_no  # the join waits
        complete(wf, second, stop=round_no == 59)
        # A save and a reload between rounds changes nothing.
        wf = runtime.load_state(runtime.dump_state(wf), spec, subs)
        assert len(wf.tasks) < 30  # history does not pile up in the tree
    assert wf.is_completed()
    assert ready_names(wf) == []


def test_state_round_trip_keeps_ready_tasks_and_data() -> None:
    spec, subs = load("review_loop")
    wf = runtime.new_workflow(spec, subs, {"company": "ACME"})
    change = runtime.Change(wf)
    change.engine_steps()
    events = change.finish()
    assert [e.element_id for e in events] == ["start", "script_init"]
    text = runtime.dump_state(wf)
    assert '"spec"' not in text  # the spec lives once per version, not in every instance
    again = runtime.load_state(text, spec, subs)
    assert ready_names(again) == ["task_review"]
    assert runtime.current_data(again) == {"company": "ACME", "rounds": 0}
    assert runtime.position(again, {"start": "completed"}) == {
        "start": "completed",
        "task_review": "ready",
    }


def test_state_from_another_serializer_version_is_refused() -> None:
    spec, subs = load("review_loop")
    text = runtime.dump_state(runtime.new_workflow(spec, subs, {}))
    old = text.replace(
        f'"serializer_version":"{runtime.SERIALIZER_VERSION}"', '"serializer_version":"1.0"'
    )
    with pytest.raises(ValueError, match="migration"):
        runtime.load_state(old, spec, subs)


def test_depth_limit_is_lifted_everywhere() -> None:
    from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
    from SpiffWorkflow.util.task import TaskIterator

    for cls in (TaskIterator, BpmnTaskIterator):
        wf_root = runtime.new_workflow(*load("script_loop"), {"n": 1}).task_tree
        assert cls(wf_root).max_depth == runtime.UNLIMITED_DEPTH
