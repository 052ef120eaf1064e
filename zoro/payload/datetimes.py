"""RFC 3339-like datetimes as Qdrant reads them, into UTC seconds.

Qdrant's server accepts a fixed set of layouts (qdrant-client's local mode lists them, and is
the reference here), not everything ISO 8601 allows: Python's `datetime.fromisoformat` would
also take `20240101`, `2024-W01-1` or `2024-01-01T00`, which the server refuses, and refuse
` 2024-01-01`, `2024-01-01t00:00:00z` or `... UTC`, which it takes. The layouts:

    date                        YYYY-M[M]-D[D]
    date + time                 date (T|t|spaces) H[H]:M[M]
    date + time + seconds       ... :S[S] [.fraction] [[spaces] offset]

with leading whitespace ignored, any run of whitespace where a space is written (as the server
skips it), a fraction of any length (cut to microseconds), and an offset that is `Z` (either
case), ` UTC` at the very end, `+HH`, `+HHMM` or `+HH:MM`. A datetime without an offset is UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Final

_LAYOUT: Final = re.compile(
    r"""\s*(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})
    (?:(?:[Tt]|\s+)(?P<hour>\d{1,2}):(?P<minute>\d{1,2})
      (?::(?P<second>\d{1,2})(?:\.(?P<fraction>\d+))?
        (?:\s*(?P<offset>[Zz]|UTC|[+-]\d{2}(?::?\d{2})?))?
      )?
    )?""",
    re.VERBOSE,
)


def parse_datetime(text: str) -> float | None:
    """`text` as UTC seconds, or None when it is not a datetime Qdrant reads."""
    found = _LAYOUT.fullmatch(text)
    if found is None:
        return None
    part = found.groupdict()
    offset = part["offset"]
    if offset is not None and offset.endswith("UTC") and not text.endswith(" UTC"):
        return None  # "UTC" is only taken as ` UTC`, a space before it
    try:
        moment = datetime(
            int(part["year"]),
            int(part["month"]),
            int(part["day"]),
            int(part["hour"] or 0),
            int(part["minute"] or 0),
            int(part["second"] or 0),
            int((part["fraction"] or "0")[:6].ljust(6, "0")),
            tzinfo=_zone(offset),
        )
    except ValueError:  # a month 13, a 25th hour, an offset of 24 hours or more
        return None
    return moment.timestamp()


def _zone(offset: str | None) -> timezone:
    if offset is None or offset in ("Z", "z") or offset.endswith("UTC"):
        return UTC
    sign = -1 if offset[0] == "-" else 1
    digits = offset[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + (int(digits[2:]) if len(digits) > 2 else 0)
    return timezone(sign * timedelta(minutes=minutes))
