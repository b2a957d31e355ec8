"""Secrets sealed at rest: the connectors' named secrets, the webhooks' and robots' signing
secrets and the robots' addresses (their key or token is in the URL) are kept in the database
sealed, so that a copied database file or a dump gives none of them away.

A sealed value is `sealed:v1:` followed by a Fernet token (AES-128-CBC with an HMAC-SHA256,
from the `cryptography` package: authenticated, so a wrong key or a damaged value is told
apart from a right one instead of opening to garbage).  The Fernet key is derived from the
machine's sealing key text with HKDF-SHA256, so that any long random text (the same kind as
SALESFLOW_SECRET_KEY) serves as a key.  The version prefix lets a later format be told apart,
and lets a value written before sealing existed (no prefix) open as itself: it is sealed when
it is next written, or by `salesflow init` (engine.store.sealing).

Pure: where the key comes from is engine.store.sealing's business; this module is handed the
key text and where it came from (the variable's name or the key file's path), which the
error messages name.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from engine.errors import EngineError

__all__ = ["PREFIX", "Sealer", "SealingError", "is_sealed"]

MARK = "sealed:"
VERSION = "v1"
PREFIX = f"{MARK}{VERSION}:"
# The purpose bound into the derived key: the same key text used elsewhere (for instance by
# mistake as SALESFLOW_SECRET_KEY) gives a different key here.
_PURPOSE = b"salesflow: secrets sealed at rest, v1"
_AGAIN = "set SALESFLOW_SEALING_KEY to the key it was sealed with"


class SealingError(EngineError):
    """A sealed value that this machine cannot open: no key, a different key than the one
    it was sealed with, a damaged value, or a format newer than this code."""


def is_sealed(stored: str | None) -> bool:
    """Whether a stored value is sealed (of any version), as opposed to a legacy plain one."""
    return bool(stored) and str(stored).startswith(MARK)


@lru_cache(maxsize=8)
def _fernet(key: str) -> Fernet:
    """The cipher of a key text (derived once per key: HKDF costs more than a seal)."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(
        key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


class Sealer:
    """Seals and opens text under one key, from `source` (SALESFLOW_SEALING_KEY or a key
    file's path).  `key` is None when this machine has none (`source`: the key file that is
    missing): plain legacy values still open, sealed ones fail saying so."""

    def __init__(self, key: str | None, source: str) -> None:
        self.key = key or None
        self.source = source

    def seal(self, text: str) -> str:
        """`text` sealed, with the version prefix."""
        if self.key is None:
            raise SealingError(f"there is no sealing key to seal with ({self.source} is missing)")
        return PREFIX + _fernet(self.key).encrypt(text.encode()).decode("ascii")

    def open(self, stored: str, what: str) -> str:
        """The text of a stored value: a sealed one opened, a legacy plain one as it is.
        SealingError naming `what` (say, "secret 'erp_token'") and what to do when it
        cannot be opened: never an empty or wrong value."""
        if not is_sealed(stored):
            return stored
        if not stored.startswith(PREFIX):
            version = stored[len(MARK) :].split(":", 1)[0][:10]
            raise SealingError(
                f"the sealed {what} is sealed in a format ({version}) this version of "
                "salesflow cannot read: upgrade salesflow on this machine"
            )
        if self.key is None:
            raise SealingError(
                f"the sealed {what} cannot be opened: this machine has no sealing key "
                f"(neither SALESFLOW_SEALING_KEY nor {self.source}): {_AGAIN}"
            )
        try:
            return _fernet(self.key).decrypt(stored[len(PREFIX) :].encode("ascii")).decode()
        except (InvalidToken, UnicodeError):
            raise SealingError(
                f"the sealed {what} cannot be opened with this machine's key "
                f"({self.source}): {_AGAIN}"
            ) from None
