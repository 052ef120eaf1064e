"""The routes older clients still send: search, recommend and discover, single, batch and
grouped."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from zoro.wire.schema import WireRequest

REQUESTS: Final[tuple[WireRequest, ...]] = ()
