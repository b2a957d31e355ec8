"""The engine's one clock.

Engine code asks `now()` for the time; tests move time with time-machine, which SpiffWorkflow
(which reads `datetime.now(timezone.utc)` itself) also follows.
"""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    """A time as ISO 8601 text (None stays None): how records and JSON carry times."""
    return value.isoformat() if value is not None else None


def parse_iso(text: str) -> datetime:
    """Parse an ISO timestamp from SpiffWorkflow; naive values are taken as UTC."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
