"""LangChain (langchain-qdrant's QdrantVectorStore) on qdrant-client local mode and on Zoro."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_qdrant import QdrantVectorStore, RetrievalMode, SparseEmbeddings, SparseVector
from qdrant_client import models

from tests.frameworks.conftest import (
    LOCAL,
    QDRANT_CLIENT_WARNINGS,
    Backend,
    backends,
    fresh_name,
)
from tests.frameworks.corpus import DOCS, QUERIES, Doc
from tests.frameworks.fakes import Answer, Ranking, assert_same_answers, dense, ordered, sparse

pytestmark = QDRANT_CLIENT_WARNINGS


class HashEmbeddings(Embeddings):
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [dense(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return dense(text)


class HashSparseEmbeddings(SparseEmbeddings):
    def embed_documents(self, texts: list[str]) -> list[SparseVector]:
        return [self.embed_query(text) for text in texts]

    def embed_query(self, text: str) -> SparseVector:
        indices, values = sparse(text)
        return SparseVector(indices=indices, values=values)


def ranked(hits: list[tuple[Document, float]]) -> Ranking:
    return [(str(doc.metadata["_id"]), score) for doc, score in hits]


def doc_ids(docs: list[Document]) -> list[str]:
    return [str(doc.metadata["_id"]) for doc in docs]


def build(backend: Backend, mode: RetrievalMode = RetrievalMode.DENSE) -> QdrantVectorStore:
    """from_texts with the first twelve documents, then add_texts with the other four."""
    first, rest = DOCS[:12], DOCS[12:]
    store = QdrantVectorStore.from_texts(
        [d.text for d in first],
        embedding=None if mode is RetrievalMode.SPARSE else HashEmbeddings(),
        sparse_embedding=None if mode is RetrievalMode.DENSE else HashSparseEmbeddings(),
        retrieval_mode=mode,
        metadatas=[d.metadata for d in first],
        ids=[d.id for d in first],
        collection_name=fresh_name("lc"),
        location=backend.location,
        url=backend.url,
        timeout=30,
    )
    added = store.add_texts(
        [d.text for d in rest], metadatas=[d.metadata for d in rest], ids=[d.id for d in rest]
    )
    assert added == [d.id for d in rest]
    return store


def dense_flow(backend: Backend) -> Answer:
    store = build(backend)
    answer: Answer = {}
    for query in QUERIES:
        answer[f"scored {query}"] = ranked(store.similarity_search_with_score(query, k=4))
        docs = store.similarity_search(query, k=4)
        assert all(doc.page_content and doc.metadata["topic"] for doc in docs)
        answer[f"plain {query}"] = ordered(doc_ids(docs))
    return answer


@pytest.mark.parametrize("backend", backends(), indirect=True)
def test_from_texts_add_texts_and_search(backend: Backend) -> None:
    answer = dense_flow(backend)
    assert answer["scored cat on a mat"][0][0] == DOCS[0].id  # the search means something
    if not backend.local:
        assert_same_answers(answer, dense_flow(LOCAL))


def options_flow(backend: Backend, distance: models.Distance) -> Answer:
    """Other distances, score_threshold, offset, search params and MMR, through one store."""
    store = QdrantVectorStore.from_texts(
        [d.text for d in DOCS],
        HashEmbeddings(),
        metadatas=[d.metadata for d in DOCS],
        ids=[d.id for d in DOCS],
        collection_name=fresh_name("lcd"),
        distance=distance,
        location=backend.location,
        url=backend.url,
        timeout=30,
    )
    answer: Answer = {}
    for query in QUERIES:
        hits = store.similarity_search_with_score(query, k=5)
        answer[f"{distance.value} {query}"] = ranked(hits)
        # Halfway between the third and fourth scores: keeps three. A threshold equal to a
        # score is test_score_threshold_equal_to_a_score's business.
        between = (hits[2][1] + hits[3][1]) / 2
        hits = store.similarity_search_with_score(query, k=5, score_threshold=between)
        answer[f"{distance.value} threshold {query}"] = ranked(hits)
        hits = store.similarity_search_with_score(query, k=3, offset=2)
        answer[f"{distance.value} offset {query}"] = ranked(hits)
        exact = models.SearchParams(exact=True, hnsw_ef=64)
        hits = store.similarity_search_with_score(query, k=3, search_params=exact)
        answer[f"{distance.value} exact {query}"] = ranked(hits)
        hits = store.max_marginal_relevance_search_with_score_by_vector(
            dense(query), k=3, fetch_k=8, lambda_mult=0.5
        )
        answer[f"{distance.value} mmr {query}"] = ranked(hits)
    return answer


@pytest.mark.parametrize(
    "distance", [models.Distance.COSINE, models.Distance.EUCLID, models.Distance.DOT]
)
@pytest.mark.parametrize("backend", backends(), indirect=True)
def test_distances_threshold_offset(backend: Backend, distance: models.Distance) -> None:
    answer = options_flow(backend, distance)
    assert answer[f"{distance.value} cat on a mat"][0][0] == DOCS[0].id
    if not backend.local:
        assert_same_answers(answer, options_flow(LOCAL, distance))


def threshold_flow(backend: Backend, distance: models.Distance) -> Answer:
    """score_threshold set to a score the backend itself returned: is that point kept?"""
    store = QdrantVectorStore.from_texts(
        [d.text for d in DOCS],
        HashEmbeddings(),
        ids=[d.id for d in DOCS],
        collection_name=fresh_name("lct"),
        distance=distance,
        location=backend.location,
        url=backend.url,
        timeout=30,
    )
    answer: Answer = {}
    for query in QUERIES:
        third = store.similarity_search_with_score(query, k=5)[2][1]
        hits = store.similarity_search_with_score(query, k=5, score_threshold=third)
        answer[f"{distance.value} threshold {query}"] = ranked(hits)
    return answer


# Qdrant keeps a point only if its score passes the threshold strictly (score > threshold, or <
# for Euclid; local mode does the same), and so does Zoro (zoro/services/search.py, _shape).
@pytest.mark.parametrize("distance", [models.Distance.COSINE, models.Distance.EUCLID])
@pytest.mark.parametrize("backend", backends(), indirect=True)
def test_score_threshold_equal_to_a_score(backend: Backend, distance: models.Distance) -> None:
    answer = threshold_flow(backend, distance)
    assert all(len(ranking) == 2 for ranking in answer.values())  # the third point is dropped
    if not backend.local:
        assert_same_answers(answer, threshold_flow(LOCAL, distance))


def filter_flow(backend: Backend) -> Answer:
    store = build(backend)
    cooking = models.FieldCondition(key="metadata.topic", match=models.MatchValue(value="cooking"))
    recent = models.FieldCondition(key="metadata.year", range=models.Range(gte=2021))
    pets = models.FieldCondition(key="metadata.tags", match=models.MatchAny(any=["pets", "moon"]))
    filters = {
        "cooking": models.Filter(must=[cooking]),
        "recent pets": models.Filter(must=[pets, recent]),
        "not cooking": models.Filter(must_not=[cooking]),
        "cooking or recent": models.Filter(should=[cooking, recent]),
    }
    return {
        f"{name} {query}": ranked(store.similarity_search_with_score(query, k=3, filter=f))
        for name, f in filters.items()
        for query in QUERIES
    }


@pytest.mark.parametrize("backend", backends(), indirect=True)
def test_metadata_filter(backend: Backend) -> None:
    answer = filter_flow(backend)
    cooking = {d.id for d in DOCS if d.topic == "cooking"}
    assert all(pid in cooking for pid, _ in answer["cooking cat on a mat"])
    assert len(answer["recent pets walking on the moon"]) == 1  # the dog (2021, pets)
    if not backend.local:
        assert_same_answers(answer, filter_flow(LOCAL))


def mmr_flow(backend: Backend) -> Answer:
    store = build(backend)
    answer: Answer = {}
    for query in QUERIES:
        docs = store.max_marginal_relevance_search(query, k=3, fetch_k=8, lambda_mult=0.5)
        answer[f"mmr {query}"] = ordered(doc_ids(docs))
        hits = store.max_marginal_relevance_search_with_score_by_vector(
            dense(query), k=3, fetch_k=8, lambda_mult=0.2
        )
        answer[f"mmr scored {query}"] = ranked(hits)
    return answer


@pytest.mark.parametrize("backend", backends(), indirect=True)
def test_max_marginal_relevance_search(backend: Backend) -> None:
    answer = mmr_flow(backend)
    assert all(len(ranking) == 3 for ranking in answer.values())
    if not backend.local:
        assert_same_answers(answer, mmr_flow(LOCAL))


def retriever_flow(backend: Backend) -> Answer:
    store = build(backend)
    similarity = store.as_retriever(search_kwargs={"k": 3})
    mmr = store.as_retriever(search_type="mmr", search_kwargs={"k": 3, "fetch_k": 8})
    answer: Answer = {}
    for query in QUERIES:
        answer[f"similarity {query}"] = ordered(doc_ids(similarity.invoke(query)))
        answer[f"mmr {query}"] = ordered(doc_ids(mmr.invoke(query)))
    return answer


@pytest.mark.parametrize("backend", backends(), indirect=True)
def test_retrievers(backend: Backend) -> None:
    answer = retriever_flow(backend)
    assert answer["similarity python dict keys"][0][0] == DOCS[13].id
    if not backend.local:
        assert_same_answers(answer, retriever_flow(LOCAL))


def get_and_delete_flow(backend: Backend) -> Answer:
    store = build(backend)
    gone: list[str | int] = [DOCS[0].id, DOCS[4].id]
    got = store.get_by_ids([*gone, DOCS[8].id])
    assert sorted(doc.page_content for doc in got) == sorted(
        [DOCS[0].text, DOCS[4].text, DOCS[8].text]
    )
    # A UUID given without dashes is the same point; Qdrant answers with the dashed form.
    plain = uuid.uuid5(uuid.NAMESPACE_URL, "plain").hex
    store.add_texts(["a plain id for a lazy cat"], metadatas=[{"topic": "animals"}], ids=[plain])
    answer = {"plain id": ordered(doc_ids(store.get_by_ids([plain])))}
    assert store.delete(gone) is True
    assert doc_ids(store.get_by_ids(gone)) == []
    for query in QUERIES:
        answer[f"after delete {query}"] = ranked(store.similarity_search_with_score(query, k=4))
    return answer


@pytest.mark.parametrize("backend", backends(), indirect=True)
def test_get_by_ids_and_delete(backend: Backend) -> None:
    answer = get_and_delete_flow(backend)
    assert all(pid not in (DOCS[0].id, DOCS[4].id) for r in answer.values() for pid, _ in r)
    if not backend.local:
        assert_same_answers(answer, get_and_delete_flow(LOCAL))


async def _async_flow(store: QdrantVectorStore) -> Answer:
    extra = [Doc("a lazy cat sleeps on the sofa", "animals", 2023, ["pets"])]
    ids = await store.aadd_texts(
        [d.text for d in extra], metadatas=[d.metadata for d in extra], ids=[d.id for d in extra]
    )
    assert ids == [extra[0].id]
    answer: Answer = {}
    for query in QUERIES:
        docs = await store.asimilarity_search(query, k=3)
        answer[f"async {query}"] = ordered(doc_ids(docs))
        hits = await store.asimilarity_search_with_score(query, k=3)
        answer[f"async scored {query}"] = ranked(hits)
        docs = await store.amax_marginal_relevance_search(query, k=3, fetch_k=8)
        answer[f"async mmr {query}"] = ordered(doc_ids(docs))
    assert await store.adelete([extra[0].id]) is True
    answer["async get after delete"] = ordered(doc_ids(await store.aget_by_ids([extra[0].id])))
    return answer


def async_flow(backend: Backend) -> Answer:
    # langchain-qdrant's async methods are langchain-core's defaults: the sync ones in an
    # executor of the running asyncio loop (the tests run under trio, so asyncio.run it is).
    return asyncio.run(_async_flow(build(backend)))


@pytest.mark.parametrize("backend", backends(), indirect=True)
def test_async_add_and_search(backend: Backend) -> None:
    answer = async_flow(backend)
    assert answer["async cat on a mat"][0][0] == DOCS[0].id
    if not backend.local:
        assert_same_answers(answer, async_flow(LOCAL))


def existing_collection_flow(backend: Backend, tmp_path: Path) -> Answer:
    # Local mode keeps a :memory: database per client, so reopening needs an on-disk one.
    path = str(tmp_path / "local") if backend.local else None
    name = fresh_name("lcx")
    first = QdrantVectorStore.from_texts(
        [d.text for d in DOCS],
        HashEmbeddings(),
        metadatas=[d.metadata for d in DOCS],
        ids=[d.id for d in DOCS],
        collection_name=name,
        path=path,
        url=backend.url,
        timeout=30,
    )
    first.client.close()  # local mode: one client at a time holds the directory
    store = QdrantVectorStore.from_existing_collection(
        name, HashEmbeddings(), path=path, url=backend.url, timeout=30
    )
    return {
        f"reopened {query}": ranked(store.similarity_search_with_score(query, k=4))
        for query in QUERIES
    }


@pytest.mark.parametrize("backend", backends(), indirect=True)
def test_from_existing_collection(backend: Backend, tmp_path: Path) -> None:
    answer = existing_collection_flow(backend, tmp_path)
    assert answer["reopened bread in the oven"][0][0] == DOCS[4].id
    if not backend.local:
        assert_same_answers(answer, existing_collection_flow(LOCAL, tmp_path / "ref"))


def sparse_flow(
    backend: Backend, mode: RetrievalMode, fusion: models.Fusion = models.Fusion.RRF
) -> Answer:
    store = build(backend, mode)
    cooking = models.Filter(
        must=[models.FieldCondition(key="metadata.topic", match=models.MatchValue(value="cooking"))]
    )
    fused = models.FusionQuery(fusion=fusion)
    answer: Answer = {}
    for query in QUERIES:
        hits = store.similarity_search_with_score(query, k=4, hybrid_fusion=fused)
        answer[f"{mode.value} {query}"] = ranked(hits)
        hits = store.similarity_search_with_score(query, k=2, filter=cooking, hybrid_fusion=fused)
        answer[f"{mode.value} cooking {query}"] = ranked(hits)
    return answer


@pytest.mark.parametrize("backend", backends(), indirect=True)
def test_sparse_mode(backend: Backend) -> None:
    answer = sparse_flow(backend, RetrievalMode.SPARSE)
    assert answer["sparse bread in the oven"][0][0] == DOCS[4].id
    if not backend.local:
        assert_same_answers(answer, sparse_flow(LOCAL, RetrievalMode.SPARSE))


@pytest.mark.parametrize("backend", backends(), indirect=True)
def test_hybrid_mode(backend: Backend) -> None:
    answer = sparse_flow(backend, RetrievalMode.HYBRID)
    assert answer["hybrid bread in the oven"][0][0] == DOCS[4].id
    if not backend.local:
        assert_same_answers(answer, sparse_flow(LOCAL, RetrievalMode.HYBRID))


@pytest.mark.parametrize("backend", backends(), indirect=True)
def test_hybrid_mode_dbsf(backend: Backend) -> None:
    answer = sparse_flow(backend, RetrievalMode.HYBRID, models.Fusion.DBSF)
    assert answer["hybrid bread in the oven"][0][0] == DOCS[4].id
    if not backend.local:
        assert_same_answers(answer, sparse_flow(LOCAL, RetrievalMode.HYBRID, models.Fusion.DBSF))
