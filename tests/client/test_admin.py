"""The client's aliases and update_collection against a real server, under trio."""

from __future__ import annotations

import numpy as np
import pytest

from zoro.client import (
    AsyncZoroClient,
    Conflict,
    CreateAlias,
    DeleteAlias,
    InvalidInput,
    NotFound,
    RenameAlias,
    SparseVectorParams,
    VectorParams,
)


async def test_aliases_move_atomically_and_serve_every_call(
    client: AsyncZoroClient, name: str
) -> None:
    old, new, alias = f"{name}_v1", f"{name}_v2", f"{name}_live"
    for collection, shift in ((old, 0.0), (new, 10.0)):
        await client.create_collection(collection, 3, "Euclid")
        await client.upsert_point(collection, 1, [shift, 0.0, 0.0], {"from": collection})
    await client.create_alias(alias, old)
    assert await client.list_aliases(old) == {alias: old}
    assert (await client.get_collection(alias)).points_count == 1
    hits = await client.search(alias, np.zeros(3, np.float32), limit=1, with_payload=True)
    assert hits[0].payload == {"from": old}
    await client.update_aliases([DeleteAlias(alias), CreateAlias(alias, new)])
    hits = await client.search(alias, np.zeros(3, np.float32), limit=1, with_payload=True)
    assert hits[0].payload == {"from": new}
    await client.update_aliases([RenameAlias(alias, f"{alias}2")])
    aliases = await client.list_aliases()
    assert aliases[f"{alias}2"] == new
    assert alias not in aliases
    with pytest.raises(NotFound):
        await client.rename_alias(alias, "x")
    with pytest.raises(Conflict):
        await client.create_alias(old, new)  # an alias cannot shadow a collection
    with pytest.raises(NotFound):
        await client.create_alias("x", f"{name}_missing")
    with pytest.raises(InvalidInput):
        await client.create_alias("a/b", old)  # refused before sending
    with pytest.raises(InvalidInput):
        await client.update_aliases(["create"])  # type: ignore[list-item]
    await client.delete_alias(f"{alias}2")
    assert await client.list_aliases(new) == {}
    await client.delete_collection(old)
    await client.delete_collection(new)


async def test_metadata_and_update_collection(client: AsyncZoroClient, name: str) -> None:
    await client.create_collection(
        name,
        vectors={"v": VectorParams(2, "Dot")},
        sparse_vectors={"words": SparseVectorParams()},
        metadata={"team": "core", "n": 1},
    )
    assert (await client.get_collection(name)).metadata == {"team": "core", "n": 1}
    await client.update_collection(
        name,
        metadata={"n": None, "env": "prod"},
        hnsw_m=12,
        ef_search=40,
        deleted_threshold=0.3,
        sparse_modifiers={"words": "idf"},
    )
    info = await client.get_collection(name)
    assert info.metadata == {"team": "core", "env": "prod"}
    assert info.hnsw.m == 12
    assert info.ef_search == 40
    assert info.sparse_vectors["words"].modifier == "idf"
    await client.update_collection(name, sparse_modifiers={"words": None})
    assert (await client.get_collection(name)).sparse_vectors["words"].modifier is None
    with pytest.raises(InvalidInput, match="deleted_threshold"):
        await client.update_collection(name, deleted_threshold=2.0)
    with pytest.raises(InvalidInput, match="no sparse vector named"):
        await client.update_collection(name, sparse_modifiers={"nope": "idf"})
    with pytest.raises(NotFound):
        await client.update_collection(f"{name}_missing", metadata={"a": 1})
