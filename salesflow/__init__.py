"""The `salesflow` command: the composition root for the command line.

Like webui/ for HTTP, it calls engine/'s use cases and diagrams/'s renderers; nothing imports
it.  (engine/ may not import diagrams/, so the CLI cannot live in engine/.)
"""

__all__: list[str] = []
