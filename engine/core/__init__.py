"""The pure core: what salesflow knows about processes, with no database and no I/O.

Rule: modules here import the standard library, SpiffWorkflow, lxml, jsonschema and each
other, plus `engine.errors` and `engine.clock` (to parse times, never to read the clock in a
decision that a caller could not repeat).  Never `engine.store`, `engine.usecases`,
`engine.jobs`, SQLAlchemy, Flask or graphviz.  Everything here can be tested without a
database: parse, check, run and serialise a workflow, build graphs and diffs, compute
calendars, validate forms.
"""
