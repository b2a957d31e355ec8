"""The only module that runs graphviz: DOT text -> SVG/PNG/PDF, and the automatic layout.

Rendering uses `neato -n2`: positions of nodes and edges are taken from the DOT as they are
(dot.py fixes all of them), so graphviz only draws.  The automatic layout runs `dot` once per
definition version (callers cache it, see diagrams.auto_layout) and reads positions back from
its JSON output.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess

from diagrams.auto import auto_dot, layout_from_json
from diagrams.errors import RenderError
from diagrams.layout import Layout
from engine.graph import Graph

FORMATS = ("svg", "png", "pdf", "dot")
PNG_DPI = 150  # 9 pt names come out ~19 px high: readable when the PNG is shown 1:1
TIMEOUT = 60  # seconds; a big process takes well under one
log = logging.getLogger(__name__)


def _run(program: str, args: list[str], dot_text: str) -> bytes:
    executable = shutil.which(program)
    if executable is None:
        raise RenderError(
            f"graphviz's `{program}` was not found on PATH: install graphviz "
            "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz)"
        )
    try:
        done = subprocess.run(
            [executable, *args],
            input=dot_text.encode("utf-8"),
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise RenderError(f"graphviz `{program}` took longer than {TIMEOUT} s") from exc
    except OSError as exc:
        raise RenderError(f"graphviz `{program}` could not be started: {exc}") from exc
    stderr = done.stderr.decode("utf-8", "replace").strip()
    if done.returncode != 0 or not done.stdout:
        raise RenderError(f"graphviz `{program}` failed ({done.returncode}): {stderr[:2000]}")
    if stderr:
        log.warning("graphviz %s: %s", program, stderr[:2000])
    return done.stdout


def render(dot_text: str, fmt: str) -> bytes:
    """DOT text with fixed positions (from dot.py) as svg, png, pdf, or the DOT itself."""
    if fmt not in FORMATS:
        raise RenderError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if fmt == "dot":
        return dot_text.encode("utf-8")
    args = ["-n2", f"-T{fmt}"]
    if fmt == "png":
        args.append(f"-Gdpi={PNG_DPI}")
    return _run("neato", args, dot_text)


def auto_layout(graph: Graph) -> Layout:
    """A left-to-right layout by `dot`, lanes as labelled clusters (for files without DI)."""
    data = _run("dot", ["-Tjson"], auto_dot(graph))
    try:
        parsed = json.loads(data)
    except ValueError as exc:
        raise RenderError(f"graphviz `dot -Tjson` wrote no JSON: {exc}") from exc
    return layout_from_json(graph, parsed)
