"""A deployed version, ready to run: its parsed specs, compiled form validators, stages,
instructions, SLAs, who may start it and its translations (built from its stored row by
engine.store.deployments)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.core.calendar import Sla
from engine.core.connectors import Connector
from engine.core.definitions import form_name
from engine.core.starters import DEFAULT_START_ROLES
from engine.core.translations import Texts, Translations


@dataclass
class VersionRuntime:
    """A deployed version, ready to run: spec objects and compiled form validators."""

    version_id: int
    process_id: str
    name: str
    version: int
    spec: Any
    subprocess_specs: dict[str, Any]
    validators: dict[str, Any] = field(default_factory=dict)
    stages: dict[str, str] = field(default_factory=dict)
    instructions: dict[str, str] = field(default_factory=dict)  # element id -> text
    slas: dict[str, Sla] = field(default_factory=dict)  # element id -> the task's SLA
    # element id -> the HTTP connector its service task waits for (engine.core.connectors)
    connectors: dict[str, Connector] = field(default_factory=dict)
    # The role keys that may start it (engine.core.starters; admins always may).
    start_roles: frozenset[str] = DEFAULT_START_ROLES
    # The process content in other languages (engine.core.translations).
    translations: Translations = field(default_factory=Translations)

    def texts(self, locale: str | None) -> Texts:
        """The version's texts in `locale`, falling back to the designer's."""
        return self.translations.texts(locale)

    def form_schema(self, name: str | None) -> dict[str, Any] | None:
        """The JSON schema of one of the version's forms."""
        if name is None or name not in self.validators:
            return None
        schema: dict[str, Any] = self.validators[name].schema
        return schema

    def start_form(self) -> dict[str, Any] | None:
        """The schema of the start event's form, if it has one."""
        outputs = self.spec.start.outputs
        return self.form_schema(form_name(outputs[0]) if outputs else None)
