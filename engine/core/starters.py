"""Who may start a process: the roles its `startRoles` property lists, admins always.

The property sits on the process itself, as the elements' `stage` or `sla` sit on theirs:

    <bpmn:process id="sales_pipeline" ...>
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="startRoles" value="Sales Rep, Sales Manager" />

Role names are written as lanes are and compared as roles are (engine.core.roles.role_key:
"sales_rep" == "Sales Rep"), separated by commas (or semicolons, or the Chinese comma).  A
process that lists none is started by the roles that own deals (DEAL_OWNERS), the same
people the lead form has always let start one.  SpiffWorkflow does not keep the extensions
of a process element, so the property is read from the stored BPMN text (`declared_roles`)
when a version is loaded (engine.store.deployments), and kept on its VersionRuntime.

Pure: no database, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping

from lxml import etree

from engine.core.graph_xml import MODEL, SPIFF, bpmn_processes
from engine.core.roles import ADMIN, DEAL_OWNERS, role_key

__all__ = [
    "DEFAULT_START_ROLES",
    "START_ROLES_PROPERTY",
    "declared_roles",
    "listed_names",
    "may_start",
    "parse_roles",
    "start_roles",
]

START_ROLES_PROPERTY = "startRoles"
# Who starts a process that names no one: the people who own deals.
DEFAULT_START_ROLES = DEAL_OWNERS
_SEPARATORS = re.compile("[,;\uff0c\uff1b\u3001]")
_PROPERTY_PATH = "/".join(
    (f"{{{MODEL}}}extensionElements", f"{{{SPIFF}}}properties", f"{{{SPIFF}}}property")
)


def parse_roles(value: str) -> frozenset[str]:
    """The role keys a `startRoles` value lists ("Sales Rep, sales_manager")."""
    return frozenset(key for part in _SEPARATORS.split(value) if (key := role_key(part)))


def listed_names(process: etree._Element) -> list[str]:
    """The role names a <bpmn:process> element's `startRoles` property lists, as written
    (none when it has no such property)."""
    for prop in process.iterfind(_PROPERTY_PATH):
        if prop.get("name") == START_ROLES_PROPERTY:
            return [n.strip() for n in _SEPARATORS.split(prop.get("value") or "") if n.strip()]
    return []


def declared_roles(files: Mapping[str, str | bytes], process_id: str) -> frozenset[str] | None:
    """The roles the `startRoles` property of process `process_id` lists, None when the
    process has no such property (or lists no role in it)."""
    for process in bpmn_processes(files):
        if process.get("id") == process_id:
            return frozenset(role_key(n) for n in listed_names(process)) or None
    return None


def start_roles(declared: Collection[str] | None) -> frozenset[str]:
    """The roles that start a process: those it declares, or DEFAULT_START_ROLES."""
    return frozenset(declared) if declared else DEFAULT_START_ROLES


def may_start(roles: Iterable[str], allowed: Collection[str]) -> bool:
    """Whether someone holding `roles` (role keys) starts a process that `allowed` roles
    start: holding one of them, or admin."""
    held = set(roles)
    return ADMIN in held or bool(held & set(allowed))
