"""Notifications in the recipient's language: `Notices(s).tell(...)` writes a notification
(engine.store.notifications.notify) in the language of the person it tells (`User.language`,
engine.usecases.texts.user_locale), with the fixed sentence of its kind (engine.core.notices)
and the names of the deal's version translated (a task's name from its element, a role's
from its lane: engine.usecases.texts.version_texts), as the digest does.

One `Notices` per transaction or batch: each recipient's language is looked up once, each
version's translations read once.  The worker's jobs and the use cases alike call it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.core.notices import wording
from engine.core.translations import ENGLISH_TEXTS, Texts
from engine.store.models import Instance
from engine.store.notifications import notify
from engine.usecases.texts import user_locale, version_texts

__all__ = ["Named", "Notices"]

# A value that depends on the language ("3 open tasks"): called with the recipient's locale.
ByLocale = Callable[[str], str]


@dataclass(frozen=True)
class Named:
    """An element of a deal's version a notice names: its name is translated per reader."""

    version_id: int | None
    element_id: str | None
    name: str


class Notices:
    """The notifications of one transaction, each in its recipient's language."""

    def __init__(self, s: Session) -> None:
        self.s = s
        self._locales: dict[str, str] = {}
        self._texts: dict[tuple[int, str], Texts] = {}
        self._versions: dict[int, int | None] = {}

    def locale(self, username: str) -> str:
        found = self._locales.get(username)
        if found is None:
            found = self._locales.setdefault(username, user_locale(self.s, username))
        return found

    def texts(self, version_id: int | None, locale: str) -> Texts:
        if version_id is None:
            return ENGLISH_TEXTS
        return version_texts(self.s, version_id, locale, self._texts)

    def version_of(self, instance_id: int) -> int | None:
        """The version a deal runs (for the names of its elements)."""
        if instance_id not in self._versions:
            self._versions[instance_id] = self.s.scalar(
                select(Instance.version_id).where(Instance.id == instance_id)
            )
        return self._versions[instance_id]

    def element(self, instance_id: int, element_id: str | None, name: str | None) -> Named:
        """The element `element_id` of a deal's version, to be named in a notice."""
        return Named(self.version_of(instance_id), element_id, name or element_id or "")

    def text(
        self,
        username: str,
        sentence: str,
        values: Mapping[str, str | int | ByLocale],
        *,
        task: Named | None = None,
        role: str | None = None,
    ) -> str:
        """The sentence as `username` reads it: `task` fills {task} with the element's name
        in their language, `role` fills {role} with its lane's label in the task's version."""
        locale = self.locale(username)
        filled: dict[str, object] = {
            key: value(locale) if callable(value) else value for key, value in values.items()
        }
        version = task.version_id if task is not None else None
        if task is not None:
            filled["task"] = self.texts(version, locale).name(task.element_id, task.name)
        if role is not None:
            filled["role"] = self.texts(version, locale).lane(role) or role
        return wording(sentence, locale, filled)

    def tell(
        self,
        username: str | None,
        kind: str,
        sentence: str,
        *,
        instance_id: int | None = None,
        task_id: str | None = None,
        now: datetime | None = None,
        task: Named | None = None,
        role: str | None = None,
        **values: str | int | ByLocale,
    ) -> None:
        """Notify `username` (nobody for None) of `kind`, in their language."""
        if not username:
            return
        text = self.text(username, sentence, values, task=task, role=role)
        notify(self.s, username, kind, text, instance_id=instance_id, task_id=task_id, now=now)
