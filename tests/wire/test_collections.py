"""The collection admin schemas agree with what they describe: the payload index types, the
distances, and Qdrant's own settings objects (the same keys at create and at update)."""

from __future__ import annotations

from qdrant_client.http import models

from zoro.payload import SCHEMAS
from zoro.settings import LimitSettings
from zoro.types import Distance
from zoro.wire import bounds
from zoro.wire.requests import request_schemas

SCHEMAS_BY_ROUTE = request_schemas(LimitSettings())


def _properties(schema: dict[str, object]) -> set[str]:
    """The fields of an object schema, also when it is nullable or a union's object branch."""
    for branch in schema.get("anyOf", [schema]):  # type: ignore[attr-defined]
        if "properties" in branch:
            return set(branch["properties"])
    return set()


def test_the_index_types_are_the_payload_indexes() -> None:
    assert set(bounds.INDEX_TYPES) == set(SCHEMAS)


def test_the_distances_are_zoros() -> None:
    assert set(bounds.DISTANCES) == {d.value for d in Distance}


def test_hnsw_config_takes_qdrants_fields_at_create_and_at_update() -> None:
    qdrant = set(models.HnswConfigDiff.model_fields)
    create = SCHEMAS_BY_ROUTE["create_collection"]["properties"]
    update = SCHEMAS_BY_ROUTE["update_collection"]["properties"]
    assert _properties(create["hnsw_config"]) == qdrant
    assert _properties(update["hnsw_config"]) == qdrant
    vector = create["vectors"]["anyOf"][0]["properties"]["hnsw_config"]
    assert _properties(vector) == qdrant


def test_create_names_every_field_qdrant_clients_send() -> None:
    create = set(SCHEMAS_BY_ROUTE["create_collection"]["properties"])
    # payload and id_tracker placement: refused as unknown, as before the schema
    assert create - {"zoro"} == set(models.CreateCollection.model_fields) - {
        "payload",
        "id_tracker",
    } | {"init_from"}
