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
