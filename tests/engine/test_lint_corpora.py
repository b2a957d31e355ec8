# ruff: noqa: RUF001 - the Chinese colon after an element's name
"""The designer's Check over every BPMN file of ../shared/corpora (each with the DMN and JSON
files of its folder and the BPMN files beside it that it calls: `salesflow check --each`), in
English and in Chinese: no message shows Python (a repr, an exception, a memory address, the
engine's own words), and every problem on an element starts with that element's name and id.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from engine.core.lint import check, localized
from engine.core.lint.grouping import grouped
from tests.conftest import CORPORA

PYTHON = re.compile(
    r"<Element|\bat 0x|0x[0-9a-fA-F]{6}|\b[A-Z]\w*(Error|Exception)\b|Error\(|Exception|"
    r"SubWorkflow|TaskSpec|task_spec|BpmnWorkflow|NoneType|Traceback|'node'|%r|\bspec\b|"
    r"(?<!\.)\.\.(?!\.)"
)
CJK = re.compile(r"[\u4e00-\u9fff]")
TEAM = frozenset({"sales rep", "sales manager"})


def definitions() -> list[dict[Path, bytes]]:
    found = {
        p: p.read_bytes()
        for p in sorted(CORPORA.rglob("*"))
        if p.suffix in (".bpmn", ".dmn", ".json") and p.is_file()
    }
    return grouped(found, each=True)


DEFINITIONS = definitions() if CORPORA.is_dir() else []
pytestmark = pytest.mark.skipif(not DEFINITIONS, reason="shared/corpora is not beside")


def names(files: dict[str, bytes]) -> dict[tuple[str, str], str]:
    """(file, element id) -> its name (blanks made single) for every element of the XML
    files; of an id a file has twice, the named one."""
    found: dict[tuple[str, str], str] = {}
    for name, content in files.items():
        if name.endswith((".bpmn", ".dmn")):
            root = etree.fromstring(content, etree.XMLParser(recover=True))
            for element in root.iter(etree.Element) if root is not None else ():
                key = (name, element.get("id") or "")
                named = " ".join((element.get("name") or "").split())
                if key[1] and (named or key not in found):
                    found[key] = named
    return found


def test_the_sweep_covers_every_bpmn_file_of_the_corpora() -> None:
    bpmn = {p for group in DEFINITIONS for p in group if p.suffix == ".bpmn"}
    assert bpmn == set(CORPORA.rglob("*.bpmn")) and len(bpmn) >= 59


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_message_shows_python_and_each_names_its_element_first(lang: str) -> None:
    leaks, unnamed, english = [], [], []
    for group in DEFINITIONS:
        files = {p.name: c for p, c in group.items()}
        ids = names(files)
        colon = "：" if lang == "zh" else ": "
        for held in (None, TEAM):
            for problem in localized(check(files, held_roles=held), lang):
                where = f"{next(iter(group))}: {problem.message}"
                if PYTHON.search(problem.message):
                    leaks.append(where)
                if lang == "zh" and not CJK.search(problem.message):
                    english.append(where)
                ident = problem.element_id
                name = ids.get((problem.file or "", ident or ""))
                if ident and name is not None:
                    label = f"{name} ({ident})" if name else ident
                    if not problem.message.startswith(label + colon):
                        unnamed.append(where)
    assert leaks == []
    assert unnamed == []
    assert english == []


@pytest.mark.parametrize(
    "leak",
    [
        "Perform emergency repair (_cd6f): Exactly one start event is required in a SubWorkflow "
        "Task; found 0.. ",
        "Make offer (_9cc2): Cannot resolve dataInputAssociation <Element {http://www.omg.org/"
        "spec/BPMN/20100524/MODEL}sourceRef at 0x7fe7146515c0>.",
        "b1: NotImplementedError('Unsupported Catch Event: %r', b'<bpmn:boundaryEvent/>')",
        "e1: TypeError(\"raise_validation_exception() got an unexpected keyword argument 'node'\")",
    ],
)
def test_the_pattern_catches_what_the_designers_saw(leak: str) -> None:
    assert PYTHON.search(leak)
