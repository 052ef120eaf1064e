"""Aliases and update_collection: other names for a collection, and its settings changed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zoro.client import _validate as check
from zoro.client import _wire
from zoro.client._base import ClientBase, encode
from zoro.client._collections import _hnsw
from zoro.client._errors import InvalidInput, ProtocolError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


@dataclass(frozen=True, slots=True)
class CreateAlias:
    """Point `alias` at `collection` (moving it if it names another one)."""

    alias: str
    collection: str


@dataclass(frozen=True, slots=True)
class DeleteAlias:
    """Remove `alias` if there is one."""

    alias: str


@dataclass(frozen=True, slots=True)
class RenameAlias:
    old: str
    new: str


AliasAction = CreateAlias | DeleteAlias | RenameAlias


class AdminMixin(ClientBase):
    async def update_aliases(self, actions: Sequence[AliasAction]) -> None:
        """Apply alias actions all together, or none of them (the server's error raised):

            await client.update_aliases([DeleteAlias("live"), CreateAlias("live", "docs_v2")])

        moves "live" to the new collection in one step: no request sees it missing. Every
        call that takes a collection name takes an alias.

        A list of creates and deletes leaves the same aliases when sent twice, so it is retried
        like a read; one with a rename is not (a second rename finds no old name), so it is
        sent once.

        Raises:
            InvalidInput: a name the server would refuse, or not an alias action (before
                sending).
            NotFound: a collection or (renamed) alias that does not exist.
            Conflict: an alias named like a collection.
        """
        body = {"actions": [self._action_json(a) for a in actions]}
        renames = any(isinstance(a, RenameAlias) for a in actions)
        await self._transport.call(
            "POST", "/collections/aliases", body=check.body(encode(body), self._limits),
            idempotent=not renames,
        )  # fmt: skip

    async def create_alias(self, alias: str, collection: str) -> None:
        await self.update_aliases([CreateAlias(alias, collection)])

    async def delete_alias(self, alias: str) -> None:
        await self.update_aliases([DeleteAlias(alias)])

    async def rename_alias(self, old: str, new: str) -> None:
        await self.update_aliases([RenameAlias(old, new)])

    async def list_aliases(self, collection: str | None = None) -> dict[str, str]:
        """alias -> collection name: every alias, or those of `collection`."""
        if collection is None:
            result: Any = await self._transport.call("GET", "/aliases")
        else:
            result = await self._call(collection, "GET", "/aliases")
        try:
            return {str(a["alias_name"]): str(a["collection_name"]) for a in result["aliases"]}
        except (KeyError, TypeError) as exc:
            raise ProtocolError(f"unexpected alias list: {result!r:.200}") from exc

    async def update_collection(
        self,
        name: str,
        *,
        metadata: Mapping[str, Any] | None = None,
        hnsw_m: int | None = None,
        hnsw_ef_construct: int | None = None,
        full_scan_threshold: int | None = None,
        ef_search: int | None = None,
        deleted_threshold: float | None = None,
        sparse_modifiers: Mapping[str, str | None] | None = None,
    ) -> None:
        """Change a collection's settings; unset ones stay as they are. `metadata` is merged
        into the collection's (a None value removes its key). `hnsw_*` and
        `full_scan_threshold` shape graphs built from now on, `ef_search` is the default
        search breadth, `deleted_threshold` the share of deleted points that has a segment
        rebuilt; `sparse_modifiers` sets sparse vectors' modifier ("idf" or None). Changing the
        graph or the vectors reopens the collection (a moment of 503s); metadata alone does
        not. Sending the same change twice leaves the same state, so it is retried.

        Raises:
            InvalidInput: a bad value (before sending), or a setting the server refuses.
            NotFound: no such collection.
        """
        body: dict[str, Any] = {}
        if metadata is not None:
            body["metadata"] = check.payload(metadata, self._limits, "metadata")
        hnsw = _hnsw(hnsw_m, hnsw_ef_construct, full_scan_threshold, "hnsw")
        if hnsw:
            body["hnsw_config"] = hnsw
        if ef_search is not None:
            body["zoro"] = {
                "ef_search": check.positive(ef_search, "ef_search", high=_wire.HNSW_EF_MAX)
            }
        if deleted_threshold is not None:
            if not isinstance(deleted_threshold, int | float) or not 0 < deleted_threshold <= 1:
                raise InvalidInput("deleted_threshold: a share in (0, 1]")
            body["optimizers_config"] = {"deleted_threshold": float(deleted_threshold)}
        if sparse_modifiers:
            body["sparse_vectors"] = {
                key: {"modifier": _modifier(key, value)} for key, value in sparse_modifiers.items()
            }
        await self._call(name, "PATCH", "", body)
        self._forget(name)  # the vectors' settings may have changed: read them again

    def _action_json(self, action: object) -> dict[str, Any]:
        def named(value: str) -> str:
            return check.collection_name(value, self._limits)

        match action:
            case CreateAlias(alias, collection):
                fields = {"alias_name": named(alias), "collection_name": named(collection)}
                return {"create_alias": fields}
            case DeleteAlias(alias):
                return {"delete_alias": {"alias_name": named(alias)}}
            case RenameAlias(old, new):
                fields = {"old_alias_name": named(old), "new_alias_name": named(new)}
                return {"rename_alias": fields}
        raise InvalidInput(
            f"alias actions: CreateAlias, DeleteAlias or RenameAlias, not {type(action).__name__}"
        )


def _modifier(name: str, value: object) -> str:
    if value not in (None, "idf", "none"):
        raise InvalidInput(f'sparse_modifiers[{name!r}]: "idf" or None')
    return "none" if value is None else str(value)
