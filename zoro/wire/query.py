"""The Query API: query and query batch, with groups, the prefetch tree and the query kinds
(nearest, recommend, discover, context, fusion, order_by, sample)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from zoro.wire.schema import WireRequest

REQUESTS: Final[tuple[WireRequest, ...]] = ()
