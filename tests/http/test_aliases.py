"""Aliases against a real server, with qdrant-client (the wire) and compared with its local
mode (the reference): every list of actions applies whole or not at all, every route that takes
a collection name takes an alias, deleting a collection drops its aliases."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import numpy as np
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from tests.http.compare import same_hits

if TYPE_CHECKING:
    from collections.abc import Callable

    from zoro.testing import ServerProcess

DIM = 4


def _create(name: str) -> models.CreateAliasOperation:
    return models.CreateAliasOperation(
        create_alias=models.CreateAlias(
            collection_name=name.split(">")[1], alias_name=name.split(">")[0]
        )
    )


def _rename(old: str, new: str) -> models.RenameAliasOperation:
    return models.RenameAliasOperation(
        rename_alias=models.RenameAlias(old_alias_name=old, new_alias_name=new)
    )


def _delete(alias: str) -> models.DeleteAliasOperation:
    return models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias))


def _aliases(client: QdrantClient, collection: str | None = None) -> list[tuple[str, str]]:
    found = (
        client.get_aliases() if collection is None else client.get_collection_aliases(collection)
    )
    return sorted((a.alias_name, a.collection_name) for a in found.aliases)


def _both(
    local: QdrantClient, remote: QdrantClient, call: Callable[[QdrantClient], object]
) -> tuple[object, object]:
    """The call's answer from each, or the exception's type: both must fail or neither."""
    answers = []
    for client in (local, remote):
        try:
            answers.append(call(client))
        except (ValueError, UnexpectedResponse) as exc:
            answers.append(exc)
    failed = [isinstance(a, Exception) for a in answers]
    assert failed[0] == failed[1], answers
    return answers[0], answers[1]


@pytest.fixture
def pair(server: ServerProcess) -> tuple[QdrantClient, QdrantClient]:
    local = QdrantClient(":memory:")
    remote = QdrantClient(url=server.url, timeout=30)
    for client in (local, remote):
        for name in ("al_a", "al_b"):
            client.delete_collection(name)
            client.create_collection(
                name, vectors_config=models.VectorParams(size=DIM, distance=models.Distance.DOT)
            )
    remote.update_collection_aliases(
        change_aliases_operations=[_delete(a) for a, _ in _aliases(remote)]
    )
    return local, remote


def test_action_lists_apply_whole_or_not_at_all(pair: tuple[QdrantClient, QdrantClient]) -> None:
    local, remote = pair
    steps = [
        [_create("x>al_a")],
        [_create("y>al_b"), _rename("x", "z")],
        [_create("w>al_a"), _create("q>missing")],  # fails: w is not made either
        [_create("w>al_a"), _rename("nope", "r")],  # fails
        [_create("w>al_a"), _create("al_b>al_a")],  # fails: an alias cannot shadow a collection
        [_create("w>al_a"), _rename("y", "al_a")],  # fails, the same
        [_create("w>z")],  # fails: an alias names a collection, not an alias
        [_delete("z"), _delete("never-there")],
        [_create("y>al_a"), _create("v>al_b")],  # y moves to al_a
    ]
    for actions in steps:
        _both(local, remote, lambda c, a=actions: c.update_collection_aliases(a))
        assert _aliases(remote) == _aliases(local), actions
        for name in ("al_a", "al_b", "y", "missing"):
            assert _aliases(remote, name) == _aliases(local, name), (actions, name)
    assert _aliases(remote) == [("v", "al_b"), ("y", "al_a")]


def test_every_route_takes_an_alias(pair: tuple[QdrantClient, QdrantClient]) -> None:
    local, remote = pair
    actions = [_create("by_alias>al_a")]
    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(50, DIM)).astype(np.float32)
    points = [
        models.PointStruct(id=i, vector=v.tolist(), payload={"i": i, "even": i % 2 == 0})
        for i, v in enumerate(vectors)
    ]
    for client in (local, remote):
        client.update_collection_aliases(actions)
        client.upsert("by_alias", points=points, wait=True)
        client.delete("by_alias", points_selector=models.PointIdsList(points=[3, 4]), wait=True)
    remote.create_payload_index("by_alias", "i", models.PayloadSchemaType.INTEGER, wait=True)
    assert remote.collection_exists("by_alias")
    assert local.collection_exists("by_alias")
    assert remote.get_collection("by_alias").points_count == 48
    even = models.Filter(
        must=[models.FieldCondition(key="even", match=models.MatchValue(value=True))]
    )
    for name in ("by_alias", "al_a"):
        assert (
            remote.count(name, count_filter=even).count
            == local.count(name, count_filter=even).count
        )
        got = remote.query_points(name, query=vectors[7].tolist(), limit=5, query_filter=even)
        want = local.query_points(name, query=vectors[7].tolist(), limit=5, query_filter=even)
        same_hits(want.points, got.points)
        assert [p.id for p in remote.retrieve(name, [1, 3, 5])] == [1, 5]
        page, _ = remote.scroll(name, limit=100)
        assert len(page) == 48
    # the collection's own name keeps working beside its alias, and the points are one set
    assert remote.get_collection("al_a").points_count == 48


def test_deleting_a_collection_drops_its_aliases(pair: tuple[QdrantClient, QdrantClient]) -> None:
    local, remote = pair
    actions = [_create("gone1>al_a"), _create("gone2>al_a"), _create("kept>al_b")]
    for client in (local, remote):
        client.update_collection_aliases(actions)
    # deleting by an alias's name deletes nothing (Qdrant: false), and the alias stays
    answers = _both(local, remote, lambda c: c.delete_collection("kept"))
    assert answers == (False, False)
    assert _both(local, remote, lambda c: c.delete_collection("al_a")) == (True, True)
    assert _aliases(remote) == _aliases(local) == [("kept", "al_b")]
    assert not remote.collection_exists("gone1")
    # the names are free again: a new collection may take one
    _both(
        local,
        remote,
        lambda c: c.create_collection(
            "gone1", vectors_config=models.VectorParams(size=DIM, distance=models.Distance.DOT)
        ),
    )
    # but not while an alias holds it
    _both(
        local,
        remote,
        lambda c: c.create_collection(
            "kept", vectors_config=models.VectorParams(size=DIM, distance=models.Distance.DOT)
        ),
    )
    assert remote.get_collection("kept").config.params.vectors.size == DIM  # type: ignore[union-attr]
    for client in (local, remote):
        client.delete_collection("gone1")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"actions": "create"},
        {"actions": [{"create_alias": {"collection_name": "al_a"}}]},
        {"actions": [{"create_alias": {"collection_name": "al_a", "alias_name": 3}}]},
        {"actions": [{"create_alias": {"collection_name": "al_a", "alias_name": "a/b"}}]},
        {"actions": [{"create_alias": {"collection_name": "al_a", "alias_name": "ok", "x": 1}}]},
        {"actions": [{"drop_alias": {"alias_name": "ok"}}]},
        {"actions": [{"delete_alias": {"alias_name": "ok"}, "create_alias": {}}]},
        {"actions": [{"create_alias": {"collection_name": "al_a", "alias_name": "ok"}}, 7]},
        {"actions": [], "extra": True},
    ],
)
def test_bad_input_is_a_400_and_changes_nothing(
    pair: tuple[QdrantClient, QdrantClient], http: httpx.Client, body: dict[str, object]
) -> None:
    _, remote = pair
    before = _aliases(remote)
    r = http.post("/collections/aliases", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["status"]["error"]
    assert _aliases(remote) == before


def test_errors_answer_qdrant_statuses(
    pair: tuple[QdrantClient, QdrantClient], http: httpx.Client
) -> None:
    def post(*actions: dict[str, object]) -> httpx.Response:
        return http.post("/collections/aliases", json={"actions": list(actions)})

    r = post({"create_alias": {"collection_name": "missing", "alias_name": "m"}})
    assert r.status_code == 404
    assert "missing" in r.json()["status"]["error"]
    r = post({"rename_alias": {"old_alias_name": "none", "new_alias_name": "m"}})
    assert r.status_code == 404
    assert "Alias `none`" in r.json()["status"]["error"]
    r = post({"create_alias": {"collection_name": "al_a", "alias_name": "al_b"}})
    assert r.status_code == 409
    assert post({"create_alias": {"collection_name": "al_a", "alias_name": "m"}}).status_code == 200
    r = http.put("/collections/m", json={"vectors": {"size": DIM, "distance": "Dot"}})
    assert r.status_code == 409
    assert "Alias `m`" in r.json()["status"]["error"]
