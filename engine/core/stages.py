"""The stages of a sales deal, in the order a deal passes them (domain.md): a deal's stage is
the furthest of its open tasks' stages; reports and boards list stages in this order."""

from __future__ import annotations

STAGE_ORDER = (
    "lead",
    "qualification",
    "contact",
    "needs",
    "proposal",
    "negotiation",
    "contract",
    "won",
    "lost",
    "after_sales",
)
