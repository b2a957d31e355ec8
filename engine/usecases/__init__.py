"""Use cases: everything the pages, the JSON API, the CLI, the worker and the demo ask of
the engine, one module per concern, each a method of `Service` (engine.usecases.service).

Rule: one transaction per use case; a deal is changed only through the unit of work
(`engine.usecases.unit`: lock the deal, restore its workflow, run it, save the change, put
the workflow back in the cache); who may do what is decided here and nowhere else, so pages,
API and CLI agree.  Modules here use `engine.store` and `engine.core`, never `engine.jobs`;
callers outside the engine (webui, salesflow) import this layer, `engine.errors` and the
read-only types of `engine.core.graph`.
"""
