"""Qdrant's filter language: the `Filter` component and its conditions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from zoro.wire.schema import Builder, WireRequest

REQUESTS: Final[tuple[WireRequest, ...]] = ()
COMPONENTS: Final[dict[str, Builder]] = {}
