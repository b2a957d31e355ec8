"""salesflow engine: definitions, runtime over SpiffWorkflow, persistence, timers."""
