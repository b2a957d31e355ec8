"""Deals for the benchmarks: the sales pipeline driven through the engine, not inserted."""

from __future__ import annotations

import sys

from engine.usecases.demo import FORMS
from engine.usecases.service import Service

LEAD = {
    "company": "Bench",
    "contact": "Li Wei",
    "source_channel": "referral",
    "annual_revenue": 8_000_000,
    "intent": "high",
}
STEPS = ["task_qualify_lead", "task_initial_contact", "task_needs_analysis"]


def populate(service: Service, deals: int, owner: str = "alice") -> None:
    """Deals spread over the first stages, each driven through the engine by `owner`."""
    for n in range(deals):
        iid = service.start("sales_pipeline", owner=owner, data=LEAD)["instance_id"]
        for element_id in STEPS[: n % (len(STEPS) + 1)]:
            task = service.tasks(instance=iid)[0]
            service.complete(task["task_id"], user=owner, data=FORMS[element_id])
        if (n + 1) % 1000 == 0:
            print(f"  ... {n + 1} deals", file=sys.stderr)
