"""Collection operations: create, get, list, exists, delete; payload indexes."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from zoro.client import _validate as check
from zoro.client import _vectors as vec
from zoro.client import _wire
from zoro.client._base import ClientBase
from zoro.client._errors import Conflict, InvalidInput, ProtocolError
from zoro.client._models import (
    TOKENIZERS,
    CollectionInfo,
    HnswParams,
    SparseVectorParams,
    TextIndexParams,
    UpdateResult,
    VectorParams,
    parsed,
)
from zoro.client._transport import CallTrace

if TYPE_CHECKING:
    from zoro.client._models import Distance, Engine


class CollectionsMixin(ClientBase):
    async def create_collection(
        self,
        name: str,
        dimension: int | None = None,
        distance: Distance = "Cosine",
        *,
        vectors: Mapping[str, VectorParams] | None = None,
        sparse_vectors: Mapping[str, SparseVectorParams] | None = None,
        engine: Engine = "hnsw",
        hnsw_m: int | None = None,
        hnsw_ef_construct: int | None = None,
        full_scan_threshold: int | None = None,
        ef_search: int | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Create a collection: of `dimension`-long vectors (one unnamed dense vector), or of
        named `vectors` (name -> VectorParams: size, distance, its own `hnsw_config`,
        `on_disk`, `multivector`; the name "" is the unnamed one), and/or `sparse_vectors`
        (name -> SparseVectorParams, `modifier="idf"` for BM25-like weighting). With none of
        them, the points carry no vectors (payloads only).

            await client.create_collection(
                "docs",
                vectors={"text": VectorParams(384, "Cosine"),
                         "colbert": VectorParams(128, "Dot", multivector=True)},
                sparse_vectors={"words": SparseVectorParams(modifier="idf")},
            )

        `engine` "hnsw" (approximate, the default) or "flat" (exact). `hnsw_m`,
        `hnsw_ef_construct` and `full_scan_threshold` shape the HNSW graph of every dense
        vector that does not set its own; `ef_search` is the default search breadth. Unset
        values take the server's defaults. `metadata`: any JSON object, kept with the
        collection and shown by get_collection (update_collection changes it).

        Creating is not idempotent: a second create of the same name is a 409. It is retried
        anyway when an answer was lost (a timeout or a dropped connection after sending), and if
        the retry then meets 409 the client reads the collection back: the same vectors (sizes,
        distances, multivector or not, sparse names and modifiers) and engine mean the lost
        attempt (or an identical concurrent create, which the client cannot tell apart) made
        it, and the call succeeds; anything else raises Conflict.

        Raises:
            InvalidInput: a bad name, dimension, distance, vector declaration or engine setting,
                `dimension` and `vectors` both given, or a name both dense and sparse (before
                sending).
            Conflict: the collection already exists.
            Unavailable, Overloaded, ServerError: as for every call.
        """
        dense = _dense_declarations(dimension, distance, vectors, self._limits.max_dimension)
        sparse = _sparse_declarations(sparse_vectors, dense)
        body = _create_body(dense, sparse, dimension is not None)
        body.update(_engine_body(engine, hnsw_m, hnsw_ef_construct, full_scan_threshold, ef_search))
        if metadata is not None:
            body["metadata"] = check.payload(metadata, self._limits, "metadata")
        trace = CallTrace()
        try:
            await self._call(name, "PUT", "", body, trace=trace)
        except Conflict:
            if not (trace.attempts > 1 and trace.outcome_unknown):
                raise
            info = await self.get_collection(name)
            if _shape_of(info) != (_wanted(dense), sparse, engine):
                raise Conflict(
                    f"Collection `{name}` already exists with other vectors or engine "
                    f"(dimension {info.dimension}, distance {info.distance}, named "
                    f"{sorted(info.vectors)}, sparse {sorted(info.sparse_vectors)}, engine "
                    f"{info.engine}; a retry after a lost answer found it)",
                    status=409,
                ) from None
        self._vector_params[name] = dict(dense)

    async def get_collection(self, name: str) -> CollectionInfo:
        """Describe a collection (and refresh the client's record of its dimension).

        Raises:
            NotFound: no such collection.
        """
        info = CollectionInfo.from_json(name, await self._call(name, "GET", ""))
        self._remember(info)
        return info

    async def list_collections(self) -> list[str]:
        """The names of all collections.

        Raises:
            Only what every call may raise (see AsyncZoroClient).
        """
        result: Any = await self._transport.call("GET", "/collections")
        try:
            return [str(c["name"]) for c in result["collections"]]
        except (KeyError, TypeError) as exc:
            raise ProtocolError(f"unexpected collection list: {result!r:.200}") from exc

    async def collection_exists(self, name: str) -> bool:
        """Whether a collection of that name exists (False, not NotFound, when it does not).

        Raises:
            InvalidInput: a name the server would refuse (before sending).
        """
        return bool((await self._call(name, "GET", "/exists"))["exists"])

    async def delete_collection(self, name: str) -> bool:
        """Delete a collection and its data. True if it existed, False if there was none.

        Retried like a read: deleting twice leaves the same state. After a lost answer, the
        retry may find nothing left and report False although this call did the deleting.

        Raises:
            InvalidInput: a name the server would refuse (before sending).
        """
        self._forget(name)
        return bool(await self._call(name, "DELETE", ""))

    async def create_payload_index(
        self,
        collection: str,
        field: str,
        schema: str | Mapping[str, Any] | TextIndexParams,
        *,
        wait: bool = True,
    ) -> UpdateResult:
        """Index a payload key (dotted paths and `name[]` as in filters) so that filters on it
        need not scan payloads. `schema`: keyword, integer, float, bool, uuid, datetime, geo or
        text (the types Zoro-DB serves), Qdrant's {"type": ..., ...} form, or TextIndexParams (a
        full-text index with its tokenizer, stopwords, stemmer...; `match: {"text": ...}`,
        `{"text_any": ...}` and `{"phrase": ...}` filters on the key then use it). With `wait`,
        returns once the index is built; otherwise once it is declared (durably) and building.
        Creating the same index again changes nothing, so it is retried.

        Raises:
            InvalidInput: an empty field, a schema that is not a string or {"type": ...}, or
                TextIndexParams out of range (before sending); a schema or key the server
                refuses (its message).
            NotFound: no such collection.
        """
        body = {"field_name": _field(field), "field_schema": _schema(schema)}
        params = {"wait": "true" if wait else "false"}
        result = await self._call(collection, "PUT", "/index", body, params=params)
        return parsed(UpdateResult.from_json, result)

    async def delete_payload_index(
        self, collection: str, field: str, *, wait: bool = True
    ) -> UpdateResult:
        """Drop a payload key's index (filters on the key then scan payloads). Dropping one
        that does not exist changes nothing; retried.

        Raises:
            InvalidInput: an empty field (before sending).
            NotFound: no such collection.
        """
        suffix = "/index/" + urllib.parse.quote(_field(field), safe="")
        params = {"wait": "true" if wait else "false"}
        result = await self._call(collection, "DELETE", suffix, params=params)
        return parsed(UpdateResult.from_json, result)


