"""Names as DOT text: cleaning, escaping, measuring and wrapping.

BPMN names come from designers and other tools: Chinese, `<`, `&`, quotes, backslashes,
newlines.  Two escapings exist because DOT has two kinds of string:
- HTML-like labels (`label=<...>`): XML entities; graphviz still folds `\\\\` there, so a
  backslash becomes the entity `&#92;`;
- quoted strings (ids, tooltips, plain labels) are "escString"s: `\\"` is a quote and
  graphviz expands `\\N`, `\\n`, `\\l`..., so a backslash is doubled and a newline is `\\n`.
Graphviz escapes what it writes into SVG itself; what we must never do is let a name end a
string or a label early.  Graphviz cannot measure text for us before it runs, so widths are
estimated (CJK is one em, Latin about half) to wrap names into the shapes.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# C0 controls (but tab and newline), DEL and lone surrogates: invalid in XML or in UTF-8.
_UNWANTED = re.compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")
_NARROW = frozenset(" .,:;'!|il1ftjrI()[]{}\"`-")
_WIDE_LATIN = frozenset("mwMW@%#&")
ELLIPSIS = "…"


def clean(text: str) -> str:
    """Unify line ends, turn tabs into spaces and drop characters no output can carry."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return _UNWANTED.sub("", text)


def html(text: str) -> str:
    """One line of text for an HTML-like label (newlines are the caller's: see `lines`)."""
    return (
        clean(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("\\", "&#92;")
        .replace("\n", " ")
    )


# What `quote` has to change: controls (newlines, CRs and tabs too), quotes, backslashes.
_QUOTED = re.compile('[\x00-\x1f\x7f"\\\\\ud800-\udfff]')


def quote(text: str) -> str:
    """A DOT quoted string whose escString expansion gives back exactly `text`."""
    if not _QUOTED.search(text):  # most names and every number: nothing to change
        return f'"{text}"'
    body = clean(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{body}"'


def is_wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


@functools.lru_cache(maxsize=4096)
def char_width(char: str) -> float:
    """Estimated advance of one character, in ems."""
    if is_wide(char):
        return 1.0
    if char in _NARROW:
        return 0.32
    if char in _WIDE_LATIN or char.isupper():
        return 0.68
    return 0.55


def text_width(text: str, size: float) -> float:
    """Estimated width of one line in points at font size `size`."""
    return sum(char_width(c) for c in text) * size


def _tokens(paragraph: str) -> list[tuple[str, bool]]:
    """Words and single CJK characters, each with whether a space preceded it.  A Latin word
    is never broken, not even after a hyphen ("follow-up" is one word to a reader)."""
    tokens: list[tuple[str, bool]] = []
    word, space = "", False
    for char in paragraph:
        if char == " ":
            if word:
                tokens.append((word, space))
                word = ""
            space = True
        elif is_wide(char):
            if word:
                tokens.append((word, space))
                word, space = "", False
            tokens.append((char, space))
            space = False
        else:
            word += char
    if word:
        tokens.append((word, space))
    return tokens


def longest_word(text: str, size: float) -> float:
    """The width of the widest unbreakable piece of `text` (a Latin word, a CJK character):
    a line narrower than this would have to cut it."""
    return max((text_width(w, size) for w, _ in _tokens(clean(text).replace("\n", " "))), default=0)


def fits(text: str, width: float, size: float, max_lines: int) -> bool:
    """Whether `text` wraps into `width` in at most `max_lines` lines with no word cut."""
    return longest_word(text, size) <= width and len(lines(text, width, size)) <= max_lines


def lines(text: str, width: float, size: float, max_lines: int = 0) -> list[str]:
    """`text` wrapped into lines of at most `width` points: CJK broken between characters,
    Latin words never broken (a word wider than the line stands alone, cut with an ellipsis);
    with `max_lines`, the last kept line ends in an ellipsis.
    """
    return list(_lines(text, width, size, max_lines))


# The same names are wrapped for every deal drawn on a definition: remember the answers.
@functools.lru_cache(maxsize=8192)
def _lines(text: str, width: float, size: float, max_lines: int) -> tuple[str, ...]:
    out: list[str] = []
    for paragraph in clean(text).split("\n"):
        current = ""
        for word, space in _tokens(paragraph):
            joined = f"{current} {word}" if current and space else current + word
            if current and text_width(joined, size) > width:
                out.append(current)
                current = word
            else:
                current = joined
        out.append(current)
    while out and not out[-1]:
        out.pop()
    if max_lines and len(out) > max_lines:
        out = [*out[: max_lines - 1], out[max_lines - 1] + ELLIPSIS]
    return tuple(_fit(line, width, size) for line in out)


def _fit(line: str, width: float, size: float) -> str:
    """`line` shortened to `width`, ending in an ellipsis when something was cut: whole
    Latin words are dropped first ("three…", not "three fo…"); a line of one word (or of
    CJK text) loses characters."""
    if text_width(line, size) <= width:
        return line
    cut = line.removesuffix(ELLIPSIS).rstrip()
    while " " in cut and text_width(cut + ELLIPSIS, size) > width:
        cut = cut.rsplit(" ", 1)[0].rstrip()
    while cut and text_width(cut + ELLIPSIS, size) > width:
        cut = cut[:-1]
    return cut.rstrip() + ELLIPSIS


def number(value: float) -> str:
    """A coordinate for DOT: at most two decimals, no trailing zeros, never "-0"."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
