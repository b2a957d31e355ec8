"""Where the team allows it, a rep opens a colleague's deal read only (issue 14, "Deal basics
the peers all have"); off by default.  The rule is the engine's (engine.usecases.access)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from engine.errors import ForbiddenError
from engine.usecases.service import Service

from .conftest import deal_at_needs_analysis, login, post, text


def test_off_by_default_a_colleagues_deal_is_not_found(client: FlaskClient, staff: Service) -> None:
    deal = deal_at_needs_analysis(staff, "alice", "Alice's Co")
    login(client, "bob")
    assert client.get(f"/deals/{deal}").status_code == 404
    assert "Alice's Co" not in text(client.get("/deals"))


def test_shared_a_rep_reads_a_colleagues_deal_but_does_not_act(
    client: FlaskClient, staff: Service
) -> None:
    deal = deal_at_needs_analysis(staff, "alice", "Alice's Co")
    admin = client.application.test_client()
    login(admin, "root")
    assert "Reps may open their colleagues" in text(admin.get("/settings"))
    staff.save_team_settings({"reps_see_team_deals": True}, user="root")
    login(client, "bob")
    shown = client.get(f"/deals/{deal}")
    assert shown.status_code == 200 and "Alice&#39;s Co" in text(shown)
    assert "Alice&#39;s Co" in text(client.get("/deals"))
    # Reading is all: no comment, no task of hers, no marking it lost.
    with pytest.raises(ForbiddenError):
        staff.comment(deal, user="bob", text="Looks good")
    assert post(client, f"/deals/{deal}/comments", {"text": "hi"}).status_code == 403
    needs = [t for t in staff.tasks(instance=deal) if t["element_id"] == "task_needs_analysis"]
    assert needs and needs[0]["assignee"] == "alice"
    # Someone who does not sell (Finance) still sees only their own.
    finance = client.application.test_client()
    login(finance, "fay")
    assert finance.get(f"/deals/{deal}").status_code == 404
