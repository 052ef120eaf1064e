"""Haystack (qdrant-haystack's QdrantDocumentStore and retrievers) on local mode and on Zoro."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from haystack import Document
from haystack.dataclasses.sparse_embedding import SparseEmbedding
from haystack.document_stores.types import DuplicatePolicy
from haystack_integrations.components.retrievers.qdrant import (
    QdrantEmbeddingRetriever,
    QdrantHybridRetriever,
    QdrantSparseEmbeddingRetriever,
)
from haystack_integrations.document_stores.qdrant import QdrantDocumentStore

from tests.frameworks.conftest import (
    LOCAL,
    QDRANT_CLIENT_WARNINGS,
    Backend,
    backends,
    fresh_name,
)
from tests.frameworks.corpus import DOCS, QUERIES
from tests.frameworks.fakes import DIM, Answer, Ranking, assert_same_answers, dense, ordered, sparse

pytestmark = QDRANT_CLIENT_WARNINGS

FILTERS: dict[str, dict[str, Any]] = {
    "topic": {"field": "meta.topic", "operator": "==", "value": "cooking"},
    "not topic": {"field": "meta.topic", "operator": "!=", "value": "cooking"},
    "in": {"field": "meta.topic", "operator": "in", "value": ["space", "code"]},
    "range": {
        "operator": "AND",
        "conditions": [
            {"field": "meta.year", "operator": ">=", "value": 2020},
            {"field": "meta.year", "operator": "<", "value": 2022},
        ],
    },
    "or": {
        "operator": "OR",
        "conditions": [
            {"field": "meta.topic", "operator": "==", "value": "space"},
            {"field": "meta.year", "operator": "<=", "value": 2018},
        ],
    },
    "not": {
        "operator": "NOT",
        "conditions": [{"field": "meta.topic", "operator": "in", "value": ["space", "code"]}],
    },
}


def documents(*, with_sparse: bool = False) -> list[Document]:
    return [
        Document(
            content=d.text,
            meta=d.metadata,
            embedding=dense(d.text),
            sparse_embedding=SparseEmbedding(*sparse(d.text)) if with_sparse else None,
        )
        for d in DOCS
    ]


def store_for(backend: Backend, **options: Any) -> QdrantDocumentStore:
    return QdrantDocumentStore(
        location=backend.location,
        url=backend.url,
        timeout=30,
        index=fresh_name("hs"),
        embedding_dim=DIM,
        similarity="cosine",
        progress_bar=False,
        **options,
    )


def ranked(docs: list[Document]) -> Ranking:
    return [(doc.id, doc.score if doc.score is not None else 0.0) for doc in docs]


def ids_of(docs: list[Document]) -> list[str]:
    return sorted(doc.id for doc in docs)


def id_of_text(store_docs: list[Document], text: str) -> str:
    return next(doc.id for doc in store_docs if doc.content == text)


def store_flow(backend: Backend) -> Answer:
    store = store_for(backend)
    docs = documents()
    assert store.write_documents(docs) == len(DOCS)
    answer: Answer = {"count": ordered([store.count_documents()])}
    # filter_documents scrolls in point-id order (Qdrant's scroll order): compared as returned
    answer["all"] = ordered([doc.id for doc in store.filter_documents()])
    for name, f in FILTERS.items():
        answer[f"filter {name}"] = ordered(ids_of(store.filter_documents(filters=f)))
    retriever = QdrantEmbeddingRetriever(document_store=store, top_k=4)
    scaled = QdrantEmbeddingRetriever(document_store=store, top_k=3, scale_score=True)
    for q in QUERIES:
        answer[f"retrieve {q}"] = ranked(retriever.run(query_embedding=dense(q))["documents"])
        answer[f"scaled {q}"] = ranked(scaled.run(query_embedding=dense(q))["documents"])
        for name in ("topic", "range", "not"):
            out = retriever.run(query_embedding=dense(q), filters=FILTERS[name], top_k=2)
            answer[f"retrieve {name} {q}"] = ranked(out["documents"])
    # Stored vectors come back as stored: normalised, for cosine (Qdrant normalises on upsert).
    with_vectors = QdrantEmbeddingRetriever(document_store=store, top_k=2, return_embedding=True)
    for q in QUERIES:
        for doc in with_vectors.run(query_embedding=dense(q))["documents"]:
            assert doc.embedding is not None
            answer[f"embedding {q} {doc.id}"] = ordered([round(x, 4) for x in doc.embedding])
    gone = [id_of_text(docs, DOCS[4].text), id_of_text(docs, DOCS[9].text)]
    store.delete_documents(gone)
    answer["count after delete"] = ordered([store.count_documents()])
    for q in QUERIES:
        hits = retriever.run(query_embedding=dense(q))["documents"]
        answer[f"after delete {q}"] = ranked(hits)
    return answer


@pytest.mark.parametrize("backend", backends(), indirect=True)
def test_write_filter_retrieve_delete(backend: Backend) -> None:
    answer = store_flow(backend)
    assert answer["count"] == ordered([len(DOCS)])
    assert answer["count after delete"] == ordered([len(DOCS) - 2])
    assert len(answer["filter topic"]) == 4
    if not backend.local:
        assert_same_answers(answer, store_flow(LOCAL))


def admin_flow(backend: Backend) -> Answer:
    """The document store's other calls: by id, by filter, duplicates, metadata, clearing."""
    store = store_for(backend)
    docs = documents()
    store.write_documents(docs)
    answer: Answer = {}
    got = store.get_documents_by_id([docs[0].id, docs[5].id, "no-such-id"])
    answer["by id"] = ordered(sorted(doc.id for doc in got))
    answer["count cooking"] = ordered([store.count_documents_by_filter(FILTERS["topic"])])
    # write_documents' duplicate policies: SKIP leaves the stored one, OVERWRITE replaces it
    changed = Document(
        id=docs[0].id,
        content=docs[0].content,
        meta={"topic": "changed"},
        embedding=docs[1].embedding,
    )
    answer["skip"] = ordered([store.write_documents([changed], policy=DuplicatePolicy.SKIP)])
    answer["overwrite"] = ordered(
        [store.write_documents([changed], policy=DuplicatePolicy.OVERWRITE)]
    )
    answer["changed"] = ordered(
        ids_of(
            store.filter_documents({"field": "meta.topic", "operator": "==", "value": "changed"})
        )
    )
    retriever = QdrantEmbeddingRetriever(document_store=store, top_k=3)
    answer["after overwrite"] = ranked(
        retriever.run(query_embedding=dense(QUERIES[0]))["documents"]
    )
    updated = store.update_by_filter(FILTERS["in"], {"reviewed": True})
    answer["updated"] = ordered([updated])
    reviewed = {"field": "meta.reviewed", "operator": "==", "value": True}
    answer["reviewed"] = ordered(ids_of(store.filter_documents(reviewed)))
    answer["reviewed search"] = ranked(
        retriever.run(query_embedding=dense(QUERIES[3]), filters=reviewed)["documents"]
    )
    answer["year range"] = ordered(sorted(store.get_metadata_field_min_max("meta.year").values()))
    answer["deleted by filter"] = ordered([store.delete_by_filter(FILTERS["topic"])])
    answer["count after delete"] = ordered([store.count_documents()])
    store.delete_all_documents()
    answer["count after clear"] = ordered([store.count_documents()])
    # recreate_index rebuilds the collection from what get_collection reports of it
    store.write_documents(docs[:3])
    store.delete_all_documents(recreate_index=True)
    store.write_documents(docs[3:6])
    answer["count after recreate"] = ordered([store.count_documents()])
    answer["after recreate"] = ranked(retriever.run(query_embedding=dense(QUERIES[1]))["documents"])
    return answer


