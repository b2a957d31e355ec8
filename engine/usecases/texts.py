"""Process content in the reader's language (engine.core.translations): a deal's open tasks
and timeline, a process's start form, a stage's label, the values its decisions write.

Every use case that returns the designer's texts takes the reader's locale (`lang`: "en",
"zh", or a language tag such as an Accept-Language header) and answers through here; English
(or no locale) returns the records untouched, at no cost.  The pages pass the language of the
logged-in user, the API the request's Accept-Language, the CLI its `--lang`, and the worker
the recipient's `User.language`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.definitions import form_name
from engine.core.records import Deal, DefinitionRecord, HistoryEntry, TaskRecord
from engine.core.translations import (
    ENGLISH,
    ENGLISH_TEXTS,
    Texts,
    Translations,
    file_locale,
    form_fields,
    locale_of,
)
from engine.core.version import VersionRuntime
from engine.store import deployments as versions
from engine.store.models import DefinitionVersion, Instance, User
from engine.usecases.base import UseCases

__all__ = [
    "TextCases",
    "file_texts",
    "is_english",
    "localize_history",
    "localize_task",
    "user_locale",
    "version_texts",
]


def is_english(lang: str | None) -> bool:
    """Whether `lang` reads the designer's texts as they are (no translation to look up)."""
    return locale_of(lang) == ENGLISH


def localize_task(task: TaskRecord, texts: Texts) -> TaskRecord:
    """A task record with its name in the texts' language."""
    if texts is ENGLISH_TEXTS:
        return task
    return {**task, "name": texts.name(task["element_id"], task["name"])}


def localize_history(entry: HistoryEntry, texts: Texts) -> HistoryEntry:
    """A timeline entry with its element's name in the texts' language."""
    if texts is ENGLISH_TEXTS or not entry["element_id"]:
        return entry
    return {**entry, "element_name": texts.name(entry["element_id"], entry["element_name"])}


def user_locale(s: Session, username: str | None) -> str:
    """The locale a user reads (their `language`; English when unknown or unset)."""
    if not username:
        return ENGLISH
    stored = s.scalar(select(User.language).where(User.username == username))
    return locale_of(stored)


def texts_of(cases: UseCases, s: Session, version_id: int, lang: str | None) -> Texts:
    """A version's texts in `lang` (the version restored once and kept)."""
    if is_english(lang):
        return ENGLISH_TEXTS
    return cases.version(s, version_id).texts(lang)


def localize_tasks(
    cases: UseCases, s: Session, tasks: Iterable[TaskRecord], lang: str | None
) -> list[TaskRecord]:
    """Task records with their names in `lang`, each from its deal's version."""
    tasks = list(tasks)
    if is_english(lang) or not tasks:
        return tasks
    ids = {int(t["instance_id"]) for t in tasks}
    rows = s.execute(select(Instance.id, Instance.version_id).where(Instance.id.in_(ids)))
    version_of = {iid: vid for iid, vid in rows}
    return [
        localize_task(t, texts_of(cases, s, version_of[int(t["instance_id"])], lang))
        if int(t["instance_id"]) in version_of
        else t
        for t in tasks
    ]


def version_texts(
    s: Session, version_id: int, lang: str | None, cache: dict[tuple[int, str], Texts]
) -> Texts:
    """A version's texts in `lang` read from its files alone (no spec restored), kept in
    `cache`: for the worker's jobs, which hold no workspace."""
    if is_english(lang):
        return ENGLISH_TEXTS
    key = (version_id, locale_of(lang))
    found = cache.get(key)
    if found is None:
        files = s.scalar(select(DefinitionVersion.files).where(DefinitionVersion.id == version_id))
        found = cache.setdefault(key, Translations.load(files or {}).texts(lang))
    return found


