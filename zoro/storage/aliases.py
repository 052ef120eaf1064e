"""Collection aliases: other names a collection answers to, and the rules for changing them.

An alias names a collection, never another alias, and never takes a collection's name. A list
of actions is applied to a copy of the alias map, so a list with one bad action changes nothing;
the catalog then writes the result as one atomic replace (see catalog.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from zoro.errors import AliasNotFound, CollectionExists, CollectionNotFound

if TYPE_CHECKING:
    from collections.abc import Container, Mapping, Sequence


@dataclass(frozen=True, slots=True)
class CreateAlias:
    """Point `alias` at `collection` (an alias of that name already is moved, as Qdrant does)."""

    alias: str
    collection: str


@dataclass(frozen=True, slots=True)
class DeleteAlias:
    """Remove `alias` if it exists."""

    alias: str


@dataclass(frozen=True, slots=True)
class RenameAlias:
    old: str
    new: str


AliasAction = CreateAlias | DeleteAlias | RenameAlias


def apply_actions(
    aliases: Mapping[str, str], collections: Container[str], actions: Sequence[AliasAction]
) -> dict[str, str]:
    """The alias map after `actions`, in order. `aliases` is left as it was.

    Raises CollectionNotFound (an alias for a missing collection), CollectionExists (an alias
    named like a collection) or AliasNotFound (renaming a missing alias)."""
    result = dict(aliases)
    for action in actions:
        match action:
            case CreateAlias(alias, collection):
                if collection not in collections:
                    raise CollectionNotFound(collection)
                _not_a_collection(alias, collections)
                result[alias] = collection
            case DeleteAlias(alias):
                result.pop(alias, None)
            case RenameAlias(old, new):
                if old not in result:
                    raise AliasNotFound(old)
                _not_a_collection(new, collections)
                result[new] = result.pop(old)
    return result


def _not_a_collection(alias: str, collections: Container[str]) -> None:
    if alias in collections:
        raise CollectionExists(alias)
