# ruff: noqa: RUF001 - full-width Chinese punctuation in the expected Chinese
"""engine/core/lint/wording.py: the designer's Check in the reader's language.

The table itself (unique keys, the same placeholders in both languages), a broken definition
read in Chinese and in English, and a sweep over every BPMN/DMN file of the corpora, the lint
fixtures and files broken on purpose: in Chinese no message is left to an English sentence of
ours (what stays English is the designer's own content and a library's text in a frame).
"""

from __future__ import annotations

import ast
import collections
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from engine.core.connectors import CAMUNDA, SALESFLOW
from engine.core.lint import Problem, check, localized, wording
from engine.core.lint.wording import WORDING, placeholders, say, unworded, word
from tests.conftest import CORPORA, PROCESSES

LINT = Path(__file__).parent / "data" / "lint"
TEAM = {"sales rep", "sales manager"}
CJK = re.compile(r"[\u4e00-\u9fff]")
MODEL = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"


# --- the table ------------------------------------------------------------------------------


def test_every_key_is_unique_and_has_chinese_with_the_same_placeholders() -> None:
    source = Path(wording.__file__).read_text(encoding="utf-8")
    table = next(
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.AnnAssign)
        and isinstance(node.target, ast.Name)
        and node.target.id == "WORDING"
    )
    assert isinstance(table, ast.Dict)
    keys = [k.value for k in table.keys if isinstance(k, ast.Constant)]
    assert len(keys) == len(WORDING)  # a key written twice would silently hide the first
    assert [k for k, n in collections.Counter(keys).items() if n > 1] == []
    englishes = collections.Counter(en for en, _ in WORDING.values())
    assert [en for en, n in englishes.items() if n > 1] == []
    for key, (english, chinese) in WORDING.items():
        assert re.fullmatch(r"[a-z_]+\.[a-z0-9_]+", key), key
        assert placeholders(english) == placeholders(chinese), key
        assert english != chinese, key
        assert CJK.search(chinese) or "：" in chinese, key  # a frame: a Chinese colon
        values = {name: "x" for name in placeholders(english)}
        english.format_map(values), chinese.format_map(values)  # both fill


def test_say_gives_the_english_and_word_the_chinese() -> None:
    said = say("lane.no_name", lane="lane_1")
    assert said.text == (
        "sits in the lane 'lane_1', which has no name: the deal's owner will get this task (to "
        "give it to the people of a role instead, name the lane after the role)"
    )
    assert word(said, None) == word(said, "en") == said.text
    assert word(said, "zh-CN") == (
        "所在的泳道「lane_1」没有名称：该任务将交给商机负责人（如要交给某个角色的人员，"
        "请以该角色为泳道命名）"
    )
    with pytest.raises(KeyError):
        say("lane.nothing")


def test_a_text_made_elsewhere_is_recognised_by_its_english() -> None:
    # engine.core.calendar's SLA text inside the lint's "SLA: ..." frame.
    assert (
        word("SLA: 'P2M': months and years are not allowed in an SLA; write days (P30D)", "zh")
        == "SLA：「P2M」：SLA 中不允许使用月和年，请写成天数（P30D）"
    )
    # A nested phrase: the script checker's "what", the expression checker's detail.
    nested = say(
        "expression.unsafe",
        what="post-script",
        text="'import os'",
        detail="'import' is not allowed (line 1, column 1)",
    )
    assert word(nested, "zh") == "后置脚本 'import os'：不允许使用 'import'（第 1 行，第 1 列）"
    assert word("something nobody wrote", "zh") == "something nobody wrote"


# --- a broken definition, in both languages --------------------------------------------------


def fixture(bpmn: str) -> dict[str, str | bytes]:
    return {
        p.name: p.read_text(encoding="utf-8")
        for p in LINT.iterdir()
        if p.suffix in (".json", ".dmn") or p.name == bpmn
    }