@pytest.mark.parametrize("backend", backends(), indirect=True)
def test_store_administration(backend: Backend) -> None:
    answer = admin_flow(backend)
    assert answer["by id"] == ordered(sorted([documents()[0].id, documents()[5].id]))
    assert answer["skip"] == ordered([0])
    assert answer["overwrite"] == ordered([1])
    assert answer["updated"] == ordered([8])
    assert answer["count after clear"] == ordered([0])
    if not backend.local:
        assert_same_answers(answer, admin_flow(LOCAL))


def no_embedding_flow(backend: Backend) -> Answer:
    store = store_for(backend)
    bare = Document(content="a note with no embedding", meta={"topic": "notes", "year": 2024})
    store.write_documents([*documents()[:4], bare])
    retriever = QdrantEmbeddingRetriever(document_store=store, top_k=10)
    answer = {"count": ordered([store.count_documents()])}
    answer["notes"] = ordered(
        ids_of(store.filter_documents({"field": "meta.topic", "operator": "==", "value": "notes"}))
    )
    answer.update(
        {
            f"retrieve {q}": ranked(retriever.run(query_embedding=dense(q))["documents"])
            for q in QUERIES
        }
    )
    return answer


@pytest.mark.parametrize("backend", backends(), indirect=True)
def test_documents_without_embedding(backend: Backend) -> None:
    answer = no_embedding_flow(backend)
    assert answer["count"] == ordered([5])
    assert len(answer["notes"]) == 1
    assert all(len(answer[f"retrieve {q}"]) == 4 for q in QUERIES)  # the bare note is never found
    if not backend.local:
        assert_same_answers(answer, no_embedding_flow(LOCAL))


