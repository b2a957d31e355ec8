"""A deal's chart speaks the reader's language beyond its element names (issue 14): the
title line's words, the deal's status and stage, the queue of an open task."""

from __future__ import annotations

from diagrams.dot import _instance_title
from engine.usecases.service import Service
from tests.conftest import LEAD, PROCESSES


def test_a_chinese_readers_chart_title(team: Service) -> None:
    team.deploy([PROCESSES])
    iid = team.start("sales_pipeline", owner="alice", data=LEAD)["instance_id"]
    _graph, english, _key = team.instance_chart(iid)
    _graph, chinese, _key = team.instance_chart(iid, lang="zh")
    assert english.words == {} and english.status == "running"
    assert chinese.status == "进行中" and chinese.stage != english.stage  # the stage's label
    title = _instance_title(chinese)[1][0]
    assert title.startswith("负责人: alice") and "状态: 进行中" in title and "阶段: " in title
    assert _instance_title(english)[1][0].startswith("owner: alice")
    # The open task's holder is named without English words around it.
    assert chinese.assignees and all("queue" not in who for who in chinese.assignees.values())
