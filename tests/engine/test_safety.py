"""Nothing in a BPMN file may run code: unsafe definitions are refused at deploy."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.core import runtime
from engine.errors import DefinitionError
from engine.usecases.service import Service
from tests.conftest import ENGINE_DATA

LOOP = (ENGINE_DATA / "review_loop.bpmn").read_text()
FORM = (ENGINE_DATA / "review.schema.json").read_text()


def deploy_variant(service: Service, tmp_path: Path, old: str, new: str) -> None:
    assert old in LOOP
    folder = tmp_path / "defs"
    folder.mkdir(exist_ok=True)
    (folder / "review_loop.bpmn").write_text(LOOP.replace(old, new))
    (folder / "review.schema.json").write_text(FORM)
    service.deploy([folder])


@pytest.mark.parametrize(
    ("old", "new", "element"),
    [
        (  # an import smuggled into a gateway condition
            "done == False",
            "__import__('os').system('touch {marker}') or done == False",
            "gw_again",
        ),
        (  # the classic walk to every class in the interpreter
            "rounds = rounds + 1",
            "rounds = len(().__class__.__base__.__subclasses__())",
            "script_count",
        ),
        (  # a generator frame walk back to the caller's globals
            "rounds = 0",
            "rounds = 0\nescape = (x for x in [1]).gi_frame.f_back.f_globals",
            "script_init",
        ),
        (  # str.format reaches attributes through the format string
            "done == False",
            "'{0.__class__}'.format(done) and done == False",
            "gw_again",
        ),
        (  # a script that imports
            "rounds = 0",
            "import os\nos.system('touch {marker}')\nrounds = 0",
            "script_init",
        ),
    ],
)
def test_unsafe_expressions_are_refused_naming_the_element(
    team: Service, tmp_path: Path, old: str, new: str, element: str
) -> None:
    marker = tmp_path / "pwned"
    with pytest.raises(DefinitionError) as err:
        deploy_variant(team, tmp_path, old, new.replace("{marker}", str(marker)))
    assert err.value.element_id == element
    assert err.value.file == "review_loop.bpmn"
    assert err.value.line is not None
    assert element in str(err.value)
    assert team.definitions() == []
    assert not marker.exists()


def test_instances_cannot_get_another_script_engine() -> None:
    from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine

    spec, subs = runtime.load_spec(runtime.dump_spec(*_review_spec()))
    wf = runtime.new_workflow(spec, subs, {})
    assert wf.script_engine is runtime.SCRIPT_ENGINE
    with pytest.raises(TypeError):
        wf.script_engine = PythonScriptEngine()
    restored = runtime.load_state(runtime.dump_state(wf), spec, subs)
    assert restored.script_engine is runtime.SCRIPT_ENGINE


def _review_spec() -> tuple[object, dict[str, object]]:
    from engine.core.definitions import parse_sources

    bundle = parse_sources({"review_loop.bpmn": LOOP, "review.schema.json": FORM})[0]
    return bundle.spec, bundle.subprocess_specs
