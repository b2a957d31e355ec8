"""Deployed definitions and their versions.  Functions take an open session.

A version is its content: deploying the same files again changes nothing, changed files
become version N+1, and running deals stay on the version they started with.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine import clock
from engine.core import runtime
from engine.core.calendar import known_sla
from engine.core.connectors import connector_of
from engine.core.definitions import ProcessBundle, form_name, load_form
from engine.core.forms import form_validator
from engine.core.records import DefinitionRecord, Deployed
from engine.core.starters import declared_roles, start_roles
from engine.core.translations import Translations
from engine.core.version import VersionRuntime
from engine.errors import NotFoundError
from engine.store.models import Definition, DefinitionVersion, table_of


def store_bundle(s: Session, bundle: ProcessBundle, actor: str | None) -> Deployed:
    """Store a parsed process as a new version unless its content is deployed already."""
    definition = s.scalars(
        select(Definition).where(Definition.process_id == bundle.process_id)
    ).first()
    if definition is None:
        definition = Definition(process_id=bundle.process_id, name=bundle.name)
        s.add(definition)
        s.flush()
    same = s.scalars(
        select(DefinitionVersion).where(
            DefinitionVersion.definition_id == definition.id,
            DefinitionVersion.content_hash == bundle.content_hash,
        )
    ).first()
    if same is not None:
        return {"process_id": bundle.process_id, "version": same.version, "changed": False}
    definition.latest_version += 1
    definition.name = bundle.name
    s.add(
        DefinitionVersion(
            definition_id=definition.id,
            version=definition.latest_version,
            content_hash=bundle.content_hash,
            files=bundle.files,
            spec=runtime.dump_spec(bundle.spec, bundle.subprocess_specs),
            deployed_by=actor,
            deployed_at=clock.now(),
        )
    )
    s.flush()
    return {"process_id": bundle.process_id, "version": definition.latest_version, "changed": True}


def list_definitions(s: Session) -> list[DefinitionRecord]:
    rows = s.scalars(select(Definition).order_by(Definition.process_id))
    return [
        {
            "process_id": d.process_id,
            "name": d.name,
            "version": d.latest_version,
            "versions": d.latest_version,
        }
        for d in rows
    ]


def latest_versions(s: Session) -> list[tuple[str, str, int]]:
    """(process id, name, id of the latest version's row) of every deployed process, by id;
    reads no file and no spec."""
    query = (
        select(Definition.process_id, Definition.name, DefinitionVersion.id)
        .join(DefinitionVersion, DefinitionVersion.definition_id == Definition.id)
        .where(DefinitionVersion.version == Definition.latest_version)
        .order_by(Definition.process_id)
    )
    return [(pid, name, vid) for pid, name, vid in s.execute(query)]


_VERSIONS, _DEFINITIONS = table_of(DefinitionVersion), table_of(Definition)
_LATEST_ID = (
    select(_VERSIONS.c.id)
    .join(_DEFINITIONS, _DEFINITIONS.c.id == _VERSIONS.c.definition_id)
    .where(_DEFINITIONS.c.process_id == bindparam("process_id"))
    .order_by(_VERSIONS.c.version.desc())
    .limit(1)
)
_VERSION_ID = _LATEST_ID.where(_VERSIONS.c.version == bindparam("version"))


def version_id(s: Session, process_id: str, version: int | None) -> int:
    """The id of the given version of a process, or of its latest (`version_row`'s, without
    reading the row: its files and spec are large, and a start needs only the id)."""
    if version is None:
        found = s.execute(_LATEST_ID, {"process_id": process_id}).scalar()
    else:
        found = s.execute(_VERSION_ID, {"process_id": process_id, "version": version}).scalar()
    if found is None:
        which = f" version {version}" if version is not None else ""
        raise NotFoundError(f"no deployed process '{process_id}'{which}")
    return int(found)


def version_row(s: Session, process_id: str, version: int | None) -> DefinitionVersion:
    """The given version of a process, or its latest."""
    query = (
        select(DefinitionVersion)
        .join(Definition)
        .where(Definition.process_id == process_id)
        .order_by(DefinitionVersion.version.desc())
    )
    if version is not None:
        query = query.where(DefinitionVersion.version == version)
    row = s.scalars(query.limit(1)).first()
    if row is None:
        which = f" version {version}" if version is not None else ""
        raise NotFoundError(f"no deployed process '{process_id}'{which}")
    return row


def load_version(s: Session, version_id: int) -> VersionRuntime:
    """Restore a version's spec from its stored JSON and compile its forms."""
    row = s.get(DefinitionVersion, version_id)
    if row is None:
        raise NotFoundError(f"no definition version {version_id}")
    spec, subs = runtime.load_spec(row.spec)
    vr = VersionRuntime(
        version_id=row.id,
        process_id=row.definition.process_id,
        name=row.definition.name,
        version=row.version,
        spec=spec,
        subprocess_specs=subs,
        start_roles=start_roles(declared_roles(row.files, row.definition.process_id)),
        translations=Translations.load(row.files),
    )
    for process_spec in (spec, *subs.values()):
        for ts in process_spec.task_specs.values():
            if getattr(ts, "bpmn_id", None) is None:
                continue
            stage = runtime.properties(ts).get("stage")
            if stage:
                vr.stages[ts.bpmn_id] = stage
            text = (getattr(ts, "extensions", None) or {}).get("instructionsForEndUser")
            if text:
                vr.instructions[ts.bpmn_id] = str(text)
            sla = known_sla(ts)
            if sla is not None:
                vr.slas[ts.bpmn_id] = sla
            connector = connector_of(ts)
            if connector is not None:
                vr.connectors[ts.bpmn_id] = connector
            name = form_name(ts)
            if name and name in row.files and name not in vr.validators:
                vr.validators[name] = form_validator(load_form(name, row.files[name]))
    return vr
