"""LlamaIndex (llama-index-vector-stores-qdrant) on qdrant-client local mode and on Zoro."""

from __future__ import annotations

import asyncio

import pytest
from llama_index.core import StorageContext, VectorStoreIndex
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import (
    BaseNode,
    NodeRelationship,
    NodeWithScore,
    RelatedNodeInfo,
    TextNode,
)
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
)
from llama_index.vector_stores.qdrant import QdrantVectorStore

from tests.frameworks.conftest import (
    LOCAL,
    QDRANT_CLIENT_WARNINGS,
    Backend,
    backends,
    fresh_name,
)
from tests.frameworks.corpus import DOCS, QUERIES
from tests.frameworks.fakes import Answer, Ranking, assert_same_answers, dense, ordered, sparse

pytestmark = QDRANT_CLIENT_WARNINGS


class HashEmbedding(BaseEmbedding):
    """An offline embed model: `fakes.dense` for texts and queries alike."""

    def _get_text_embedding(self, text: str) -> list[float]:
        return dense(text)

    def _get_query_embedding(self, query: str) -> list[float]:
        return dense(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return dense(query)


def sparse_fn(texts: list[str]) -> tuple[list[list[int]], list[list[float]]]:
    """LlamaIndex's sparse encoder shape: (indices per text, values per text)."""
    pairs = [sparse(text) for text in texts]
    return [i for i, _ in pairs], [v for _, v in pairs]


def ref_doc(topic: str) -> str:
    return f"doc-{topic}"


def nodes() -> list[BaseNode]:
    """One node per corpus text, embedded up front; a topic is one source document."""
    return [
        TextNode(
            id_=d.id,
            text=d.text,
            metadata=d.metadata,
            embedding=dense(d.text),
            relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=ref_doc(d.topic))},
        )
        for d in DOCS
    ]


def ranked(hits: list[NodeWithScore]) -> Ranking:
    return [(hit.node.node_id, hit.score or 0.0) for hit in hits]


def build(backend: Backend, *, hybrid: bool = False) -> tuple[QdrantVectorStore, VectorStoreIndex]:
    store = QdrantVectorStore(
        collection_name=fresh_name("li"),
        client=backend.client(),
        enable_hybrid=hybrid,
        sparse_doc_fn=sparse_fn if hybrid else None,
        sparse_query_fn=sparse_fn if hybrid else None,
    )
    context = StorageContext.from_defaults(vector_store=store)
    index = VectorStoreIndex(nodes(), storage_context=context, embed_model=HashEmbedding())
    return store, index


def retrieve_flow(backend: Backend) -> Answer:
    _, index = build(backend)
    retriever = index.as_retriever(similarity_top_k=4)
    return {f"retrieve {q}": ranked(retriever.retrieve(q)) for q in QUERIES}


@pytest.mark.parametrize("backend", backends(), indirect=True)
def test_index_and_retrieve(backend: Backend) -> None:
    answer = retrieve_flow(backend)
    assert answer["retrieve walking on the moon"][0][0] == DOCS[9].id
    if not backend.local:
        assert_same_answers(answer, retrieve_flow(LOCAL))


FILTERS = {
    "topic": MetadataFilters(filters=[MetadataFilter(key="topic", value="cooking")]),
    "year range": MetadataFilters(
        filters=[
            MetadataFilter(key="year", value=2020, operator=FilterOperator.GTE),
            MetadataFilter(key="year", value=2021, operator=FilterOperator.LT),
        ]
    ),
    "in": MetadataFilters(
        filters=[MetadataFilter(key="topic", value=["space", "code"], operator=FilterOperator.IN)]
    ),
    "ne or tag": MetadataFilters(
        filters=[
            MetadataFilter(key="topic", value="animals", operator=FilterOperator.NE),
            MetadataFilter(key="tags", value="pets"),
        ],
        condition=FilterCondition.OR,
    ),
    "nested": MetadataFilters(
        filters=[
            MetadataFilter(key="year", value=2019, operator=FilterOperator.GT),
            MetadataFilters(
                filters=[
                    MetadataFilter(key="topic", value="space"),
                    MetadataFilter(key="topic", value="animals"),
                ],
                condition=FilterCondition.OR,
            ),
        ]
    ),
}


def filter_flow(backend: Backend, filters: dict[str, MetadataFilters]) -> Answer:
    _, index = build(backend)
    answer: Answer = {}
    for name, f in filters.items():
        retriever = index.as_retriever(similarity_top_k=3, filters=f)
        for q in QUERIES:
            answer[f"{name} {q}"] = ranked(retriever.retrieve(q))
    return answer


@pytest.mark.parametrize("backend", backends(), indirect=True)
def test_metadata_filters(backend: Backend) -> None:
    answer = filter_flow(backend, FILTERS)
    cooking = {d.id for d in DOCS if d.topic == "cooking"}
    assert {pid for pid, _ in answer["topic cat on a mat"]} <= cooking
    assert answer["year range python dict keys"][0][0] == DOCS[12].id
    if not backend.local:
        assert_same_answers(answer, filter_flow(LOCAL, FILTERS))


TEXT_FILTERS = {
    "text": MetadataFilters(
        filters=[MetadataFilter(key="topic", value="cook", operator=FilterOperator.TEXT_MATCH)]
    )
}


