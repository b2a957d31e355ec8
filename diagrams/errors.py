"""The one error root of diagrams/ (it raises nothing from engine/)."""

from __future__ import annotations


class DiagramError(Exception):
    """Root of every error diagrams/ raises on purpose."""


class RenderError(DiagramError):
    """Graphviz is missing, failed, or was asked for a format it cannot write."""