def sparse_flow(backend: Backend, *, fusion: bool, **rrf: Any) -> Answer:
    """A store with named dense and sparse vectors; with `fusion`, the hybrid retriever too."""
    store = store_for(backend, use_sparse_embeddings=True)
    store.write_documents(documents(with_sparse=True))
    dense_only = QdrantEmbeddingRetriever(document_store=store, top_k=3)
    sparse_only = QdrantSparseEmbeddingRetriever(document_store=store, top_k=3)
    hybrid = QdrantHybridRetriever(document_store=store, top_k=3, **rrf)
    answer: Answer = {}
    for q in QUERIES:
        vec, sparse_vec = dense(q), SparseEmbedding(*sparse(q))
        answer[f"dense {q}"] = ranked(dense_only.run(query_embedding=vec)["documents"])
        hits = sparse_only.run(query_sparse_embedding=sparse_vec)["documents"]
        answer[f"sparse {q}"] = ranked(hits)
        if not fusion:
            continue
        hits = hybrid.run(query_embedding=vec, query_sparse_embedding=sparse_vec)["documents"]
        answer[f"hybrid {q}"] = ranked(hits)
        hits = hybrid.run(
            query_embedding=vec, query_sparse_embedding=sparse_vec, filters=FILTERS["not"]
        )["documents"]
        answer[f"hybrid not {q}"] = ranked(hits)
    return answer


def bread_id() -> str:
    return id_of_text(documents(with_sparse=True), DOCS[4].text)  # the id hashes the embeddings


@pytest.mark.parametrize("backend", backends(), indirect=True)
def test_sparse_retriever(backend: Backend) -> None:
    answer = sparse_flow(backend, fusion=False)
    assert answer["sparse bread in the oven"][0][0] == bread_id()
    if not backend.local:
        assert_same_answers(answer, sparse_flow(LOCAL, fusion=False))


@pytest.mark.parametrize("backend", backends(), indirect=True)
def test_hybrid_retriever(backend: Backend) -> None:
    answer = sparse_flow(backend, fusion=True)
    assert answer["hybrid bread in the oven"][0][0] == bread_id()
    if not backend.local:
        assert_same_answers(answer, sparse_flow(LOCAL, fusion=True))


@pytest.mark.parametrize("backend", backends(), indirect=True)
def test_hybrid_retriever_rrf_k(backend: Backend) -> None:
    answer = sparse_flow(backend, fusion=True, rrf_k=10)
    assert answer["hybrid bread in the oven"][0][0] == bread_id()
    if not backend.local:
        assert_same_answers(answer, sparse_flow(LOCAL, fusion=True, rrf_k=10))


def group_flow(backend: Backend) -> Answer:
    store = store_for(backend)
    store.write_documents(documents())
    retriever = QdrantEmbeddingRetriever(
        document_store=store, top_k=3, group_by="meta.topic", group_size=2
    )
    return {
        f"groups {q}": ranked(retriever.run(query_embedding=dense(q))["documents"]) for q in QUERIES
    }


@pytest.mark.parametrize("backend", backends(), indirect=True)
def test_group_by(backend: Backend) -> None:
    answer = group_flow(backend)
    assert all(len(ranking) == 6 for ranking in answer.values())  # three topics, two hits each
    if not backend.local:
        assert_same_answers(answer, group_flow(LOCAL))


async def _async_flow(backend: Backend) -> Answer:
    store = store_for(backend)
    assert await store.write_documents_async(documents()) == len(DOCS)
    retriever = QdrantEmbeddingRetriever(document_store=store, top_k=3)
    answer: Answer = {"count": ordered([await store.count_documents_async()])}
    for q in QUERIES:
        hits = await retriever.run_async(query_embedding=dense(q), filters=FILTERS["not"])
        answer[f"async {q}"] = ranked(hits["documents"])
    return answer


def async_flow(backend: Backend) -> Answer:
    return asyncio.run(_async_flow(backend))


@pytest.mark.parametrize("backend", backends(), indirect=True)
def test_async_write_and_retrieve(backend: Backend) -> None:
    answer = async_flow(backend)
    assert answer["count"] == ordered([len(DOCS)])
    if not backend.local:
        assert_same_answers(answer, async_flow(LOCAL))
