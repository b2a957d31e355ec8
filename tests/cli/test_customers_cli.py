"""`salesflow customers`, `salesflow customer ID`, `salesflow add-customer` and
`salesflow start --customer`: customers from the command line, with the pages' rules."""

from __future__ import annotations

import json

import pytest

from engine.usecases.service import Service
from tests.conftest import LEAD

from .test_activities_cli import pipeline, run  # noqa: F401  (a fixture, a helper)
from .test_cli import env  # noqa: F401  (a fixture)


def test_add_list_show_and_start_a_deal_for_a_customer(
    env: dict[str, str],  # noqa: F811
    pipeline: Service,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, made, err = run(
        capsys, "add-customer", "ACME Ltd.", "--tier", "A", "--user", "alice", "--industry", "Steel"
    )
    assert code == 0, err
    assert (made["name"], made["tier"], made["owner"], made["deals"]) == (
        "ACME Ltd.",
        "A",
        "alice",
        0,
    )
    # The same company again: a conflict (6) naming it; a similar one: invalid data (7).
    code, _, err = run(capsys, "add-customer", "acme", "--user", "bob")
    assert code == 6 and "ACME Ltd." in err
    code, _, err = run(capsys, "add-customer", "Acme Trading", "--user", "alice")
    assert code == 7 and json.loads(err)["field"] == "name"
    assert run(capsys, "add-customer", "Acme Trading", "--user", "alice", "--confirm")[0] == 0
    # Someone without an owner role may not add one (5).
    assert run(capsys, "add-customer", "Initech", "--user", "lena")[0] == 5

    lead = {k: v for k, v in LEAD.items() if k != "company"}
    code, started, err = run(
        capsys, "start", "sales_pipeline", "--owner", "alice", "--data", json.dumps(lead),
        "--customer", str(made["id"]),
    )  # fmt: skip
    assert code == 0, err
    code, shown, _ = run(capsys, "show", started["instance_id"])
    assert (shown["customer_id"], shown["customer"]) == (made["id"], "ACME Ltd.")

    code, listed, _ = run(capsys, "customers")
    assert [(c["name"], c["deals"]) for c in listed] == [("ACME Ltd.", 1), ("Acme Trading", 0)]
    assert run(capsys, "customers", "--user", "bob")[1] == []  # alice's, not his
    code, one, _ = run(capsys, "customer", str(made["id"]))
    assert one["deal_ids"] == [started["instance_id"]]
    # As bob sees it: not found (4), like a missing one.
    assert run(capsys, "customer", str(made["id"]), "--user", "bob")[0] == 4
    assert run(capsys, "customer", "999999")[0] == 4

    code, table, _ = run(capsys, "customers", as_json=False)
    assert code == 0 and "ACME Ltd." in table and "won_value" in table
    code, page, _ = run(capsys, "customer", str(made["id"]), as_json=False)
    assert code == 0 and page.startswith(f"ACME Ltd. (#{made['id']}), tier A, owner alice")
