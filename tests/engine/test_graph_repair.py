# ruff: noqa: RUF001 - full-width Chinese punctuation in the expected Chinese warnings
"""engine.core.xml_repair: what other tools write that lxml refuses, read with a warning.

Every broken file here is a real MIWG file with a few bytes edited the way exporters get
them wrong; each test first shows that lxml refuses (or misreads) the edited bytes, then
that the repaired reading gives the same graph as the clean file, plus one warning that
says what was repaired (and where), in English and in Chinese.
"""

from __future__ import annotations

import dataclasses

import pytest
from lxml import etree

from engine.core.graph import Graph, graph_from_xml, warning_text
from engine.core.graph_words import WORDING
from engine.core.xml_repair import repaired
from engine.errors import DefinitionError
from tests.conftest import CORPORA

MIWG = CORPORA / "miwg" / "Reference"
pytestmark = pytest.mark.skipif(not MIWG.is_dir(), reason="shared/corpora is not beside")


def original(name: str) -> bytes:
    return (MIWG / name).read_bytes()


def edited(name: str, *changes: tuple[bytes, bytes]) -> bytes:
    data = original(name)
    for old, new in changes:
        assert data.count(old) >= 1, old
        data = data.replace(old, new)
    return data


def refused(data: bytes) -> str:
    """lxml's own complaint about `data` (the test's proof that a repair was needed)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    with pytest.raises(etree.XMLSyntaxError) as caught:
        etree.fromstring(data, parser)
    return str(caught.value)


def same_drawing(broken: Graph, clean: Graph) -> None:
    """The same graph, but for the repairs' warnings before the clean file's own."""
    repairs = len(broken.warnings) - len(clean.warnings)
    assert repairs > 0 and broken.warnings[repairs:] == clean.warnings
    assert dataclasses.replace(broken, warnings=clean.warnings) == clean


def chinese(warning: str) -> str:
    text = warning_text(warning, "zh-CN")
    assert text != warning and "：" in text, text  # found in the table, not left English
    return text


def test_a_clean_file_is_handed_back_untouched() -> None:
    data = original("C.1.0.bpmn")
    fixed, warnings = repaired(data, "C.1.0.bpmn")
    assert fixed is data and warnings == ()
    assert graph_from_xml(data).warnings == ()
    # A.1.0 declares ISO-8859-1 and is pure ASCII: right as it is.
    assert graph_from_xml(original("A.1.0.bpmn")).warnings == ()


def test_a_namespace_uri_with_spaces() -> None:
    broken = edited(
        "C.7.0.bpmn",
        (
            b'xmlns:trisobpmn="http://www.trisotech.com/2014/triso/bpmn"',
            b'xmlns:trisobpmn="http://www.trisotech.com/2014/triso bpmn "',
        ),
    )
    assert "is not a valid URI" in refused(broken)
    graph = graph_from_xml(broken, file="C.7.0.bpmn")
    same_drawing(graph, graph_from_xml(original("C.7.0.bpmn"), file="C.7.0.bpmn"))
    repair = graph.warnings[0]
    assert repair == (
        'the namespace xmlns:trisobpmn="http://www.trisotech.com/2014/triso bpmn " is not '
        'a valid URI: read as "http://www.trisotech.com/2014/triso%20bpmn"'
    )
    assert chinese(repair).startswith("命名空间 xmlns:trisobpmn=")


def test_the_bpmn_namespace_with_a_stray_space_or_slash() -> None:
    model = b"http://www.omg.org/spec/BPMN/20100524/MODEL"
    for written in (model + b" ", model + b"/", b" " + model.upper()):
        broken = edited("C.1.0.bpmn", (b'xmlns="' + model + b'"', b'xmlns="' + written + b'"'))
        graph = graph_from_xml(broken, file="C.1.0.bpmn")
        same_drawing(graph, graph_from_xml(original("C.1.0.bpmn"), file="C.1.0.bpmn"))
        (repair,) = graph.warnings
        assert repair.startswith(f'the namespace xmlns="{written.decode()}" misspells')
        chinese(repair)


def test_non_ascii_and_empty_namespaces() -> None:
    broken = edited(
        "A.4.1.bpmn",
        (b'xmlns:signavio="http://www.signavio.com"', 'xmlns:signavio="http://例子.com"'.encode()),
        (b'xmlns:color="http://www.omg.org/spec/BPMN/non-normative/color/1.0"', b'xmlns:color=""'),
    )
    refused(broken)
    graph = graph_from_xml(broken)
    same_drawing(graph, graph_from_xml(original("A.4.1.bpmn")))
    assert graph.warnings == (
        'the namespace xmlns:signavio="http://例子.com" is not a valid URI: read as '
        '"http://%E4%BE%8B%E5%AD%90.com"',
        "the namespace xmlns:color is empty, which XML allows only without a prefix: read as "
        '"urn:salesflow:unreadable-namespace:color"',
    )
    assert [chinese(w) for w in graph.warnings]


def test_a_prefix_used_but_never_declared() -> None:
    broken = edited("A.4.1.bpmn", (b' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"', b""))
    assert "Namespace prefix xsi" in refused(broken)
    graph = graph_from_xml(broken)
    same_drawing(graph, graph_from_xml(original("A.4.1.bpmn")))
    assert graph.warnings == (
        'the prefix xsi is used but never declared: read as "http://www.w3.org/2001/XMLSchema-instance"',
    )
    chinese(graph.warnings[0])


def test_latin1_bytes_under_a_utf8_declaration() -> None:
    # Windows tools write the system's code page and still declare UTF-8.
    clean = original("C.1.0.bpmn")
    broken = clean.decode("utf-8").encode("cp1252")
    assert broken.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert "Invalid bytes in character encoding, line 476" in refused(broken)
    fixed, warnings = repaired(broken, "C.1.0.bpmn")
    assert fixed == clean  # exactly the file as it was meant
    assert warnings == (
        "2 lines are not UTF-8, the file's encoding (lines 476, 496): read as Windows-1252",
    )
    graph = graph_from_xml(broken, file="C.1.0.bpmn")
    assert "Rechnung klären" in {n.name for n in graph.nodes}
    assert chinese(warnings[0]) == (
        "有 2 行不是文件所用的 UTF-8 编码（第 476, 496 行）：已按 Windows-1252 读取"
    )


def test_one_latin1_line_in_a_utf8_file() -> None:
    clean = original("C.1.0.bpmn")
    lines = clean.split(b"\n")
    lines[475] = lines[475].decode("utf-8").encode("latin-1")
    fixed, warnings = repaired(b"\n".join(lines))
    assert fixed == clean
    assert warnings == ("line 476 is not UTF-8, the file's encoding: read as Windows-1252",)


def test_gb18030_chinese_under_a_utf8_declaration() -> None:
    # A Chinese Windows tool: names in the system's GBK/GB18030, the declaration says UTF-8.
    text = original("C.1.0.bpmn").decode("utf-8")
    text = text.replace("Rechnung klären", "审核发票").replace("Rechnung Klären", "审核")
    broken = text.encode("gb18030")
    refused(broken)
    graph = graph_from_xml(broken)
    assert "审核发票" in {n.name for n in graph.nodes}
    assert graph.warnings == (
        "2 lines are not UTF-8, the file's encoding (lines 476, 496): read as GB18030",
    )


def test_utf8_under_a_latin1_declaration() -> None:
    # lxml reads this without a word, as "Rechnung klÃ¤ren": the repair is the only notice.
    broken = edited("C.1.0.bpmn", (b'encoding="UTF-8"', b'encoding="ISO-8859-1"'))
    assert "Rechnung klÃ¤ren" in {
        el.get("name") for el in etree.fromstring(broken).iter() if el.get("name")
    }
    graph = graph_from_xml(broken)
    assert "Rechnung klären" in {n.name for n in graph.nodes}
    assert graph.warnings == (
        "the file declares the encoding ISO-8859-1 but is written in UTF-8: read as UTF-8",
    )
    chinese(graph.warnings[0])


def test_utf16_without_its_byte_order_mark_needs_no_repair() -> None:
    # libxml2 tells UTF-16 by its "<" and NUL bytes, whatever the declaration says.
    clean = original("C.1.0.bpmn")
    graph = graph_from_xml(clean.decode("utf-8").encode("utf-16-le"), file="C.1.0.bpmn")
    assert graph == graph_from_xml(clean, file="C.1.0.bpmn")


def test_an_encoding_nobody_knows() -> None:
    broken = edited("C.1.0.bpmn", (b'encoding="UTF-8"', b'encoding="UTF-8-unknown"'))
    assert "Unsupported encoding" in refused(broken)
    graph = graph_from_xml(broken)
    same_drawing(graph, graph_from_xml(original("C.1.0.bpmn")))
    assert graph.warnings == (
        "the file declares the encoding UTF-8-unknown, which is unknown: read as UTF-8",
    )
    # ... and when the text is not UTF-8 either, a refusal that names the file and line.
    latin = broken.decode("utf-8").encode("cp1252")
    with pytest.raises(DefinitionError) as caught:
        graph_from_xml(latin, file="C.1.0.bpmn")
    assert str(caught.value) == (
        'C.1.0.bpmn:1: the file declares the encoding "UTF-8-unknown", which is unknown, '
        "and is not UTF-8"
    )


def test_blank_lines_before_the_declaration() -> None:
    clean = original("C.1.0.bpmn")
    broken = b"\n\n  " + clean
    assert "XML declaration allowed only at the start" in refused(broken)
    graph = graph_from_xml(broken)
    assert graph.warnings == ("blank text before the XML declaration on line 3: moved after it",)
    # Lines keep their numbers: a later error still names the line of the file as written.
    cut = b"\n\n  " + b"\n".join(clean.split(b"\n")[:40])
    with pytest.raises(DefinitionError) as caught:
        graph_from_xml(cut, file="C.1.0.bpmn")
    assert caught.value.line == 42


def test_what_no_repair_can_read_names_the_line() -> None:
    lines = original("C.1.0.bpmn").split(b"\n")
    lines[9] = lines[9].replace(b">", b"", 1)
    with pytest.raises(DefinitionError) as caught:
        graph_from_xml(b"\n".join(lines), file="C.1.0.bpmn")
    assert caught.value.file == "C.1.0.bpmn" and caught.value.line is not None
    assert str(caught.value).startswith("C.1.0.bpmn:")
    assert "Traceback" not in str(caught.value) and "0x" not in str(caught.value)


def test_every_warning_has_its_chinese() -> None:
    """Each entry's English, filled with sample arguments, is found again and put into
    Chinese with the same arguments (so a template cannot shadow another)."""
    for key, (english, zh) in WORDING.items():
        names = [n for _, n, _, _ in __import__("string").Formatter().parse(english) if n]
        args = {n: f"<{n}-{i}>" for i, n in enumerate(names)}
        assert warning_text(english.format(**args), "zh") == zh.format(**args), key
        assert warning_text(english.format(**args), "en") == english.format(**args)
        assert "您" not in zh
