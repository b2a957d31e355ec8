# ruff: noqa: RUF001 - full-width Chinese punctuation in the Chinese templates
"""What reading a BPMN file for drawing says about it, in English and Simplified Chinese.

The reader (engine.core.graph_xml) and its repairs (engine.core.xml_repair) word their
warnings in English with `say(key, **args)`; the Graph carries them as plain strings, so
they survive JSON, the command line and the pages unchanged.  `in_language(text, lang)`
finds a warning's entry again by matching the English templates (each placeholder matches
any text) and fills the Chinese one with the same arguments, which are the file's own
content (ids, names, line numbers, URIs) and stay as written.

Pure: no I/O.
"""

from __future__ import annotations

import functools
import re
import string

from engine.core.translations import CHINESE, locale_of

__all__ = ["WORDING", "in_language", "say"]

# key -> (English, Chinese), the two with the same placeholders.
WORDING: dict[str, tuple[str, str]] = {
    # --- repairs of the XML (engine.core.xml_repair) ------------------------------------
    "repair.namespace_uri": (
        'the namespace {attribute}="{uri}" is not a valid URI: read as "{fixed}"',
        "命名空间 {attribute}=“{uri}”不是有效的 URI：已按“{fixed}”读取",
    ),
    "repair.namespace_standard": (
        'the namespace {attribute}="{uri}" misspells the standard one: read as "{fixed}"',
        "命名空间 {attribute}=“{uri}”与标准命名空间写法不符：已按“{fixed}”读取",
    ),
    "repair.namespace_empty": (
        "the namespace {attribute} is empty, which XML allows only without a prefix: "
        'read as "{fixed}"',
        "命名空间 {attribute} 为空，而 XML 只允许不带前缀的命名空间为空：已按“{fixed}”读取",
    ),
    "repair.prefix": (
        'the prefix {prefix} is used but never declared: read as "{fixed}"',
        "前缀 {prefix} 被使用但从未声明：已按“{fixed}”读取",
    ),
    "repair.encoding_line": (
        "line {line} is not UTF-8, the file's encoding: read as {encoding}",
        "第 {line} 行不是文件所用的 UTF-8 编码：已按 {encoding} 读取",
    ),
    "repair.encoding_lines": (
        "{count} lines are not UTF-8, the file's encoding (lines {lines}): read as {encoding}",
        "有 {count} 行不是文件所用的 UTF-8 编码（第 {lines} 行）：已按 {encoding} 读取",
    ),
    "repair.encoding_utf8": (
        "the file declares the encoding {declared} but is written in UTF-8: read as UTF-8",
        "文件声明的编码是 {declared}，实际却是 UTF-8：已按 UTF-8 读取",
    ),
    "repair.encoding_unknown": (
        "the file declares the encoding {declared}, which is unknown: read as UTF-8",
        "文件声明的编码 {declared} 无法识别：已按 UTF-8 读取",
    ),
    "repair.declaration": (
        "blank text before the XML declaration on line {line}: moved after it",
        "第 {line} 行的 XML 声明之前有空白：已移到声明之后",
    ),
    # --- what a diagram shows (engine.core.graph_xml) -----------------------------------
    "file.no_process": (
        "the file holds no process",
        "文件中没有任何流程",
    ),
    "diagram.no_process": (
        "the diagram {diagram} refers to no process of the file: its shapes are drawn as "
        "grey boxes",
        "图 {diagram} 没有引用文件中的任何流程：其中的图形画成灰色框",
    ),
    "shape.no_element": (
        "the shape {shape} refers to {element}, which is not an element of the file: drawn "
        "as a grey box",
        "图形 {shape} 引用的 {element} 不是文件中的元素：画成灰色框",
    ),
    "shape.unreadable": (
        "the shape {shape} stands for {element}, a {kind}, which cannot be drawn: drawn as "
        "a grey box",
        "图形 {shape} 表示的 {element} 是 {kind}，无法绘制：画成灰色框",
    ),
    "shape.twice": (
        "the shape {shape} shows {element} a second time: only its first shape is drawn",
        "图形 {shape} 再次显示了 {element}：只绘制它的第一个图形",
    ),
    "shape.no_bounds": (
        "the shape {shape} of {element} has no readable position: the diagram is laid out "
        "automatically",
        "{element} 的图形 {shape} 没有可读的位置：图表将自动布局",
    ),
    "edge.no_element": (
        "the edge {edge} refers to {element}, which is not an element of the file: drawn "
        "as a grey line",
        "连线 {edge} 引用的 {element} 不是文件中的元素：画成灰色线",
    ),
    "edge.no_element_lost": (
        "the edge {edge} refers to {element}, which is not an element of the file, and "
        "joins no shape of the diagram: not drawn",
        "连线 {edge} 引用的 {element} 不是文件中的元素，且没有连接图中的任何图形：未绘制",
    ),
    "edge.no_reference": (
        "the edge {edge} refers to no element: drawn as a grey line",
        "连线 {edge} 没有引用任何元素：画成灰色线",
    ),
    "edge.no_reference_lost": (
        "the edge {edge} refers to no element and joins no shape of the diagram: not drawn",
        "连线 {edge} 没有引用任何元素，也没有连接图中的任何图形：未绘制",
    ),
    "shape.no_reference": (
        "the shape {shape} refers to no element: drawn as a grey box",
        "图形 {shape} 没有引用任何元素：画成灰色框",
    ),
    "edge.unreadable": (
        "the edge {edge} stands for {element}, a {kind}, which cannot be drawn as such: "
        "drawn as a grey line",
        "连线 {edge} 表示的 {element} 是 {kind}，无法按原样绘制：画成灰色线",
    ),
    "edge.unreadable_lost": (
        "the edge {edge} stands for {element}, a {kind}, which cannot be drawn: not drawn",
        "连线 {edge} 表示的 {element} 是 {kind}，无法绘制：未绘制",
    ),
    "edge.end_missing": (
        "the edge {edge} of {element} ends at {end}, which this diagram does not show: not drawn",
        "{element} 的连线 {edge} 连到本图未显示的 {end}：未绘制",
    ),
    "edge.end_absent": (
        "the edge {edge} of {element} ends at {end}, which is not an element of the file: "
        "not drawn",
        "{element} 的连线 {edge} 连到的 {end} 不是文件中的元素：未绘制",
    ),
    "flow.end_missing": (
        "the {kind} {element} ends at {end}, which is not in the file: not drawn",
        "{kind} {element} 连到文件中不存在的 {end}：未绘制",
    ),
    "shape.lost": (
        "the shape {shape} has no readable position: not drawn",
        "图形 {shape} 没有可读的位置：未绘制",
    ),
    "edge.twice": (
        "the edge {edge} shows {element} a second time: only its first edge is drawn",
        "连线 {edge} 再次显示了 {element}：只绘制它的第一条连线",
    ),
    "more": (
        "and {count} more like it",
        "另有 {count} 处同类问题",
    ),
}


def say(key: str, /, **args: str | int) -> str:
    """The English of `key` with its arguments (KeyError for a key the table lacks)."""
    return WORDING[key][0].format(**{name: str(value) for name, value in args.items()})


def in_language(text: str, lang: str | None) -> str:
    """A warning in `lang`: the Chinese of the entry whose English it is, or as it is (for
    English, and for a text no entry matches)."""
    if locale_of(lang) != CHINESE:
        return text
    for key, pattern in _patterns():
        found = pattern.fullmatch(text)
        if found is not None:
            return WORDING[key][1].format(**found.groupdict())
    return text


@functools.cache
def _patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Each entry's English as a pattern, the most specific (most fixed text) first."""
    compiled = []
    for key, (english, _) in WORDING.items():
        parts, fixed = [], 0
        for literal, name, _, _ in string.Formatter().parse(english):
            parts.append(re.escape(literal))
            fixed += len(literal)
            if name:
                parts.append(f"(?P<{name}>.+?)")
        compiled.append((fixed, key, re.compile("".join(parts), re.DOTALL)))
    compiled.sort(key=lambda item: -item[0])
    return tuple((key, pattern) for _, key, pattern in compiled)