class TextCases(UseCases):
    """Process content in the reader's language."""

    def process_texts(self, process_id: str, lang: str | None, version: int | None = None) -> Texts:
        """The texts of a process's version (latest unless given) in `lang`."""
        if is_english(lang):
            return ENGLISH_TEXTS
        with self.db.read() as s:
            row = versions.version_row(s, process_id, version)
            return texts_of(self, s, row.id, lang)

    def localized_start_form(
        self, process_id: str, lang: str | None, version: int | None = None
    ) -> dict[str, Any] | None:
        """The new-deal form of a process in `lang`: titles, help and choices translated."""
        with self.db.read() as s:
            row = versions.version_row(s, process_id, version)
            vr = self.version(s, row.id)
            schema = vr.start_form()
            if is_english(lang) or schema is None:
                return schema
            outputs = vr.spec.start.outputs
            return vr.texts(lang).form(form_name(outputs[0]) if outputs else None, schema)

    def localize_deal(self, deal: Deal, lang: str | None) -> Deal:
        """A deal record (`show`) with its open tasks' names and its timeline in `lang`."""
        if is_english(lang):
            return deal
        texts = self.process_texts(deal["process_id"], lang, deal["version"])
        if texts is ENGLISH_TEXTS:
            return deal
        return {
            **deal,
            "tasks": [localize_task(t, texts) for t in deal["tasks"]],
            "history": [localize_history(h, texts) for h in deal["history"]],
            "timers": [
                {**t, "name": texts.name(t.get("element_id"), t.get("name"))}
                for t in deal.get("timers", [])
            ],
        }

    def stage_labels(self, process_id: str, lang: str | None) -> dict[str, str]:
        """Stage key -> label of a process's latest version in `lang` ({} in English)."""
        return dict(self.process_texts(process_id, lang).stages)

    def every_stage_label(self, lang: str | None) -> dict[str, str]:
        """Stage key -> label in `lang` of every deployed process's latest version (a list
        of deals of several processes shows each one's stages); {} in English."""
        if is_english(lang):
            return {}
        return self._over_latest("stages", lang, _stage_labels)

    def every_field_title(self, lang: str | None) -> dict[str, str]:
        """Data field -> its title in `lang`, over every deployed process's latest version:
        the title its form gives it (a nested field by its own key too), else the title the
        translations file's `data` gives a field that scripts or decisions write.  What a
        page shows beside a raw key of a deal's data (a timeline entry's details)."""
        return self._over_latest("fields", lang, _field_titles)

    def _over_latest(
        self, kind: str, lang: str | None, gather: Callable[[VersionRuntime, Texts], dict[str, str]]
    ) -> dict[str, str]:
        """`gather` over every process's latest version, merged (the first process's word
        wins), worked out once per set of latest versions and language: a page asks it on
        every request, and it changes only with a deploy."""
        with self.db.read() as s:
            latest = tuple(row_id for _pid, _name, row_id in versions.latest_versions(s))
            key = (kind, locale_of(lang), latest)
            memo = self.space.latest_texts
            kept = memo.get(key[:2])
            if kept is not None and kept[0] == latest:
                return kept[1]
            found: dict[str, str] = {}
            for row_id in latest:
                vr = self.version(s, row_id)
                texts = ENGLISH_TEXTS if is_english(lang) else vr.texts(lang)
                for word, text in gather(vr, texts).items():
                    found.setdefault(word, text)
            memo[key[:2]] = (latest, found)
            return found

    def localized_definitions(self, lang: str | None) -> list[DefinitionRecord]:
        """The deployed processes (`definitions`), each named in `lang` as its latest
        version's translations name it."""
        with self.db.read() as s:
            found = versions.list_definitions(s)
            if is_english(lang):
                return found
            latest = {pid: row_id for pid, _name, row_id in versions.latest_versions(s)}
            named: list[DefinitionRecord] = []
            for record in found:
                texts = texts_of(self, s, latest[record["process_id"]], lang)
                name = texts.name(record["process_id"], record["name"])
                named.append(DefinitionRecord(**{**record, "name": name}))
            return named

    def value_label(self, process_id: str, key: str, value: Any, lang: str | None) -> Any:
        """A stored value of a deal's data as people read it in `lang` (a decision's output,
        a lost reason); the value itself without a label."""
        return self.process_texts(process_id, lang).value(key, value)

    def value_labels(self, process_id: str, lang: str | None) -> Mapping[str, Mapping[str, str]]:
        """Data field -> stored value -> label, for a page that shows many."""
        return self.process_texts(process_id, lang).values


def _stage_labels(_vr: VersionRuntime, texts: Texts) -> dict[str, str]:
    return dict(texts.stages)


def _field_titles(vr: VersionRuntime, texts: Texts) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in sorted(vr.validators):
        schema = texts.form(name, vr.form_schema(name)) or {}
        for path, sub in form_fields(schema):
            title = sub.get("title")
            if isinstance(title, str) and title and not path.endswith("[]"):
                found.setdefault(path.rsplit(".", 1)[-1], title)
    for key, title in texts.data.items():
        found.setdefault(key, title)
    return found


def file_texts(path: Path, lang: str | None) -> Texts:
    """The texts in `lang` of the .bpmn file `path` read from the translation files beside
    it (`NAME.zh-Hans.json`), as a deploy of its folder would read them (`salesflow render
    FILE.bpmn`; DefinitionError for a malformed one); the designer's without one."""
    if is_english(lang):
        return ENGLISH_TEXTS
    beside = {
        found.name: found.read_text(encoding="utf-8")
        for found in sorted(path.parent.glob("*.json"))
        if (where := file_locale(found.name)) is not None and where[0] == path.name
    }
    if not beside:
        return ENGLISH_TEXTS
    bpmn = path.read_text(encoding="utf-8", errors="replace")
    return Translations.load({path.name: bpmn, **beside}).texts(lang)