@pytest.mark.parametrize("backend", backends(), indirect=True)
def test_text_match_filter(backend: Backend) -> None:
    answer = filter_flow(backend, TEXT_FILTERS)
    cooking = {d.id for d in DOCS if d.topic == "cooking"}
    assert {pid for pid, _ in answer["text cat on a mat"]} <= cooking
    if not backend.local:
        assert_same_answers(answer, filter_flow(LOCAL, TEXT_FILTERS))


def delete_flow(backend: Backend) -> Answer:
    store, index = build(backend)
    index.delete_ref_doc(ref_doc("space"))
    retriever = index.as_retriever(similarity_top_k=4)
    answer = {f"after delete {q}": ranked(retriever.retrieve(q)) for q in QUERIES}
    got = store.get_nodes(node_ids=[DOCS[8].id, DOCS[0].id])
    answer["get_nodes"] = ordered([node.node_id for node in got])
    return answer


@pytest.mark.parametrize("backend", backends(), indirect=True)
def test_delete_ref_doc(backend: Backend) -> None:
    answer = delete_flow(backend)
    space = {d.id for d in DOCS if d.topic == "space"}
    assert not space & {pid for ranking in answer.values() for pid, _ in ranking}
    assert answer["get_nodes"] == ordered([DOCS[0].id])
    if not backend.local:
        assert_same_answers(answer, delete_flow(LOCAL))


def nodes_flow(backend: Backend) -> Answer:
    """get_nodes and delete_nodes by id and by filter, queries narrowed by node and doc ids."""
    store, index = build(backend)
    answer: Answer = {}
    got = store.get_nodes(filters=FILTERS["topic"])
    answer["get cooking"] = ordered(sorted(node.node_id for node in got))
    got = store.get_nodes(node_ids=[DOCS[1].id, DOCS[14].id])
    answer["get by id"] = ordered(sorted(node.node_id for node in got))
    for node in got:  # the vectors come back as stored (normalised for cosine)
        assert node.embedding is not None
        answer[f"embedding {node.node_id}"] = ordered([round(x, 4) for x in node.embedding])
    vec = dense(QUERIES[0])
    for name, query in {
        "node ids": VectorStoreQuery(
            query_embedding=vec, similarity_top_k=3, node_ids=[d.id for d in DOCS[4:10]]
        ),
        "doc ids": VectorStoreQuery(
            query_embedding=vec, similarity_top_k=3, doc_ids=[ref_doc("code"), ref_doc("space")]
        ),
    }.items():
        result = store.query(query)
        assert result.ids is not None
        assert result.similarities is not None
        answer[name] = list(zip(result.ids, result.similarities, strict=True))
    store.delete_nodes(node_ids=[DOCS[0].id, DOCS[9].id])
    store.delete_nodes(filters=FILTERS["year range"])
    retriever = index.as_retriever(similarity_top_k=4)
    answer.update({f"after delete {q}": ranked(retriever.retrieve(q)) for q in QUERIES})
    store.clear()
    answer["exists after clear"] = ordered([store.client.collection_exists(store.collection_name)])
    return answer


@pytest.mark.parametrize("backend", backends(), indirect=True)
def test_get_and_delete_nodes(backend: Backend) -> None:
    answer = nodes_flow(backend)
    assert len(answer["get cooking"]) == 4
    assert answer["get by id"] == ordered(sorted([DOCS[1].id, DOCS[14].id]))
    assert answer["exists after clear"] == ordered([False])
    if not backend.local:
        assert_same_answers(answer, nodes_flow(LOCAL))


async def _async_flow(backend: Backend) -> Answer:
    # Only an async client: in local mode a sync and an async :memory: client do not share data.
    store = QdrantVectorStore(collection_name=fresh_name("lia"), aclient=backend.aclient())
    await store.async_add(nodes())
    index = VectorStoreIndex.from_vector_store(store, embed_model=HashEmbedding())
    retriever = index.as_retriever(similarity_top_k=3)
    answer = {f"async {q}": ranked(await retriever.aretrieve(q)) for q in QUERIES}
    await store.adelete(ref_doc("cooking"))
    answer.update(
        {f"async after delete {q}": ranked(await retriever.aretrieve(q)) for q in QUERIES}
    )
    return answer


def async_flow(backend: Backend) -> Answer:
    return asyncio.run(_async_flow(backend))


@pytest.mark.parametrize("backend", backends(), indirect=True)
def test_async_add_query_delete(backend: Backend) -> None:
    answer = async_flow(backend)
    assert answer["async bread in the oven"][0][0] == DOCS[4].id
    assert answer["async after delete bread in the oven"][0][0] != DOCS[4].id
    if not backend.local:
        assert_same_answers(answer, async_flow(LOCAL))


def hybrid_flow(backend: Backend) -> Answer:
    _, index = build(backend, hybrid=True)
    answer: Answer = {}
    for mode in ("hybrid", "sparse", "default"):
        retriever = index.as_retriever(
            vector_store_query_mode=mode, similarity_top_k=3, sparse_top_k=5, alpha=0.5
        )
        answer.update({f"{mode} {q}": ranked(retriever.retrieve(q)) for q in QUERIES})
    return answer


@pytest.mark.parametrize("backend", backends(), indirect=True)
def test_hybrid(backend: Backend) -> None:
    answer = hybrid_flow(backend)
    assert answer["hybrid bread in the oven"][0][0] == DOCS[4].id
    assert answer["sparse bread in the oven"][0][0] == DOCS[4].id
    if not backend.local:
        assert_same_answers(answer, hybrid_flow(LOCAL))
