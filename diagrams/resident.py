"""One graphviz kept running per process to draw SVG, so a page does not wait for one to start.

Starting `neato` and loading its plugins is most of the time of a one-shot SVG render (~12 ms
of a deal chart; drawing itself takes under 1 ms).  graphviz reads graph after graph from its
standard input and writes each one's SVG as soon as the graph's closing brace arrives, so one
process can draw every chart: we write the DOT, read up to the `</svg>` that ends the
document (text in the chart is escaped, so only the end has that), and keep the process.

Anything unexpected — the process died, said something on stderr without finishing the SVG,
took too long — ends that process; the caller then draws with a one-shot graphviz, which
reports the error properly (render.py).  After a few such failures the process stops trying
(`RETRIES`).  What graphviz writes differs from a one-shot run only in a prefix of its own
ids, which is dropped (`PAGE_PREFIX`).  A process is replaced after `RENEW_AFTER` drawings
to bound what graphviz might leak, and a forked worker (gunicorn) starts its own.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import select
import subprocess
import time
from threading import Lock

END = b"</svg>\n"
# After its first graph, graphviz prefixes the ids it makes with a page ("page0,1_graph0"):
# state of the previous drawing it does not reset.  A chart is one page; drop the prefix.
PAGE_PREFIX = re.compile(rb' id="page\d+,\d+_')
RENEW_AFTER = 2_000  # drawings per graphviz process
RETRIES = 3  # failures before SVG always uses a one-shot graphviz in this process
GRACE = 0.5  # seconds to finish the SVG once graphviz has written to stderr
log = logging.getLogger(__name__)


class Resident:
    """A `neato -n2 -Tsvg` that stays up between drawings; `draw` returns None when it cannot
    (then draw with a one-shot graphviz)."""

    def __init__(self) -> None:
        self.lock = Lock()
        self.pid = os.getpid()
        self.process: subprocess.Popen[bytes] | None = None
        self.started: tuple[str, str | None] | None = None  # executable and plugin folder
        self.drawn = 0
        self.failures = 0
        atexit.register(self._stop)

    def draw(
        self, executable: str, env: dict[str, str] | None, dot_text: str, timeout: float
    ) -> bytes | None:
        with self.lock:
            if self.pid != os.getpid():  # forked: the parent's process is not ours to use
                self.pid, self.process, self.drawn, self.failures = os.getpid(), None, 0, 0
            if self.failures >= RETRIES:
                return None
            wanted = (executable, (env or {}).get("GVBINDIR"))
            if self.process is not None and (self.drawn >= RENEW_AFTER or self.started != wanted):
                self._stop()  # worn, or the graphviz to use changed (render.py gave up lean)
            try:
                if self.process is None:
                    self.process = subprocess.Popen(
                        [executable, "-n2", "-Tsvg"],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE,
                        env=env,
                    )
                    self.started, self.drawn = wanted, 0
                svg, said = self._exchange(self.process, dot_text, timeout)
            except (OSError, ValueError, TimeoutError) as exc:
                self.failures += 1
                log.debug("resident graphviz failed, drawing with a one-shot one: %s", exc)
                self._stop()
                return None
            self.drawn += 1
            if said:
                log.warning("graphviz neato: %s", said[:2000])
            return svg

    @staticmethod
    def _exchange(
        process: subprocess.Popen[bytes], dot_text: str, timeout: float
    ) -> tuple[bytes, str]:
        assert process.stdin is not None and process.stdout is not None
        assert process.stderr is not None
        data = dot_text.encode("utf-8")
        pending = memoryview(data if data.endswith(b"\n") else data + b"\n")
        source, output, errors = (
            process.stdin.fileno(),
            process.stdout.fileno(),
            process.stderr.fileno(),
        )
        os.set_blocking(source, False)  # a graphviz that stops reading must not hang us
        out, err = bytearray(), bytearray()
        deadline = time.monotonic() + timeout
        while not out.endswith(END):
            left = deadline - time.monotonic()
            if left <= 0:
                said = err.decode("utf-8", "replace").strip()
                raise TimeoutError(f"no complete SVG in time; graphviz said: {said[:500]}")
            readable, writable, _ = select.select(
                [output, errors], [source] if pending else [], [], min(left, GRACE) if err else left
            )
            if not readable and not writable and err:
                said = err.decode("utf-8", "replace").strip()
                raise ValueError(f"graphviz said {said[:500]!r} and wrote no complete SVG")
            if writable:
                pending = pending[os.write(source, pending) :]
            for fd in readable:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise ValueError("graphviz closed its output")
                (out if fd == output else err).extend(chunk)
        # Warnings come before the output (graphviz writes them while reading the graph).
        readable, _, _ = select.select([errors], [], [], 0)
        if readable:
            err.extend(os.read(errors, 1 << 16))
        return PAGE_PREFIX.sub(b' id="', bytes(out)), err.decode("utf-8", "replace").strip()

    def _stop(self) -> None:
        process, self.process = self.process, None
        if process is None or self.pid != os.getpid():
            return
        try:
            process.kill()
            process.wait(timeout=5)
        except (OSError, subprocess.SubprocessError):
            pass
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                stream.close()
