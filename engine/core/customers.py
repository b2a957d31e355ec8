"""What makes two company names one customer, and the follow-up rhythm of a tier.

A customer is found by its name as compared (`name_key`): case, spaces and punctuation left
out, and the company-form words at its end ("Ltd.", "Co., Ltd", "有限公司", "股份有限公司",
"集团") dropped, so that "ACME Ltd." typed on a new deal finds "Acme" and "杭州云帆科技有限公司"
finds "杭州云帆科技".  `similar` is the duplicate warning of a new customer: names whose keys
are close (difflib's ratio, or one inside the other).

Pure: no database, no clock.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable

__all__ = ["CADENCE_DAYS", "TIERS", "name_key", "similar"]

TIERS = ("A", "B", "C")
# Days of silence after which a customer of a tier is due a follow-up (domain.md: A weekly,
# B less often, C nurture); the manager sets the team's own in settings.
CADENCE_DAYS = {"A": 7, "B": 14, "C": 30}
# Company-form words at the end of a name: Latin ones as whole words, Chinese ones as the
# end of the last word (Chinese writes no spaces).
_WORD_SUFFIXES = (
    "co", "ltd", "limited", "inc", "incorporated", "corp", "corporation", "llc", "gmbh",
    "plc", "group", "company",
)  # fmt: skip
_CJK_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "集团", "公司")
_PUNCTUATION = re.compile(r"[\W_]+", re.UNICODE)
SIMILAR = 0.85  # difflib ratio from which two keys are likely one company


def name_key(name: str) -> str:
    """A company name as compared: NFKC, no case, no punctuation or spaces, no company-form
    suffix ("Acme Co., Ltd." -> "acme"); the plain key when nothing else is left."""
    words = _PUNCTUATION.sub(" ", unicodedata.normalize("NFKC", name).casefold()).split()
    plain = "".join(words)
    while len(words) > 1 and words[-1] in _WORD_SUFFIXES:
        words.pop()
    if words:
        for suffix in _CJK_SUFFIXES:
            if words[-1].endswith(suffix) and len(words[-1]) > len(suffix):
                words[-1] = words[-1][: -len(suffix)]
                break
    return "".join(words) or plain


def similar(key: str, others: Iterable[tuple[int, str]], limit: int = 5) -> list[int]:
    """The ids of `others` ((id, name key)) whose key is close to `key`, closest first."""
    scored = []
    for ident, other in others:
        if not key or not other:
            continue
        ratio = difflib.SequenceMatcher(None, key, other).ratio()
        if ratio >= SIMILAR or (min(len(key), len(other)) >= 3 and (key in other or other in key)):
            scored.append((ratio, ident))
    return [ident for _ratio, ident in sorted(scored, reverse=True)[:limit]]
