"""Reports on the sales process, "decide by data" (domain.md): funnel, lead channels, cycle
and time in stage, reps, stale deals and SLA breaches, the customer figures.

Stages come from the deployed versions: a stage is the `stage` property of BPMN elements.  A
deal *enters* a stage when one of the stage's entry elements becomes ready: an element reached
from the start or from an element of an earlier stage (found on the version's graph).  Going
back (a lead sent to nurturing) enters nothing; a nurtured lead qualifying again enters
qualification again.  Its time is `History.entered_at` (when the element became ready), or
`History.at` for elements that ran at once, or the open task's `created_at` while it is open.

What the history says about entries, stays, task actions and wins is kept per deal in the
report facts (usecases.reports.facts: tables report_fact, and report_count that counts them per
30 days): every change of a deal notes it, and a report first works out the noted deals'
facts anew, then reads counts for the whole 30 days of its period and single facts for its
two ends, instead of grouping the history per deal.  So a report over two years costs about
what one over 90 days does.  Medians and 90th percentiles are exact (linear interpolation
between the two closest values, as `statistics.median` and PostgreSQL's `percentile_cont`),
found by counting values per bucket of duration, then reading only the buckets that hold
them (engine.usecases.reports.stats).

Filters apply to the deals: process and version, owner, team (a role: the deals owned by the
users who hold it), tier, lead channel, and who is asking (usecases.access: a rep's reports cover
the deals the rep may see).  Durations are in seconds; costs per channel are a monthly spend
kept in the `setting` table (key `channel_costs`).

Modules: cases (`ReportCases`, the use cases `Service` offers the pages and the API: who reads
reports, the filters of a request, the reports, the heatmap, the channels' costs), scope
(filters, versions' graphs, deals in scope), facts (the report facts), stats (percentiles),
pipeline (funnel, channels, cycle), people (reps, stale, heat), costs, customers (churn,
repeat purchases, lifetime value, revisits, visits and proposals per week, channel value).
"""

from __future__ import annotations

from engine.usecases.reports.cases import REPORTS, ReportCases
from engine.usecases.reports.costs import channel_costs, set_channel_costs
from engine.usecases.reports.customers import customers
from engine.usecases.reports.people import heat, reps, stale
from engine.usecases.reports.pipeline import channels, cycle, funnel
from engine.usecases.reports.scope import DEFAULT_PROCESS, Filters, period

__all__ = [
    "DEFAULT_PROCESS",
    "REPORTS",
    "Filters",
    "ReportCases",
    "channel_costs",
    "channels",
    "customers",
    "cycle",
    "funnel",
    "heat",
    "period",
    "reps",
    "set_channel_costs",
    "stale",
]