def test_the_problems_of_a_broken_definition_in_chinese_and_in_english() -> None:
    problems = check(fixture("lanes.bpmn"), held_roles=TEAM)
    assert localized(problems, None) == problems
    assert [p.message for p in localized(problems, "en")] == [p.message for p in problems]
    chinese = localized(problems, "zh")
    assert [(p.element_id, p.line, p.file, p.severity) for p in chinese] == [
        (p.element_id, p.line, p.file, p.severity) for p in problems
    ]
    english = {p.element_id: p.message for p in problems}
    by_id = {p.element_id: p.message for p in chinese}
    lane_less = next(i for i, m in english.items() if "has no lane: the deal's owner" in m)
    assert by_id[lane_less].endswith(
        "：不在任何泳道中：该任务将交给商机负责人（如要交给某个角色的人员，请把它放进以该角色命名的泳道）"
    )
    # The element's name and id stay in front, as `named` put them.
    assert by_id[lane_less].split("：")[0] == english[lane_less].split(": ")[0]
    assert all(CJK.search(m) for m in by_id.values())


def test_the_not_utf8_and_not_xml_problems_keep_the_library_detail() -> None:
    problems = check({"a.bpmn": b"\xff\xfe<x", "b.bpmn": "<definitions"})
    chinese = [p.message for p in localized(problems, "zh-Hans")]
    assert chinese[0].startswith("不是 UTF-8 文本（") and "invalid start byte" in chinese[0]
    assert chinese[1].startswith("XML 格式不正确：")
    assert [p.message for p in localized(check({"x.dmn": "<a/>"}), "zh")] == ["没有提供 .bpmn 文件"]


# --- the sweep ------------------------------------------------------------------------------


def _process(body: str, *, lanes: str = "") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="{MODEL}" xmlns:spiffworkflow="{SPIFF}"
                  id="defs" targetNamespace="http://salesflow.example/test">
  <bpmn:process id="broken" name="Broken" isExecutable="true">
    <bpmn:laneSet id="lanes"><bpmn:lane id="lane_rep" name="Sales Rep">{lanes}</bpmn:lane>
    </bpmn:laneSet>
    {body}
  </bpmn:process>
