"""Escaping, wrapping and the small formatting helpers."""

from __future__ import annotations

from diagrams.styles import duration, heat_bins, heat_colour, heat_note
from diagrams.text import clean, fits, html, lines, longest_word, number, quote, text_width
from engine.core.graph import Heat


def test_html_escapes_markup_and_the_backslash() -> None:
    assert html('<a href="x">&\\') == "&lt;a href=&quot;x&quot;&gt;&amp;&#92;"


def test_quote_round_trips_through_graphviz_escstring_rules() -> None:
    assert quote('say "hi"\\n\nnext') == '"say \\"hi\\"\\\\n\\nnext"'
    assert quote("ends in \\") == '"ends in \\\\"'


def test_clean_drops_what_xml_cannot_carry() -> None:
    assert clean("a\x00b\x1bc\r\nd\te\ud800") == "abc\nd e"


def test_lines_wrap_words_and_chinese() -> None:
    assert lines("Escalation: needs analysis idle", 70, 9) == [
        "Escalation:",
        "needs analysis",
        "idle",
    ]
    assert lines("客户满意度回访", 30, 9) == ["客户满", "意度回", "访"]
    assert lines("a\nb", 70, 9) == ["a", "b"]
    assert lines("one two three four five six seven", 40, 9, 2)[-1].endswith("…")
    assert lines("", 70, 9) == []


def test_words_are_never_broken_and_cut_short_whole() -> None:
    # A word wider than the line stands alone, cut with an ellipsis (never split in two).
    assert lines("Informationsverarbeitung", 52, 9) == ["Information…"]
    assert lines("a Informationsverarbeitung b", 52, 9) == ["a", "Information…", "b"]
    # The ellipsis of a last kept line drops whole words first.
    assert lines("one two three four five six seven", 40, 9, 2) == ["one two", "three…"]
    assert lines("客户满意度回访客户满意度回访", 30, 9, 2) == ["客户满", "意度…"]
    assert longest_word("Lead in 客户", 9) == text_width("Lead", 9)
    assert fits("Lead in", 40, 9, 1) and not fits("Informationsverarbeitung", 52, 9, 5)


def test_numbers_are_short_and_stable() -> None:
    assert [number(v) for v in (1.0, 1.234, -0.001, 12.5)] == ["1", "1.23", "0", "12.5"]


def test_durations_in_human_units() -> None:
    assert [duration(s) for s in (12, 720, 3.5 * 3600, 2.5 * 86400, 40 * 86400)] == [
        "12 s",
        "12 min",
        "3.5 h",
        "2.5 d",
        "40 d",
    ]


def test_heat_bins_cover_one_to_the_top_and_end_darkest() -> None:
    assert heat_bins(0) == []
    assert heat_bins(3) == [(1, 1), (2, 2), (3, 3)]
    bins = heat_bins(1000)
    assert bins[0][0] == 1 and bins[-1][1] == 1000 and len(bins) == 5
    assert heat_colour(1000, bins) == ("#b30000", 5)
    assert heat_colour(3, heat_bins(3))[0] == "#b30000"
    assert heat_colour(0, bins) == ("white", 0)


def test_heat_note() -> None:
    heat = Heat(deals=5, here_now={"a": 1, "b": 3}, median_seconds={"b": 2.5 * 86400, "c": 60})
    assert heat_note("a", heat) == "1 deal"
    assert heat_note("b", heat) == "3 deals · 2.5 d"
    assert heat_note("c", heat) == "0 deals · 1.0 min"
    assert heat_note("d", heat) is None
