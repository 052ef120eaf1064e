"""Text in, vectors out: add_texts and search_text on top of an Embedder."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import anyio

from zoro.client import _validate as check
from zoro.client import _vectors as vec
from zoro.client._embed import MiniLMEmbedder, checked_embeddings
from zoro.client._errors import InvalidInput
from zoro.client._points import PointsMixin
from zoro.client._search import SearchMixin

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    import numpy as np
    import numpy.typing as npt

    from zoro.client._embed import Embedder
    from zoro.client._filters import Filter
    from zoro.client._models import PointId, ScoredPoint


class TextsMixin(SearchMixin, PointsMixin):
    @property
    def embedder(self) -> Embedder:
        """The embedder given to the client, else the built-in MiniLM (made on first use)."""
        if self._embedder is None:
            self._embedder = MiniLMEmbedder()
        return self._embedder

    async def add_texts(
        self,
        collection: str,
        texts: Sequence[str],
        payloads: Iterable[dict[str, Any] | None] | None = None,
        *,
        ids: Iterable[object] | None = None,
        batch_size: int = 64,
        text_field: str | None = "text",
        using: str | None = None,
    ) -> list[PointId]:
        """Embed `texts` and upsert them; returns their ids (random UUIDs unless given).

        Each payload gets the text under `text_field` (None: not stored). Embedding runs in a
        worker thread, `batch_size` texts at a time, each batch upserted as it is ready.
        `using`: store the embeddings as this named dense vector (default: the unnamed one).

        Raises:
            InvalidInput: a text that is not a string, or ids/payloads that do not match.
            EmbedderUnavailable: no embedder given and the `embed` extra is not installed.
            And what upsert() raises.
        """
        check.collection_name(collection, self._limits)
        check.positive(batch_size, "batch_size", high=self._limits.max_batch_points)
        items = list(texts)
        for i, text in enumerate(items):
            if not isinstance(text, str):
                raise InvalidInput(f"texts[{i}]: must be a string")
        id_list: list[PointId] = (
            [str(uuid.uuid4()) for _ in items] if ids is None else check.point_ids(ids, "ids")
        )
        documents = _documents(items, payloads, text_field)
        if len(id_list) != len(items):
            raise InvalidInput(f"{len(id_list)} ids for {len(items)} texts")
        for s in range(0, len(items), batch_size):
            vectors: Any = await self._embed(items[s : s + batch_size])
            if using is not None:
                vectors = {vec.vector_name(using): vectors}
            await self.upsert(
                collection, id_list[s : s + batch_size], vectors, documents[s : s + batch_size]
            )
        return id_list

    async def search_text(
        self,
        collection: str,
        text: str,
        *,
        filter: Filter | None = None,
        limit: int = 10,
        offset: int = 0,
        with_payload: bool = True,
        score_threshold: float | None = None,
        using: str | None = None,
    ) -> list[ScoredPoint]:
        """The points nearest to `text`'s embedding, best first (among those `filter` keeps);
        `using`: the named dense vector the texts were added as.

        Raises:
            EmbedderUnavailable: no embedder given and the `embed` extra is not installed.
            And what search() raises.
        """
        if not isinstance(text, str):
            raise InvalidInput("text: must be a string")
        check.collection_name(collection, self._limits)
        vectors = await self._embed([text])
        return await self.search(
            collection,
            vectors[0],
            filter=filter,
            limit=limit,
            offset=offset,
            with_payload=with_payload,
            score_threshold=score_threshold,
            using=using,
        )

    async def _embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        embedder = self.embedder
        # Model inference blocks for milliseconds to seconds: keep it off the event loop.
        vectors = await anyio.to_thread.run_sync(embedder.embed, texts)
        return checked_embeddings(vectors, len(texts), embedder)


def _documents(
    texts: list[str], payloads: Iterable[dict[str, Any] | None] | None, text_field: str | None
) -> list[dict[str, Any]]:
    given = [None] * len(texts) if payloads is None else list(payloads)
    if len(given) != len(texts):
        raise InvalidInput(f"{len(given)} payloads for {len(texts)} texts")
    documents: list[dict[str, Any]] = []
    for i, (text, payload) in enumerate(zip(texts, given, strict=True)):
        if payload is not None and not isinstance(payload, dict):
            raise InvalidInput(f"payloads[{i}]: must be a dict or None")
        document = dict(payload or {})
        if text_field is not None:
            document[text_field] = text
        documents.append(document)
    return documents
