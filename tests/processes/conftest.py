"""Every engine test runs with the workflow cache off: each step restores the deal's workflow
from the database, so each test also shows that what it checks survives a save and a reload
(style.md, habit 4).  Tests of the cache itself are marked `workflow_cache` and keep it on;
the web and CLI tests run with it on, as the server does."""

from __future__ import annotations

import pytest

from engine.usecases import unit


@pytest.fixture(autouse=True)
def _workflows_reloaded(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("workflow_cache") is None:
        monkeypatch.setattr(unit, "WORKFLOW_CACHE_SIZE", 0)
