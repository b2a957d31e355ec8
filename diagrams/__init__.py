"""Flowchart rendering and exports (graphviz); built in the flowcharts issue."""

__all__: list[str] = []