def _field(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInput('field: a payload key such as "lang", "meta.lang" or "tags[]"')
    return value


def _schema(value: object) -> str | dict[str, Any]:
    if isinstance(value, TextIndexParams):
        return _text_schema(value)
    if isinstance(value, str) and value:
        return value
    if isinstance(value, Mapping) and isinstance(value.get("type"), str):
        return dict(value)
    raise InvalidInput(
        "schema: a type name (keyword, integer, float, bool, uuid, datetime, geo, text) "
        'or {"type": ...}'
    )


def _text_schema(params: TextIndexParams) -> dict[str, Any]:
    if params.tokenizer is not None and params.tokenizer not in TOKENIZERS:
        raise InvalidInput(f"schema.tokenizer: one of {', '.join(TOKENIZERS)}")
    for name in ("min_token_len", "max_token_len"):
        value = getattr(params, name)
        if value is not None and (type(value) is not int or value < 0):
            raise InvalidInput(f"schema.{name}: a whole number of characters, 0 or more")
    stopwords = params.stopwords
    words = [params.stemmer] if params.stemmer is not None else []
    words += [stopwords] if isinstance(stopwords, str) else list(stopwords or ())
    if not all(isinstance(w, str) and w for w in [*words, *params.custom_stopwords]):
        raise InvalidInput("schema: stemmer and stopwords name languages; custom stopwords: words")
    return params.to_json()


def _dense_declarations(
    dimension: int | None,
    distance: str,
    vectors: Mapping[str, VectorParams] | None,
    max_dimension: int,
) -> dict[str, VectorParams]:
    """The dense vectors to declare, by name ("" for `dimension`), checked."""
    if dimension is not None and vectors is not None:
        raise InvalidInput("create_collection: give dimension or vectors=, not both")
    if dimension is not None:
        unnamed = VectorParams(dimension, distance)
        return {"": _declared(unnamed, "vectors", "dimension", max_dimension)}
    if vectors is None:
        return {}
    if not isinstance(vectors, Mapping):
        raise InvalidInput("vectors: a mapping of name -> VectorParams")
    out: dict[str, VectorParams] = {}
    for key, params in vectors.items():
        where = f"vectors[{vec.vector_name(key, 'vectors')!r}]"
        if not isinstance(params, VectorParams):
            raise InvalidInput(f"{where}: must be a VectorParams, not {type(params).__name__}")
        out[key] = _declared(params, where, f"{where}.size", max_dimension)
    return out


def _declared(
    params: VectorParams, where: str, size_field: str, max_dimension: int
) -> VectorParams:
    check.positive(params.size, size_field, high=max_dimension)
    check.distance(str(params.distance))
    hnsw = params.hnsw_config
    if hnsw is not None:
        if not isinstance(hnsw, HnswParams):
            raise InvalidInput(f"{where}.hnsw_config: must be an HnswParams")
        _hnsw(hnsw.m, hnsw.ef_construct, hnsw.full_scan_threshold, f"{where}.hnsw_config")
    if params.on_disk is not None and not isinstance(params.on_disk, bool):
        raise InvalidInput(f"{where}.on_disk: must be True, False or None")
    if not isinstance(params.multivector, bool):
        raise InvalidInput(f"{where}.multivector: must be True or False")
    return params


def _sparse_declarations(
    sparse: Mapping[str, SparseVectorParams] | None, dense: Mapping[str, VectorParams]
) -> dict[str, SparseVectorParams]:
    if sparse is None:
        return {}
    if not isinstance(sparse, Mapping):
        raise InvalidInput("sparse_vectors: a mapping of name -> SparseVectorParams")
    out: dict[str, SparseVectorParams] = {}
    for key, params in sparse.items():
        where = f"sparse_vectors[{vec.vector_name(key, 'sparse_vectors')!r}]"
        if key in dense:
            raise InvalidInput(f"{where}: a dense vector has that name already")
        if not isinstance(params, SparseVectorParams) or params.modifier not in (None, "idf"):
            raise InvalidInput(f'{where}: a SparseVectorParams (modifier None or "idf")')
        out[key] = params
    return out


def _create_body(
    dense: Mapping[str, VectorParams], sparse: Mapping[str, SparseVectorParams], bare: bool
) -> dict[str, Any]:
    """Qdrant's create body: `vectors` as bare params for the one unnamed vector made from a
    dimension, else as {name: params} ({} for none), plus `sparse_vectors` when declared."""
    named = {k: _params_json(v) for k, v in dense.items()}
    body: dict[str, Any] = {"vectors": named[""] if bare else named}
    if sparse:
        body["sparse_vectors"] = {
            k: {} if v.modifier is None else {"modifier": v.modifier} for k, v in sparse.items()
        }
    return body


def _params_json(params: VectorParams) -> dict[str, Any]:
    out: dict[str, Any] = {"size": int(params.size), "distance": str(params.distance)}
    if params.hnsw_config is not None and params.hnsw_config.to_json():
        out["hnsw_config"] = params.hnsw_config.to_json()
    if params.on_disk is not None:
        out["on_disk"] = params.on_disk
    if params.multivector:
        out["multivector_config"] = {"comparator": "max_sim"}
    return out


def _engine_body(
    engine: str,
    hnsw_m: int | None,
    hnsw_ef_construct: int | None,
    full_scan_threshold: int | None,
    ef_search: int | None,
) -> dict[str, Any]:
    if engine not in ("hnsw", "flat"):
        raise InvalidInput(f"engine {engine!r}: use 'hnsw' or 'flat'")
    body: dict[str, Any] = {}
    hnsw = _hnsw(hnsw_m, hnsw_ef_construct, full_scan_threshold, "hnsw")
    if hnsw:
        body["hnsw_config"] = hnsw
    zoro: dict[str, Any] = {"engine": engine}
    if ef_search is not None:
        zoro["ef_search"] = check.positive(ef_search, "ef_search", high=_wire.HNSW_EF_MAX)
    body["zoro"] = zoro
    return body


def _hnsw(
    m: int | None, ef_construct: int | None, full_scan_threshold: int | None, where: str
) -> dict[str, int]:
    hnsw: dict[str, int] = {}
    for key, value, low in (
        ("m", m, _wire.HNSW_M_MIN),
        ("ef_construct", ef_construct, _wire.HNSW_EF_CONSTRUCT_MIN),
        ("full_scan_threshold", full_scan_threshold, 0),
    ):
        if value is not None:
            hnsw[key] = check.positive(value, f"{where} {key}", low=low, high=_wire.HNSW_PARAM_MAX)
    return hnsw


def _wanted(dense: Mapping[str, VectorParams]) -> dict[str, tuple[int, str, bool]]:
    return {k: (v.size, str(v.distance), v.multivector) for k, v in dense.items()}


def _shape_of(
    info: CollectionInfo,
) -> tuple[dict[str, tuple[int, str, bool]], dict[str, SparseVectorParams], str]:
    """What create_collection compares after a lost answer: the vectors and the engine."""
    dense = dict(info.vectors)
    if info.vector is not None:
        dense[""] = info.vector
    return _wanted(dense), dict(info.sparse_vectors), info.engine
