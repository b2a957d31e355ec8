"""DOT text -> SVG/PNG/PDF, and the automatic layout: with resident.py the only modules that
run graphviz.

Rendering uses `neato -n2`: positions of nodes and edges are taken from the DOT as they are
(dot.py fixes all of them), so graphviz only draws.  The automatic layout runs `dot` once per
definition version (callers cache it, see diagrams.auto_layout) and reads positions back from
its JSON output.

SVG is drawn by a graphviz that loads only its core and layout plugins: no pango/cairo, whose
start-up is most of a render's time (~11 of ~19 ms for the sales pipeline).  The SVG does not
depend on it: dot.py places no text by graphviz's measure of it, and the browser draws the
text.  That graphviz is the installed one, given a plugin folder of its own (GVBINDIR): links
to the three plugin libraries and the configuration `neato -c` writes for them, made once per
process in a private temporary folder.  Whatever fails there, SVG falls back to the full
graphviz (logged at debug level).  That graphviz stays running between drawings (resident.py), so a
page does not wait for one to start.  PNG and PDF keep the full graphviz: cairo draws their text
with the real fonts (and embeds the CJK one in PDFs).
"""

from __future__ import annotations

import atexit
import glob
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
from threading import Lock

from diagrams.auto import auto_dot, layout_from_json
from diagrams.errors import RenderError
from diagrams.layout import Layout
from diagrams.resident import Resident
from engine.core.graph import Graph

FORMATS = ("svg", "png", "pdf", "dot")
PNG_DPI = 150  # 9 pt names come out ~19 px high: readable when the PNG is shown 1:1
TIMEOUT = 60  # seconds; a big process takes well under one
RESIDENT_TIMEOUT = 5  # seconds for the resident graphviz, then a one-shot one gets TIMEOUT
SETUP_TIMEOUT = 10  # seconds, for each graphviz run that sets up the plugin folder
PLUGINS = ("core", "neato_layout", "dot_layout")  # svg output; neato -n2 (dot's is optional)
REQUIRED = ("core", "neato_layout")
log = logging.getLogger(__name__)


