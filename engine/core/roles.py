"""Roles: a lane is a role; names match case-insensitively ("Sales Rep" == "sales_rep")."""

from __future__ import annotations


def role_key(name: str) -> str:
    """The normalised form under which a role is stored and compared."""
    return " ".join(name.replace("_", " ").replace("-", " ").casefold().split())


# The lanes of the standard sales process (domain.md) and the two roles of the app itself,
# as they are shown; every user holds some of these.
TEAM_ROLES = (
    "Sales Rep",
    "Sales Manager",
    "Product Expert",
    "Legal",
    "Finance",
    "After-Sales",
    "Marketing",
    "designer",
    "admin",
)

ADMIN = role_key("admin")
SALES_MANAGER = role_key("Sales Manager")
DESIGNER = role_key("designer")
# The role sets the rules use, each defined once: who sees and manages the whole team's work
# (every deal, incidents, hand-overs, cost figures), who changes process definitions, and who
# may look at processes and their versions.
MANAGERS = frozenset({SALES_MANAGER, ADMIN})
DESIGNERS = frozenset({DESIGNER, ADMIN})
PROCESS_VIEWERS = MANAGERS | DESIGNERS
# Who may own a deal (besides the person starting it), and who starts a process that does
# not say who starts it (engine.core.starters).
DEAL_OWNERS = frozenset({role_key("Sales Rep"), SALES_MANAGER})
