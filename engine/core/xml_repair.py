"""Reading the XML other modelling tools write, where a strict parser would refuse it.

Files from ARIS, Signavio, Bizagi, ADONIS, Yaoqiang and others are read by their own tools
without complaint, yet break libxml2's rules in a few recurring ways.  Each repair here is
small, changes no line break (so every line number a later message gives is still the
file's), and is reported in plain words, so the designer learns what was read differently:

- namespace URIs that are not URIs ("http://www.foo.com/some thing", a stray space after
  the BPMN namespace, non-ASCII letters, an empty prefixed namespace): trimmed, and
  percent-encoded where they are not a near-miss of a namespace of the standard;
- a standard namespace misspelt ("…/20100524/MODEL/", other case): read as the standard one;
- a prefix used but never declared (`xsi:type` without xmlns:xsi): declared on the root;
- bytes that are not the declared encoding: Windows-1252 (Western) or GB18030 (Chinese)
  text under a UTF-8 declaration or none, UTF-8 under a Latin-1 declaration, an encoding
  name nobody knows;
- blanks before the XML declaration.

Anything else that is not well-formed stays an error naming the line (DefinitionError).

Pure: bytes in, bytes or an lxml tree out.  `read` is what engine.core.graph_xml parses
with; `repaired` gives the bytes for any other reader (the designer's check, SpiffWorkflow's
parser), so both see the same file.  The warnings are English; engine.core.graph_words
holds their Chinese.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable

from lxml import etree

from engine.core.graph_words import say
from engine.errors import DefinitionError

__all__ = ["BPMNDI", "DC", "DI", "MODEL", "read", "repaired"]

MODEL = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
STANDARD = (MODEL, BPMNDI, DC, DI, XSI)
# What a prefix that a file uses without declaring it most likely stands for: the names the
# spec's own examples and the common tools give these namespaces.
USUAL_PREFIXES = {
    "bpmn": MODEL,
    "bpmn2": MODEL,
    "semantic": MODEL,
    "model": MODEL,
    "bpmndi": BPMNDI,
    "dc": DC,
    "omgdc": DC,
    "di": DI,
    "omgdi": DI,
    "xsi": XSI,
}
# A namespace that means nothing to us, for a prefix whose own cannot be read: what is in it
# is then another vendor's extension, which the reader skips anyway.
PLACEHOLDER = "urn:salesflow:unreadable-namespace:"
ROUNDS = 8  # each round repairs what one parse reported; a file needs two or three at most
FIRST_LINES = 3  # encoding warnings name the first few lines they repaired

_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_DECLARATION = re.compile(rb"^(\s*)(<\?xml\b[^>]*?\?>)")
_ENCODING = re.compile(rb"""(\bencoding\s*=\s*)(["'])([^"']*)\2""")
_XMLNS = re.compile(rb"""(\bxmlns(?::([\w.\-]+))?\s*=\s*)(["'])(.*?)\3""", re.DOTALL)
_ROOT_NAME = re.compile(rb"<([A-Za-z_][\w.\-]*(?::[\w.\-]+)?)")
_UNDEFINED = re.compile(r"Namespace prefix (\S+) (?:for \S+ )?on \S+ is not defined")
# RFC 3986's characters, less the quote and the ampersand (an attribute could not hold them
# raw); "%" only as the start of an escape.
_URI_CHAR = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$()*+,;=]|%[0-9A-Fa-f]{2}")
_UTF8_NAMES = frozenset({"utf-8", "utf8"})
# Declarations under which UTF-8 bytes are read without an error, as the wrong letters.
_SINGLE_BYTE = frozenset({"iso-8859-1", "iso8859-1", "latin-1", "latin1", "windows-1252"})
_ENTITIES = {b"&lt;": "<", b"&gt;": ">", b"&amp;": "&", b"&quot;": '"', b"&apos;": "'"}
_HIGH = re.compile(rb"[\x80-\xff]+")
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


def _parser() -> etree.XMLParser:
    # No entity expansion and no network: uploaded files must not read local files or URLs.
    return etree.XMLParser(resolve_entities=False, no_network=True)


def read(data: bytes | str, file: str | None = None) -> tuple[etree._Element, tuple[str, ...]]:
    """The parsed root of `data` after the repairs it needs, and what was repaired.

    Text (already decoded) is read whatever encoding its declaration names.  DefinitionError
    naming the file and the line for what no repair makes XML."""
    root, _, warnings = _read(data, file)
    return root, warnings


def repaired(data: bytes | str, file: str | None = None) -> tuple[bytes, tuple[str, ...]]:
    """`data` as bytes a strict XML parser reads (the same object when nothing needed
    repair), and what was repaired, one sentence each.

    DefinitionError naming the file and the line for what no repair makes XML."""
    _, fixed, warnings = _read(data, file)
    # Nothing repaired: the caller's own object, so that it can tell by `is`.
    return (data if isinstance(data, bytes) and fixed == data else fixed), warnings


def _read(xml: bytes | str, file: str | None) -> tuple[etree._Element, bytes, tuple[str, ...]]:
    warnings: list[str] = []
    # Text is decoded already: its declaration no longer describes its bytes.  Surrogates
    # (text decoded with surrogateescape) become their bytes again, for _encoding.
    data = _declare_utf8(xml.encode("utf-8", "surrogateescape")) if isinstance(xml, str) else xml
    data = _encoding(data, warnings)
    data = _declaration_first(data, warnings)
    data = _namespaces(data, warnings)
    for _ in range(ROUNDS):
        parser = _parser()
        try:
            return etree.fromstring(data, parser), data, tuple(warnings)
        except etree.XMLSyntaxError as error:
            fixed = _after_parse(data, parser.error_log, warnings, file)
            if fixed is None:
                raise DefinitionError(
                    f"not well-formed XML: {error.msg}", file=file, line=error.lineno
                ) from error
            data = fixed
    # Only a file that keeps needing new repairs gets here; the last parse says why.
    parser = _parser()
    try:
        return etree.fromstring(data, parser), data, tuple(warnings)
    except etree.XMLSyntaxError as error:
        raise DefinitionError(
            f"not well-formed XML: {error.msg}", file=file, line=error.lineno
        ) from error


# --- encodings ------------------------------------------------------------------------------


def _declared(data: bytes) -> bytes | None:
    """The encoding name the XML declaration gives (as written), or None."""
    found = _DECLARATION.match(data)
    if found is None:
        return None
    encoding = _ENCODING.search(found.group(2))
    return encoding.group(3) if encoding is not None else None


def _declare_utf8(data: bytes) -> bytes:
    """`data` (now UTF-8) with its declaration saying so; the line stays where it was."""
    found = _DECLARATION.match(data)
    if found is None or _ENCODING.search(found.group(2)) is None:
        return data
    declaration = _ENCODING.sub(rb"\g<1>\g<2>UTF-8\g<2>", found.group(2), count=1)
    return data[: found.start(2)] + declaration + data[found.end(2) :]


def _encoding(data: bytes, warnings: list[str]) -> bytes:
    if data.startswith(_BOMS):
        return data  # UTF-16 or UTF-32 with its mark: libxml2 reads it
    mark = codecs.BOM_UTF8 if data.startswith(codecs.BOM_UTF8) else b""
    body = data[len(mark) :]
    if b"\x00" in body[:200]:
        return data  # UTF-16 or UTF-32 without a mark: libxml2 tells them by "<" and NULs
    raw = _declared(body)
    name = raw.decode("ascii", "replace").strip().lower() if raw is not None else None
    if name is None or name.replace("_", "-") in _UTF8_NAMES:
        return mark + _not_utf8(body, warnings)
    if name in _SINGLE_BYTE and _is_utf8_text(body):
        warnings.append(say("repair.encoding_utf8", declared=_shown(raw)))
        return mark + _declare_utf8(body)
    return data  # a genuine other encoding, or one only libxml2 can judge (see _after_parse)


def _is_utf8_text(body: bytes) -> bool:
    """Whether bytes that are not ASCII are all well-formed UTF-8: Latin-1 text almost never
    is (an accented letter is one byte between ASCII ones)."""
    if body.isascii():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _not_utf8(body: bytes, warnings: list[str]) -> bytes:
    """UTF-8 as declared (or by default), or its lines that are not read in the encoding
    they were most likely written in: GB18030 when every such line reads as Chinese in it,
    else Windows-1252 (Latin-1 for its five undefined bytes)."""
    try:
        body.decode("utf-8")
        return body
    except UnicodeDecodeError:
        pass
    lines = body.split(b"\n")
    bad = [n for n, line in enumerate(lines) if not _utf8(line)]
    chinese = all(_reads_as_chinese(lines[n]) for n in bad)
    decode: Callable[[bytes], str] = _gb18030 if chinese else _western
    for n in bad:
        lines[n] = decode(lines[n]).encode("utf-8")
    encoding = "GB18030" if chinese else "Windows-1252"
    if len(bad) == 1:
        warnings.append(say("repair.encoding_line", line=bad[0] + 1, encoding=encoding))
    else:
        first = ", ".join(str(n + 1) for n in bad[:FIRST_LINES])
        more = ", …" if len(bad) > FIRST_LINES else ""
        warnings.append(
            say("repair.encoding_lines", count=len(bad), lines=first + more, encoding=encoding)
        )
    return _declare_utf8(b"\n".join(lines))


def _utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _reads_as_chinese(line: bytes) -> bool:
    """Whether a line's non-ASCII bytes are GB18030 Chinese: runs of byte pairs that read as
    CJK characters.  A Latin-1 accent is one high byte between ASCII letters, an odd run,
    even where GB18030 would take it and the next letter as one character."""
    runs = _HIGH.findall(line)
    if not runs or any(len(run) % 2 for run in runs):
        return False
    try:
        text = "".join(run.decode("gb18030") for run in runs)
    except UnicodeDecodeError:
        return False
    return all(_CJK.fullmatch(c) for c in text)


def _gb18030(line: bytes) -> str:
    return line.decode("gb18030")


def _western(line: bytes) -> str:
    # cp1252 leaves 0x81, 0x8D, 0x8F, 0x90 and 0x9D undefined; Latin-1 reads every byte.
    return "".join(_western_char(line[i : i + 1]) for i in range(len(line)))


def _western_char(byte: bytes) -> str:
    try:
        return byte.decode("cp1252")
    except UnicodeDecodeError:
        return byte.decode("latin-1")


def _shown(raw: bytes | None) -> str:
    return (raw or b"").decode("ascii", "replace").strip()


# --- the declaration ------------------------------------------------------------------------


def _declaration_first(data: bytes, warnings: list[str]) -> bytes:
    """Blanks before `<?xml ...?>` moved after it: the declaration must come first, and
    moving (not dropping) the blanks keeps every line where it was."""
    mark = codecs.BOM_UTF8 if data.startswith(codecs.BOM_UTF8) else b""
    found = _DECLARATION.match(data, len(mark))
    if found is None or not found.group(1):
        return data
    line = found.group(1).count(b"\n") + 1
    warnings.append(say("repair.declaration", line=line))
    return mark + found.group(2) + found.group(1) + data[found.end() :]


# --- namespaces -----------------------------------------------------------------------------


def _near(uri: str) -> str:
    return uri.strip().rstrip("/").lower()


_STANDARD_BY_NEAR = {_near(uri): uri for uri in STANDARD}


def _as_uri(value: str) -> str:
    """`value` as a URI libxml2 accepts: every character outside RFC 3986 percent-encoded."""
    out, i = [], 0
    while i < len(value):
        found = _URI_CHAR.match(value, i)
        if found is not None:
            out.append(found.group())
            i = found.end()
        else:
            out.append("".join(f"%{b:02X}" for b in value[i].encode("utf-8")))
            i += 1
    return "".join(out)


def _unescaped(raw: bytes) -> str:
    for entity, char in _ENTITIES.items():
        raw = raw.replace(entity, char.encode())
    return raw.decode("utf-8", "replace")


def _namespaces(data: bytes, warnings: list[str]) -> bytes:
    """Every xmlns declaration whose URI a strict parser refuses, or that misspells one of
    the standard's, rewritten (only inside the attribute's quotes)."""
    if data.startswith(_BOMS) or b"xmlns" not in data:
        return data
    said: set[tuple[str, str]] = set()

    def fix(found: re.Match[bytes]) -> bytes:
        prefix = (found.group(2) or b"").decode("ascii", "replace")
        written = _unescaped(found.group(4))
        standard = _STANDARD_BY_NEAR.get(_near(written))
        if standard is not None:
            uri, key = standard, "repair.namespace_standard"
        elif not written.strip():
            if not prefix:
                return found.group()  # xmlns="" is allowed: no default namespace here
            uri, key = PLACEHOLDER + prefix, "repair.namespace_empty"
        else:
            uri, key = _as_uri(written.strip()), "repair.namespace_uri"
        if uri == written:
            return found.group()
        if (written, prefix) not in said:
            said.add((written, prefix))
            attribute = f"xmlns:{prefix}" if prefix else "xmlns"
            warnings.append(say(key, attribute=attribute, uri=written, fixed=uri))
        quote = found.group(3)
        return found.group(1) + quote + uri.encode("ascii") + quote

    return _XMLNS.sub(fix, data)


def _after_parse(
    data: bytes, log: etree._ListErrorLog, warnings: list[str], file: str | None
) -> bytes | None:
    """`data` repaired for what the parse that wrote `log` refused, or None when nothing
    here can repair it."""
    undefined: list[str] = []
    for entry in log:
        if entry.type == etree.ErrorTypes.NS_ERR_UNDEFINED_NAMESPACE:
            found = _UNDEFINED.search(entry.message)
            if found is not None and found.group(1) not in undefined:
                undefined.append(found.group(1))
        elif entry.type in (
            etree.ErrorTypes.ERR_UNSUPPORTED_ENCODING,
            etree.ErrorTypes.ERR_UNKNOWN_ENCODING,
        ):
            return _unknown_encoding(data, entry.line, warnings, file)
    # A prefix declared in an earlier round and refused again cannot be repaired here.
    new = [p for p in undefined if _prefix_warning(p) not in warnings]
    if new:
        return _declare_prefixes(data, new, warnings)
    return None


def _unknown_encoding(
    data: bytes, line: int, warnings: list[str], file: str | None
) -> bytes | None:
    """An encoding libxml2 does not know: Python's codec when it knows the name, else
    UTF-8 when the text is UTF-8; otherwise the parse error stands."""
    mark = codecs.BOM_UTF8 if data.startswith(codecs.BOM_UTF8) else b""
    body = data[len(mark) :]
    raw = _declared(body)
    name = _shown(raw)
    try:
        text = body.decode(codecs.lookup(name).name)
    except (LookupError, UnicodeDecodeError):
        if not _utf8(body):
            raise DefinitionError(
                f'the file declares the encoding "{name}", which is unknown, and is not UTF-8',
                file=file,
                line=line,
            ) from None
        warnings.append(say("repair.encoding_unknown", declared=name))
        return _declare_utf8(body)
    return _declare_utf8(text.encode("utf-8"))


def _root_tag_end(data: bytes) -> int | None:
    """Where the root element's name ends in its start tag, past the declaration, comments,
    processing instructions and the DOCTYPE before it."""
    at = 0
    while True:
        at = data.find(b"<", at)
        if at < 0:
            return None
        if data.startswith(b"<!--", at):
            at = data.find(b"-->", at)
        elif data.startswith(b"<?", at):
            at = data.find(b"?>", at)
        elif data.startswith(b"<!", at):  # DOCTYPE, with an internal subset or not
            subset, close = data.find(b"[", at), data.find(b">", at)
            at = data.find(b"]>", subset) if 0 <= subset < close else close
        else:
            found = _ROOT_NAME.match(data, at)
            return found.end() if found is not None else None
        if at < 0:
            return None


def _declare_prefixes(data: bytes, prefixes: list[str], warnings: list[str]) -> bytes | None:
    """Declarations for `prefixes` added to the root element's start tag (on its line)."""
    end = _root_tag_end(data)
    if end is None:
        return None
    declarations = b""
    for prefix in prefixes:
        warnings.append(_prefix_warning(prefix))
        declarations += f' xmlns:{prefix}="{_prefix_uri(prefix)}"'.encode()
    return data[:end] + declarations + data[end:]


def _prefix_uri(prefix: str) -> str:
    return USUAL_PREFIXES.get(prefix.lower(), PLACEHOLDER + prefix)


def _prefix_warning(prefix: str) -> str:
    return say("repair.prefix", prefix=prefix, fixed=_prefix_uri(prefix))