</bpmn:definitions>
"""


def _chain(tasks: list[str]) -> str:
    """start -> each task -> end, the tasks given as XML with {inc}/{out} for their flows."""
    parts = ['<bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>']
    for n, task in enumerate(tasks):
        parts.append(
            task.replace("{inc}", f"<bpmn:incoming>f{n}</bpmn:incoming>").replace(
                "{out}", f"<bpmn:outgoing>f{n + 1}</bpmn:outgoing>"
            )
        )
        parts.append(
            f'<bpmn:sequenceFlow id="f{n}" sourceRef="{"start" if n == 0 else f"t{n - 1}"}" '
            f'targetRef="t{n}" />'
        )
    last = len(tasks)
    parts.append(f'<bpmn:endEvent id="end"><bpmn:incoming>f{last}</bpmn:incoming></bpmn:endEvent>')
    parts.append(f'<bpmn:sequenceFlow id="f{last}" sourceRef="t{last - 1}" targetRef="end" />')
    return "\n".join(parts)


def _script(n: int, script: str) -> str:
    text = script.replace("&", "&amp;").replace("<", "&lt;")
    return (
        f'<bpmn:scriptTask id="t{n}" name="Script {n}">{{inc}}{{out}}'
        f"<bpmn:script>{text}</bpmn:script></bpmn:scriptTask>"
    )


def _user(n: int, props: Mapping[str, str]) -> str:
    listed = "".join(f'<spiffworkflow:property name="{k}" value="{v}" />' for k, v in props.items())
    return (
        f'<bpmn:userTask id="t{n}" name="Task {n}"><bpmn:extensionElements>'
        f"<spiffworkflow:properties>{listed}</spiffworkflow:properties>"
        "</bpmn:extensionElements>{inc}{out}</bpmn:userTask>"
    )


SCRIPTS = [
    "import os",
    "f = lambda x: x",
    "_secret = 1",
    "len = 3",
    "x = open('f')",
    "x = (1).real",
    "x = [*range(3)]",
    "x = {**{}}",
    "x = [1, 2]\nx[0:1] = [3]",
    "x = f'{1:>999}'",
    "x = 'a'.__class__",
    "x = (",
    "x = 2 ** 8",
    "x: int = 1",
]


def broken_definitions() -> Iterator[tuple[str, dict[str, str | bytes]]]:
    """Definitions with one or more problems of each kind the checks word."""
    tasks = [_script(n, s) for n, s in enumerate(SCRIPTS)]
    yield "scripts", {"scripts.bpmn": _process(_chain(tasks))}
    slas = [
        {"sla": "P3X"},
        {"sla": "P2M"},
        {"sla": "PT0H"},
        {"escalateTo": "Sales Manager"},
        {"sla": "P1D", "escalateTo": "Sales Manger"},
        {"stage": "negotiaton"},
        {"formJsonSchemaFilename": "rules.schema.json"},
        {"formJsonSchemaFilename": "array.schema.json"},
        {"formJsonSchemaFilename": "missing.schema.json"},
    ]
    users = [_user(n, props) for n, props in enumerate(slas)]
    lanes = "".join(f"<bpmn:flowNodeRef>t{n}</bpmn:flowNodeRef>" for n in range(len(users)))
    rules = {
        "type": "object",
        "properties": {"a": {"type": "number"}},
        "x-rules": [3, {"rule": "near", "field": "b", "other": "a", "message": 7}],
    }
    yield (
        "tasks",
        {
            "tasks.bpmn": _process(_chain(users), lanes=lanes),
            "rules.schema.json": json.dumps(rules),
            "array.schema.json": "[]",
            "tasks.zh-Hans.json": json.dumps(
                {
                    "elements": {"nowhere": {"name": "无"}, "t0": {"instructions": "说明"}},
                    "stages": {"proposal": "方案"},
                    "forms": {"unused.schema.json": {"title": "无"}},
                }
            ),
        },
    )
    sla_tasks = [
        _user(n, props)
        for n, props in enumerate(
            [{"sla": "P3X"}, {"sla": "P2M"}, {"sla": "PT0H"}, {"escalateTo": "Sales Manager"}]
        )
    ]
    yield "slas", {"slas.bpmn": _process(_chain(sla_tasks), lanes=lanes)}
    yield (
        "translations",
        {
            "tasks.bpmn": _process(_chain(users[:1]), lanes=lanes),
            "tasks.zh-Hans.json": json.dumps({"elements": [], "colour": 1}),
        },
    )
    timers = [
        (
            f'<bpmn:intermediateCatchEvent id="t{n}">{{inc}}{{out}}<bpmn:timerEventDefinition>'
            f"<bpmn:{kind}>{text}</bpmn:{kind}></bpmn:timerEventDefinition>"
            "</bpmn:intermediateCatchEvent>"
        )
        for n, (kind, text) in enumerate(
            [
                ("timeDuration", "P3D"),
                ("timeDuration", '"3 days"'),
                ("timeDuration", "7"),
                ("timeDate", '"tomorrow"'),
                ("timeCycle", '"every day"'),
                ("timeCycle", '"R3/2026-01-01T00:00:00Z"'),
                ("timeDuration", "wait_days * 2"),
                ("timeDate", ""),
                ("timeDuration", '"P3Q"'),
            ]
        )
    ]
    yield "timers", {"timers.bpmn": _process(_chain(timers))}
    yield "connectors", {"connectors.bpmn": _process(_chain(BROKEN_CONNECTORS))}
    yield "too large", {"big.bpmn": "x" * 6_000_000}


def _ours(attributes: str, inner: str = "") -> str:
    return (
        f'<salesflow:connector xmlns:salesflow="{SALESFLOW}" {attributes}>{inner}'
        "</salesflow:connector>"
    )


def _camunda(connector: str, inputs: str = "", outputs: str = "", cycle: str = "") -> str:
    retry = f"<camunda:failedJobRetryTimeCycle>{cycle}</camunda:failedJobRetryTimeCycle>"
    return (
        f"{retry if cycle else ''}<camunda:connector>"
        f"<camunda:connectorId>{connector}</camunda:connectorId><camunda:inputOutput>"
        f"{inputs}{outputs}</camunda:inputOutput></camunda:connector>"
    )


_URL = '<camunda:inputParameter name="url">https://crm.example.com/x</camunda:inputParameter>'
# A service task for each thing a connector as written can get wrong (engine.core.connectors).
BROKEN_CONNECTORS = [
    f'<bpmn:serviceTask id="t{n}" name="Call {n}" xmlns:camunda="{CAMUNDA}">'
    f"<bpmn:extensionElements>{connector}</bpmn:extensionElements>{{inc}}{{out}}"
    "</bpmn:serviceTask>"
    for n, connector in enumerate(
        [
            _ours('method="FETCH" url="https://crm.example.com/x"'),
            _ours('url="https://crm.example.com/x" timeout="soon"'),
            _ours('url="https://crm.example.com/x" retries="500"'),
            _ours('url="https://crm.example.com/x" retryDelay="later"'),
            _ours(
                'url="https://crm.example.com/x"',
                f'<salesflow:header xmlns:salesflow="{SALESFLOW}" value="x"/>',
            ),
            _ours('method="GET"'),
            _ours('url="ftp://crm.example.com/x"'),
            _camunda("mail-send"),
            _camunda("http-connector", _URL, cycle="every minute"),
            _camunda(
                "http-connector",
                _URL,
                '<camunda:outputParameter name="x">${response.headers}</camunda:outputParameter>',
            ),
            _camunda(
                "http-connector",
                _URL + '<camunda:inputParameter name="payload">${execution.getVariables()}'
                "</camunda:inputParameter>",
            ),
        ]
    )
]


def sweep() -> Iterator[tuple[str, dict[str, str | bytes]]]:
    folders: dict[Path, dict[str, str | bytes]] = collections.defaultdict(dict)
    for path in sorted(CORPORA.rglob("*")) if CORPORA.is_dir() else []:
        if path.suffix in (".bpmn", ".dmn", ".json") and path.is_file():
            folders[path.parent][path.name] = path.read_bytes()
    for folder, files in folders.items():
        if any(n.endswith(".bpmn") for n in files):
            yield str(folder.relative_to(CORPORA)), files
            for name in files:
                if name.endswith(".bpmn"):
                    yield name, {name: files[name]}
    for bpmn in sorted(p.name for p in LINT.glob("*.bpmn")):
        yield bpmn, fixture(bpmn)
    yield (
        "processes",
        {p.name: p.read_text(encoding="utf-8") for p in PROCESSES.iterdir() if p.is_file()},
    )
    yield from broken_definitions()


def test_no_english_sentence_of_ours_is_left_in_chinese() -> None:
    seen: set[str] = set()
    left: list[tuple[str, str]] = []
    for where, files in sweep():
        nobody: frozenset[str] = frozenset()  # every lane's role unheld: those warnings too
        for held in (None, nobody):
            problems = check(files, held_roles=held) + _limits(files)
            for english, chinese in zip(problems, localized(problems, "zh"), strict=True):
                seen.add(english.said.key if english.said else "(recognised)")
                body = english.said or _body(english)
                left.extend((where, part) for part in unworded(body))
                if english.message == chinese.message or not CJK.search(chinese.message):
                    left.append((where, english.message))
    assert left == []
    # The sweep reaches the families of messages the issue names.
    for key in (
        "lane.none",
        "expression.unsafe",
        "timer.invalid",
        "form.problem",
        "translations.problem",
        "file.not_xsd",
    ):
        assert key in seen, key
    # SpiffWorkflow's own refusals, worded as ours (engine.core.lint.library).
    assert any(key.startswith("lib.") for key in seen), sorted(seen)


def _limits(files: Mapping[str, str | bytes]) -> list[Problem]:
    """The use case's own first check (files too large), as it words it."""
    from engine.core.definitions import check_limits
    from engine.errors import DefinitionError

    try:
        check_limits(files)
    except DefinitionError as exc:
        return [Problem(exc.detail, file=exc.file)]
    return []


def _body(problem: Problem) -> str:
    if problem.subject and problem.message.startswith(f"{problem.subject}: "):
        return problem.message[len(problem.subject) + 2 :]
    return problem.message
