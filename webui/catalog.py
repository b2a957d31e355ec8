"""The UI's message catalogs (Babel .po files in webui/translations/), read once per process.

The catalog is the source: `make messages` extracts the texts of the templates and views
with pybabel into messages.pot and merges them into each language's messages.po, where
translators fill in msgstr.  Reading the .po directly (babel.messages.pofile) needs no compile
step and no binary file in the repository."""

from __future__ import annotations

import functools
from pathlib import Path

from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parent / "translations"


@functools.cache
def load_catalog(locale: str) -> dict[str, str]:
    """English message -> translation, for the messages the catalog translates."""
    path = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as file:
        catalog = read_po(file, locale=locale)
    return {
        str(message.id): str(message.string)
        for message in catalog
        if message.id and isinstance(message.id, str) and message.string
    }
