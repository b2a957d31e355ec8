"""What-if simulation benchmark (issue 17): how long the simulation of a year of a few thousand
deals takes on the shipped sales pipeline, the current version and a draft, as the page, the
API and `salesflow simulate` run them.

No database: the figures a team's history would give are made up here (stays of a few days
per human task, branch frequencies like the demo's, people per role like a small team), so
the run measures the simulation itself (engine.core.simulation), not the fit.  The fit reads
the history once per run; bench/reports.py measures reading history at scale.

Target (issue 17): 3,000 deals over 52 weeks, current and draft, within seconds.

    .venv/bin/python bench/simulation.py [--deals 3000] [--weeks 52] [--runs 3] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

# bench/engine.py is named like the package measured: keep this folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.core import simulation as sim  # noqa: E402
from engine.core.graph import graph_from_xml  # noqa: E402

PIPELINE = Path(__file__).resolve().parents[1] / "processes" / "sales_pipeline.bpmn"
HUMAN_TASKS = {  # element -> median days a stay took (made up, like the demo's)
    "task_qualify_lead": 5,
    "task_nurture_follow_up": 4,
    "task_initial_contact": 6,
    "task_needs_analysis": 7,
    "task_escalate_needs_idle": 1,
    "task_design_proposal": 6,
    "task_prepare_quote": 6,
    "task_approve_discount": 3,
    "task_negotiate": 6,
    "task_legal_review": 5,
    "task_confirm_down_payment": 8,
    "task_satisfaction_revisit": 5,
    "task_revisit_overdue": 1,
}
BRANCHES = {  # flow id -> times taken
    "flow_qualified_tier_a_b": 85, "flow_qualified_tier_c": 15,
    "flow_rounds_exhausted": 20, "flow_rounds_left_to_wait": 80,
    "flow_discount_above_5": 20, "flow_discount_within_5": 80,
    "flow_discount_sent_back": 5, "flow_discount_approved": 95,
    "flow_outcome_lost": 30, "flow_outcome_won": 70,
}  # fmt: skip


def fitted(deals_a_year: int, rng: random.Random) -> sim.Fitted:
    """Figures like a team's history would give: 200 stays per task around its median."""
    durations = {
        element: tuple(rng.uniform(0.5, 1.5) * days for _ in range(200))
        for element, days in HUMAN_TASKS.items()
    }
    durations["timer_wait_30_days"] = (30.0,)
    # Enough people for the load: a rep per 300 deals a year, the others a few each.
    reps = max(2, deals_a_year // 300)
    people = {"sales rep": reps, "sales manager": 2, "product expert": max(1, reps // 3),
              "legal": 2, "finance": 2, "after sales": 2, "marketing": 1}  # fmt: skip
    return sim.Fitted(
        arrivals_per_week=deals_a_year / 52,
        durations=durations,
        branches=BRANCHES,
        boundaries={"timer_needs_idle": (0.4, 3.0), "timer_revisit_due": (0.3, 7.0)},
        slots=dict.fromkeys(people, 12),
        people=people,
        won=frozenset({"task_record_win"}),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=3000, help="deals a year (3000)")
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    graph = graph_from_xml(PIPELINE.read_text(encoding="utf-8"), file=PIPELINE.name)
    figures = fitted(args.deals, random.Random(args.seed))
    # The draft: the needs analysis in half the time (what an initiative would propose).
    draft = sim.Fitted(**{**figures.__dict__, "changes": {"task_needs_analysis": 0.5}})
    took: list[float] = []
    for run in range(args.runs):
        begun = time.perf_counter()
        results = []
        for side in (figures, draft):
            outcome = sim.simulate(
                graph, "sales_pipeline", side, days=args.weeks * 7, warmup_days=60,
                seed=args.seed + run,
            )  # fmt: skip
            results.append(sim.summarise(outcome))
        took.append(time.perf_counter() - begun)
        current, changed = results
        print(
            f"run {run + 1}: {took[-1]:.2f} s for current + draft; {current['deals']:,} deals "
            f"a side, won {current['won']:,} / {changed['won']:,}, cycle p50 "
            f"{current['cycle_days']['p50']} -> {changed['cycle_days']['p50']} days"
        )
    print(
        f"median of {args.runs}: {statistics.median(took):.2f} s for {args.deals:,} deals a "
        f"year over {args.weeks} weeks, current and draft"
    )


if __name__ == "__main__":
    main()
