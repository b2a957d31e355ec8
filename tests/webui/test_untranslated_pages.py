"""No page speaks English to a Chinese reader (issue 14): every page of the app, as every role
that may open it, read in 简体中文, shows no English word that is not the team's own content.

The pages are those of the permission matrix (tests/webui/test_permission_matrix.py: every
GET route with the deals, tasks, holidays and initiative its world makes), each opened by
every role allowed to, in Chinese.  What a page shows is its visible text (scripts, styles and
the CSRF token left out) and the texts people read in attributes (title, placeholder,
aria-label, alt, a button's value).  What may stay in Latin letters:
- what the team typed or the data holds: deal names and data values, people's names and user
  names, comments, rows of an initiative (read from the database the pages come from);
- identifiers (snake_case ids, ids with digits, e-mail addresses, URLs, file names) and the
  names of formats and standards (ALLOWED).
Anything else is a text the catalog (webui/translations) or a process's translations file
lacks, and the failure names the page and the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from engine.store.models import History, InitiativeRow, Instance, User
from engine.usecases.service import Service
from webui.i18n import CHINESE

from .test_permission_matrix import (  # noqa: F401  (fixtures)
    ROUTES,
    Visitor,
    World,
    cases,
    is_api,
    send,
    visitors,
    world,
)

# Formats, standards and names that are the same in every language.
ALLOWED = frozenset(
    re.split(
        r"\s+",
        "svg png pdf csv xlsx xls json api bpmn dmn sla id ids url utc iana xml xsd http https "
        "salesflow spiffworkflow utf gbk excel a4 a3 ok cc bcc sso iso wecom md python cny "
        "english ctrl",
    )
)
# Identifiers: snake_case or dotted names, ids with digits, e-mail, URLs, file names.
IDENTIFIER = re.compile(
    r"https?://\S+|[\w.+-]+@[\w-]+(\.[\w-]+)+|\b[\w-]+\.(bpmn|dmn|json|csv|xlsx|svg|png|pdf)\b"
    r"|\b[A-Za-z]+(?:[_.][A-Za-z0-9]+)+\b|\b\w*\d\w*\b|\b[A-Z][A-Za-z]+/[A-Za-z_/+-]+"
)
WORD = re.compile(r"[A-Za-z]{2,}")
ACRONYM = re.compile(r"[A-Z]{2,5}$")  # ICP, KPI, ROI: read as they are in Chinese business text
SEEN_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
SKIPPED_TAGS = {"script", "style", "template", "code", "pre", "textarea"}


class _Texts(HTMLParser):
    """The texts a person reads on a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED_TAGS:
            self.skipping += 1
        values = dict(attrs)
        self.found += [v for k, v in attrs if k in SEEN_ATTRIBUTES and v]
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self.found.append(str(values["value"]))

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED_TAGS and self.skipping:
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping and data.strip():
            self.found.append(" ".join(data.split()))


def texts_of(page: str) -> list[str]:
    parser = _Texts()
    parser.feed(page)
    return parser.found


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def team_content(service: Service) -> re.Pattern[str]:
    """Everything the team typed or the data holds, as one pattern of whole words (the
    longest first, so that a name is taken out before a word of it)."""
    found: set[str] = set()
    with service.db.read() as s:
        for name, data in s.execute(select(Instance.name, Instance.data)):
            found.add(name or "")
            found.update(_strings(data))
        for username, display in s.execute(select(User.username, User.display_name)):
            found.update((username, display or ""))
        for (data,) in s.execute(select(History.data).where(History.kind == "comment")):
            found.update(_strings(data))
        for row in s.scalars(select(InitiativeRow)):
            found.update((row.stage, row.task, row.notes, row.contact))
        found.update(i["name"] for i in service.initiatives())
    known = sorted((f.strip() for f in found if f and f.strip()), key=len, reverse=True)
    words = "|".join(map(re.escape, known))
    return re.compile(rf"(?<![A-Za-z0-9_])(?:{words})(?![A-Za-z0-9_])")


def english_left(text: str, content: re.Pattern[str]) -> list[str]:
    """The English words of a page's text once the team's content and identifiers are out."""
    text = IDENTIFIER.sub(" ", content.sub(" ", text))
    return [w for w in WORD.findall(text) if w.casefold() not in ALLOWED and not ACRONYM.match(w)]


def pages(
    world: World,  # noqa: F811
    visitors: list[Visitor],  # noqa: F811
) -> Iterator[tuple[Visitor, str, Any, Any]]:
    """Every (visitor, endpoint, line, case) of a page a logged-in role may open."""
    for (endpoint, method), line in ROUTES.items():
        if method != "GET" or is_api(endpoint) or endpoint == "static":
            continue
        for visitor in visitors:
            if visitor.user is None:
                continue
            for case in cases(world, visitor, line):
                yield visitor, endpoint, line, case


@pytest.fixture
def chinese_team(staff: Service) -> Service:
    """Everyone reads Chinese before anything happens: what the engine writes for a person
    (a notification) is written in their language then."""
    with staff.db.write() as s:
        s.execute(update(User).values(language=CHINESE))
    return staff


def test_every_page_in_chinese_has_no_english_left(
    app: Flask,
    chinese_team: Service,
    world: World,  # noqa: F811
    visitors: list[Visitor],  # noqa: F811
) -> None:
    for visitor in visitors:
        with visitor.client.session_transaction() as session:
            session["lang"] = CHINESE
    content = team_content(world.service)
    problems: dict[str, set[str]] = {}
    opened = 0
    for visitor, endpoint, line, case in pages(world, visitors):
        answer = send(visitor, endpoint, "GET", line, case)
        kind = answer.headers.get("Content-Type", "")
        if answer.status_code != 200 or not kind.startswith("text/html"):
            continue
        opened += 1
        for text in texts_of(answer.get_data(as_text=True)):
            left = english_left(text, content)
            if left:
                problems.setdefault(f"{endpoint} ({visitor.role})", set()).add(text[:160])
    assert opened > 60  # the pages of every role were read, not a login page each time
    report = "\n".join(f"{where}: {sorted(found)}" for where, found in sorted(problems.items()))
    assert not problems, f"English left on Chinese pages:\n{report}"
