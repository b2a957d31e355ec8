"""JSON text as json.dumps(value, default=..., separators=(",", ":")) writes it, with orjson:
written on every start and change (the deal's state, its JSON columns), an eighth of json's
time.  The types json hands to `default` (datetimes, dataclasses, subclasses of the plain
types) go there with orjson too; non-ASCII text is written as UTF-8 rather than \\u escapes.
What orjson refuses (an integer beyond 64 bits), json writes, or refuses in its own words.
Read it back with json: orjson reads such an integer as a float.

Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

__all__ = ["dumps"]

_OPTIONS = (
    orjson.OPT_NON_STR_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def dumps(value: Any, *, default: Callable[[Any], Any] | None = None) -> str:
    """`value` as compact JSON text (see the module's docstring)."""
    try:
        return orjson.dumps(value, default=default, option=_OPTIONS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, default=default, separators=(",", ":"))
