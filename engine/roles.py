"""Roles: a lane is a role; names match case-insensitively ("Sales Rep" == "sales_rep")."""

from __future__ import annotations


def role_key(name: str) -> str:
    """The normalised form under which a role is stored and compared."""
    return " ".join(name.replace("_", " ").replace("-", " ").casefold().split())
