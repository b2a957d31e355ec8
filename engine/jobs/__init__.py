"""Jobs: the worker and what it runs without anyone asking — timers, escalations, digests,
e-mail, the end of delegations, initiative reminders, the reports' catch-up.

Rule: a job is a plain function that does one batch and returns a count; it changes deals
through the use cases' unit of work (`engine.usecases.unit`), so a timer fired by the worker
is written exactly as a task completed on a page.  Jobs may import every layer below;
nothing in the engine imports `engine.jobs`.
"""
