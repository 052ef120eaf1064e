"""Writing points and vectors: upsert, update and delete vectors, and the batch of updates."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from zoro.wire.schema import WireRequest

REQUESTS: Final[tuple[WireRequest, ...]] = ()
