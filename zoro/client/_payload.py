"""Payload updates (set, overwrite, delete keys, clear) and batch updates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from zoro.client import _validate as check
from zoro.client._base import ClientBase
from zoro.client._errors import InvalidInput
from zoro.client._filters import filter_
from zoro.client._models import UpdateResult, parsed

if TYPE_CHECKING:
    from zoro.client._filters import Filter
    from zoro.client._validate import Ids

_OPERATIONS = frozenset(
    {
        "upsert",
        "delete",
        "set_payload",
        "overwrite_payload",
        "delete_payload",
        "clear_payload",
        "update_vectors",
        "delete_vectors",
    }
)


class PayloadMixin(ClientBase):
    async def set_payload(
        self,
        collection: str,
        payload: Mapping[str, Any],
        ids: Ids | None = None,
        *,
        filter: Filter | None = None,
        key: str | None = None,
        wait: bool = True,
    ) -> UpdateResult:
        """Merge `payload` into the payload of the points `ids` (or those a `filter` keeps;
        give exactly one): each of its keys replaces the point's, a None removes it. `key`:
        merge into the object at that path instead (`a.b`, `a[0]`, `a[].b`), made if absent.
        Retried: setting again leaves the same state.

        Raises:
            InvalidInput: a payload that is not a JSON object, bad ids, both or neither of
                ids and filter (before sending); a path or filter the server refuses.
            NotFound: no such collection; or a point named by id does not exist (the others
                are updated, as in Qdrant).
        """
        body = self._selected(ids, filter)
        body["payload"] = check.payload(payload, self._limits)
        if key is not None:
            body["key"] = key
        return await self._update(collection, "POST", "/points/payload", body, wait=wait)

    async def overwrite_payload(
        self,
        collection: str,
        payload: Mapping[str, Any],
        ids: Ids | None = None,
        *,
        filter: Filter | None = None,
        wait: bool = True,
    ) -> UpdateResult:
        """Replace the whole payload of the points `ids` (or those a `filter` keeps) with
        `payload`. Raises as set_payload() does."""
        body = self._selected(ids, filter)
        body["payload"] = check.payload(payload, self._limits)
        return await self._update(collection, "PUT", "/points/payload", body, wait=wait)

    async def delete_payload(
        self,
        collection: str,
        keys: Sequence[str],
        ids: Ids | None = None,
        *,
        filter: Filter | None = None,
        wait: bool = True,
    ) -> UpdateResult:
        """Remove the payload keys (paths, as set_payload's `key`) `keys` from the points
        `ids` (or those a `filter` keeps). Raises as set_payload() does."""
        if isinstance(keys, str) or not all(isinstance(k, str) for k in keys):
            raise InvalidInput("keys: must be a list of payload keys (strings)")
        body = self._selected(ids, filter)
        body["keys"] = list(keys)
        return await self._update(collection, "POST", "/points/payload/delete", body, wait=wait)

    async def clear_payload(
        self,
        collection: str,
        ids: Ids | None = None,
        *,
        filter: Filter | None = None,
        wait: bool = True,
    ) -> UpdateResult:
        """Empty the payload of the points `ids` (or those a `filter` keeps). Raises as
        set_payload() does."""
        body = self._selected(ids, filter)
        return await self._update(collection, "POST", "/points/payload/clear", body, wait=wait)

    async def batch_update(
        self, collection: str, operations: Sequence[Mapping[str, Any]], *, wait: bool = True
    ) -> list[UpdateResult]:
        """Apply Qdrant's update operations in order, as one write: all of it survives a
        crash or none. Each operation is one of {"upsert": {...}}, {"delete": {"points" |
        "filter"}}, {"set_payload": {...}}, {"overwrite_payload": {...}}, {"delete_payload":
        {...}}, {"clear_payload": {...}}, {"update_vectors": {...}}, {"delete_vectors": {...}}
        with the body of that route; later operations see what earlier ones did. Not
        retried once sent: the batch as a whole need not be idempotent.

        Raises:
            InvalidInput: an operation that is not one of these (before sending); one the
                server refuses (its message; nothing is written).
            NotFound: no such collection; or a point named by id does not exist (the
                operations before it, and the rest of its own, are written, as in Qdrant).
        """
        checked = []
        for i, op in enumerate(operations):
            if not isinstance(op, Mapping) or len(op) != 1 or next(iter(op)) not in _OPERATIONS:
                raise InvalidInput(
                    f"operations[{i}]: one of {', '.join(sorted(_OPERATIONS))} as the only key"
                )
            checked.append(dict(op))
        check.collection_name(collection, self._limits)
        params = {"wait": "true" if wait else "false"}
        result = await self._call(
            collection,
            "POST",
            "/points/batch",
            {"operations": checked},
            params=params,
            idempotent=False,
        )
        return [parsed(UpdateResult.from_json, item) for item in result]

    def _selected(self, ids: Ids | None, filter: Filter | None) -> dict[str, Any]:
        if (ids is None) == (filter is None):
            raise InvalidInput("give ids or filter=, exactly one of them")
        if filter is not None:
            return {"filter": filter_(filter)}
        assert ids is not None
        id_list = check.point_ids(ids)
        if not id_list:
            raise InvalidInput("ids: name at least one point")
        check.batch_points(len(id_list), self._limits)
        return {"points": id_list}

    async def _update(
        self, collection: str, method: str, suffix: str, body: dict[str, Any], *, wait: bool
    ) -> UpdateResult:
        check.collection_name(collection, self._limits)
        params = {"wait": "true" if wait else "false"}
        result = await self._call(collection, method, suffix, body, params=params)
        return parsed(UpdateResult.from_json, result)