class _Lean:
    """The plugin folder of a graphviz without pango, per process: the environment to run it
    with, or None when it cannot be had (then the full graphviz draws SVG too)."""

    def __init__(self) -> None:
        self.lock = Lock()
        self.pid = 0
        self.folder: str | None = None
        self.env: dict[str, str] | None = None
        self.failed = False

    def environment(self, executable: str) -> dict[str, str] | None:
        with self.lock:
            if self.pid != os.getpid():  # a forked process makes its own
                self.pid, self.folder, self.env, self.failed = os.getpid(), None, None, False
            if self.failed:
                return None
            if self.folder is not None and not os.path.isdir(self.folder):
                self.folder, self.env = None, None  # removed under us (a tmp cleaner): anew
            if self.env is None:
                try:
                    self.env = self._make(executable)
                except (OSError, ValueError, subprocess.SubprocessError) as exc:
                    log.debug("graphviz without pango unavailable, SVG uses the full one: %s", exc)
                    self.failed = True
                    self._remove()
            return self.env

    def give_up(self, reason: str) -> None:
        log.debug("graphviz without pango failed, SVG uses the full one from now on: %s", reason)
        with self.lock:
            self.failed, self.env = True, None
            self._remove()

    def _remove(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def _make(self, executable: str) -> dict[str, str]:
        source = plugin_folder(executable)
        self.folder = tempfile.mkdtemp(prefix="salesflow-graphviz-")
        atexit.register(_remove_at_exit, self.folder, os.getpid())
        found = set()
        for plugin in PLUGINS:
            for path in sorted(glob.glob(os.path.join(source, f"libgvplugin_{plugin}.*"))):
                os.symlink(path, os.path.join(self.folder, os.path.basename(path)))
                found.add(plugin)
        missing = [p for p in REQUIRED if p not in found]
        if missing:
            raise ValueError(f"no {', '.join(missing)} plugin in {source}")
        env = {**os.environ, "GVBINDIR": self.folder}
        subprocess.run(
            [executable, "-c"], env=env, capture_output=True, timeout=SETUP_TIMEOUT, check=True
        )
        # It must draw SVG, silently.
        probe = subprocess.run(
            [executable, "-n2", "-Tsvg"],
            input=b'digraph { a [pos="0,0!", label="a"] }',
            env=env,
            capture_output=True,
            timeout=SETUP_TIMEOUT,
            check=False,
        )
        if probe.returncode != 0 or b"<svg" not in probe.stdout or probe.stderr.strip():
            raise ValueError(f"the probe failed: {probe.stderr.decode('utf-8', 'replace')[:500]}")
        return env


_lean = _Lean()
_resident = Resident()


def _remove_at_exit(folder: str, pid: int) -> None:
    if os.getpid() == pid:  # not in a forked child that inherited the hook
        shutil.rmtree(folder, ignore_errors=True)


def lean_folder() -> str | None:
    """The plugin folder SVG is drawn with, made if need be (None: the full graphviz)."""
    executable = shutil.which("neato")
    env = _lean.environment(executable) if executable else None
    return env["GVBINDIR"] if env else None


def plugin_folder(executable: str) -> str:
    """Where the graphviz of `executable` keeps its plugins: GVBINDIR when set, else the
    folder next to it (<prefix>/lib/graphviz, lib64 or lib/<arch>), else what `-v` says."""
    if os.environ.get("GVBINDIR"):
        return os.environ["GVBINDIR"]
    prefix = os.path.dirname(os.path.dirname(os.path.realpath(executable)))
    candidates = {
        os.path.dirname(path)
        for pattern in ("lib/graphviz", "lib64/graphviz", "lib/*/graphviz")
        for path in glob.glob(os.path.join(prefix, pattern, "libgvplugin_core.*"))
    }
    if len(candidates) == 1:
        return candidates.pop()
    done = subprocess.run(
        [executable, "-v", "-Tsvg"],
        input=b"digraph {}",
        capture_output=True,
        timeout=SETUP_TIMEOUT,
        check=False,
    )
    match = re.search(r'libdir = "([^"]+)"', done.stderr.decode("utf-8", "replace"))
    if match is None:
        raise ValueError("graphviz did not say where its plugins are")
    return match.group(1)


def _executable(program: str) -> str:
    executable = shutil.which(program)
    if executable is None:
        raise RenderError(
            f"graphviz's `{program}` was not found on PATH: install graphviz "
            "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz)"
        )
    return executable


def _call(
    program: str, executable: str, args: list[str], dot_text: str, env: dict[str, str] | None
) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            [executable, *args],
            input=dot_text.encode("utf-8"),
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
            env=env,
        )
    except subprocess.TimeoutExpired as exc:
        raise RenderError(f"graphviz `{program}` took longer than {TIMEOUT} s") from exc
    except OSError as exc:
        raise RenderError(f"graphviz `{program}` could not be started: {exc}") from exc


def _run(program: str, args: list[str], dot_text: str, lean: bool = False) -> bytes:
    """Run graphviz's `program`; `lean`: without pango when it can be had."""
    executable = _executable(program)
    env = _lean.environment(executable) if lean else None
    done = _call(program, executable, args, dot_text, env)
    if env is not None and (done.returncode != 0 or not done.stdout):
        again = _call(program, executable, args, dot_text, None)
        if again.returncode == 0 and again.stdout:  # the DOT was fine: the lean graphviz is not
            _lean.give_up(done.stderr.decode("utf-8", "replace").strip()[:500])
        done = again
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
    if fmt == "svg":
        executable = _executable("neato")
        drawn = _resident.draw(
            executable, _lean.environment(executable), dot_text, RESIDENT_TIMEOUT
        )
        if drawn is not None:
            return drawn
    # A PDF without cairo's half-inch border: the page is the canvas (diagrams/pages.py).
    args = ["-n2", "-Gmargin=0", f"-T{fmt}"] if fmt == "pdf" else ["-n2", f"-T{fmt}"]
    if fmt == "png":
        args.append(f"-Gdpi={PNG_DPI}")
    return _run("neato", args, dot_text, lean=fmt == "svg")


def auto_layout(graph: Graph) -> Layout:
    """A left-to-right layout by `dot`, lanes as labelled clusters (for files without DI)."""
    data = _run("dot", ["-Tjson"], auto_dot(graph))
    try:
        parsed = json.loads(data)
    except ValueError as exc:
        raise RenderError(f"graphviz `dot -Tjson` wrote no JSON: {exc}") from exc
    return layout_from_json(graph, parsed)
