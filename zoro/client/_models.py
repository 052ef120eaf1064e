"""What the client returns: small frozen records built from the server's Qdrant-shaped JSON.

Vectors come back as tuples of floats (immutable and comparable; `numpy.asarray(p.vector)` when
you need an array). Payloads are the decoded JSON objects as the server stored them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from zoro.client import _wire
from zoro.client._errors import ProtocolError

if TYPE_CHECKING:
    from collections.abc import Callable

PointId = int | str
"""A point id as the server returns it: an unsigned 64-bit int or a canonical UUID string."""

Distance = Literal["Cosine", "Euclid", "Dot", "Manhattan"]
Engine = Literal["hnsw", "flat"]
DISTANCES: tuple[str, ...] = _wire.DISTANCES  # the members of Distance

T = TypeVar("T")


def parsed(parse: Callable[[Any], T], data: Any) -> T:
    """`parse(data)`, with a malformed answer reported as the server's fault."""
    try:
        return parse(data)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ProtocolError(f"unexpected answer from the server: {data!r:.200}") from exc


@dataclass(frozen=True, slots=True)
class SparseVector:
    """A sparse vector: the nonzero `values` at `indices` (unique, 0..2^32-1). A plain dict
    {"indices": [...], "values": [...]} is accepted wherever a SparseVector is."""

    indices: tuple[int, ...]
    values: tuple[float, ...]

    @classmethod
    def from_json(cls, data: Any) -> SparseVector:
        return cls(tuple(data["indices"]), tuple(data["values"]))


DenseVector = tuple[float, ...]
MultiVector = tuple[tuple[float, ...], ...]
"""A multivector as returned: its rows (each of the vector's size), for MaxSim."""
Vector = DenseVector | SparseVector | MultiVector
"""One returned vector: dense (floats), sparse (SparseVector) or a multivector (rows)."""


def vector_out(data: Any) -> Vector:
    """One returned vector in the form its shape says: a mapping is sparse, a list of lists a
    multivector, a list of numbers dense."""
    if isinstance(data, Mapping):
        return SparseVector.from_json(data)
    if data and isinstance(data[0], list):
        return tuple(tuple(map(float, row)) for row in data)
    return tuple(map(float, data))


def vectors_out(data: Any) -> tuple[DenseVector | None, dict[str, Vector] | None]:
    """A returned point's `vector`: the bare unnamed one, or named ones ({name: vector}; `{}`
    for a point that carries none). The first item is the unnamed dense vector, whichever way
    it came; an unnamed multivector is only in the second, under the name ""."""
    if data is None:
        return None, None
    if isinstance(data, Mapping):
        named = {str(name): vector_out(v) for name, v in data.items() if v is not None}
        unnamed = named.get("")  # Qdrant's name for the unnamed vector
        return (unnamed if _is_dense(unnamed) else None), named  # type: ignore[return-value]
    one = vector_out(data)
    if _is_dense(one):
        return one, None  # type: ignore[return-value]
    return None, {"": one}


def _is_dense(value: object) -> bool:
    return isinstance(value, tuple) and not (value and isinstance(value[0], tuple))


@dataclass(frozen=True, slots=True)
class HnswConfig:
    m: int
    ef_construct: int
    full_scan_threshold: int


@dataclass(frozen=True, slots=True)
class HnswParams:
    """HNSW settings for one dense vector, overriding the collection's (None: not set)."""

    m: int | None = None
    ef_construct: int | None = None
    full_scan_threshold: int | None = None

    def to_json(self) -> dict[str, int]:
        return {k: v for k in HNSW_KEYS if (v := getattr(self, k)) is not None}

    @classmethod
    def from_json(cls, data: Any) -> HnswParams | None:
        if not data:
            return None
        return cls(*(None if data.get(k) is None else int(data[k]) for k in HNSW_KEYS))


HNSW_KEYS = ("m", "ef_construct", "full_scan_threshold")


@dataclass(frozen=True, slots=True)
class VectorParams:
    """A dense vector's declaration: its size and distance, optionally its own HNSW settings
    (`hnsw_config`), `on_disk`, and `multivector` (each point holds a matrix of rows of `size`
    numbers, compared by MaxSim: Qdrant's `multivector_config: {"comparator": "max_sim"}`)."""

    size: int
    distance: Distance | str = "Cosine"
    hnsw_config: HnswParams | None = None
    on_disk: bool | None = None
    multivector: bool = False

    @classmethod
    def from_json(cls, data: Any) -> VectorParams:
        multi = data.get("multivector_config")
        on_disk = data.get("on_disk")
        return cls(
            int(data["size"]),
            str(data["distance"]),
            HnswParams.from_json(data.get("hnsw_config")),
            None if on_disk is None else bool(on_disk),
            bool(multi) and multi.get("comparator", "max_sim") == "max_sim",
        )


Tokenizer = Literal["word", "whitespace", "prefix", "multilingual"]
TOKENIZERS: tuple[Tokenizer, ...] = ("word", "whitespace", "prefix", "multilingual")


@dataclass(frozen=True, slots=True)
class TextIndexParams:
    """A full-text payload index (Qdrant's TextIndexParams), for `create_payload_index`.

    `stopwords`: a language ("english") or several plus your own words; `stemmer`: a Snowball
    language ("english"); `phrase_matching` keeps token positions, for fast `phrase` matches.
    Unset fields (None) take the server's defaults (word tokenizer, lowercased)."""

    tokenizer: Tokenizer | None = None
    lowercase: bool | None = None
    ascii_folding: bool | None = None
    min_token_len: int | None = None
    max_token_len: int | None = None
    phrase_matching: bool | None = None
    stopwords: str | Sequence[str] | None = None
    custom_stopwords: Sequence[str] = ()
    stemmer: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The wire form: {"type": "text", ...} with the fields that are set."""
        out: dict[str, Any] = {"type": "text"}
        for name in (
            "tokenizer",
            "lowercase",
            "ascii_folding",
            "phrase_matching",
            "min_token_len",
            "max_token_len",
        ):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        stopwords = self.stopwords
        if self.custom_stopwords or not (stopwords is None or isinstance(stopwords, str)):
            languages = [stopwords] if isinstance(stopwords, str) else list(stopwords or ())
            out["stopwords"] = {"languages": languages, "custom": list(self.custom_stopwords)}
        elif stopwords is not None:
            out["stopwords"] = stopwords
        if self.stemmer is not None:
            out["stemmer"] = {"type": "snowball", "language": self.stemmer}
        return out


@dataclass(frozen=True, slots=True)
class SparseVectorParams:
    """A sparse vector's declaration; `modifier="idf"` weighs each index by its inverse
    document frequency at search time (for BM25-like scoring)."""

    modifier: Literal["idf"] | None = None

    @classmethod
    def from_json(cls, data: Any) -> SparseVectorParams:
        modifier = (data or {}).get("modifier")
        return cls("idf" if modifier == "idf" else None)


@dataclass(frozen=True, slots=True)
class CollectionInfo:
    """GET /collections/{name}, flattened to what is worth reading."""

    name: str
    dimension: int
    distance: str
    status: str  # green | yellow (points still being indexed) | red (failed)
    points_count: int
    indexed_vectors_count: int
    segments_count: int
    engine: str
    hnsw: HnswConfig
    # Named dense vectors and sparse vectors, for collections that have them; `dimension` and
    # `distance` describe the unnamed vector (named "" on the wire; 0 and "" here if the
    # collection has none), and `vector` declares it whole (None: there is none).
    vectors: dict[str, VectorParams] = field(default_factory=dict)
    sparse_vectors: dict[str, SparseVectorParams] = field(default_factory=dict)
    # Indexed payload keys -> their schema ("keyword", "integer", ...).
    payload_schema: dict[str, str] = field(default_factory=dict)
    vector: VectorParams | None = None
    # The collection's own JSON metadata (given on create, merged by update_collection).
    metadata: dict[str, Any] | None = None
    ef_search: int | None = None  # the default search breadth, if the server says

    def params(self, name: str) -> VectorParams | None:
        """The dense vector called `name` ("" the unnamed one), or None if there is none."""
        return self.vector if name == "" else self.vectors.get(name)

    @classmethod
    def from_json(cls, name: str, data: Any) -> CollectionInfo:
        try:
            config = data["config"]
            params = config["params"]
            vectors = dict(params.get("vectors") or {})
            # the unnamed vector: the plain form {"size", "distance"}, or the name "" in the
            # named form (Qdrant's name for it)
            raw = vectors if "size" in vectors else vectors.pop("", None)
            plain = None if raw is None else VectorParams.from_json(raw)
            named = {} if "size" in vectors else vectors
            hnsw = config["hnsw_config"]
            return cls(
                name=name,
                dimension=0 if plain is None else plain.size,
                distance="" if plain is None else str(plain.distance),
                status=str(data["status"]),
                points_count=int(data.get("points_count") or 0),
                indexed_vectors_count=int(data.get("indexed_vectors_count") or 0),
                segments_count=int(data["segments_count"]),
                engine=str((data.get("zoro") or {}).get("engine", "hnsw")),
                hnsw=HnswConfig(
                    int(hnsw["m"]), int(hnsw["ef_construct"]), int(hnsw["full_scan_threshold"])
                ),
                vectors={str(k): VectorParams.from_json(v) for k, v in named.items()},
                sparse_vectors={
                    str(k): SparseVectorParams.from_json(v)
                    for k, v in (params.get("sparse_vectors") or {}).items()
                },
                payload_schema={
                    str(k): str(v.get("data_type", "")) if isinstance(v, dict) else str(v)
                    for k, v in (data.get("payload_schema") or {}).items()
                },
                vector=plain,
                metadata=None if config.get("metadata") is None else dict(config["metadata"]),
                ef_search=(data.get("zoro") or {}).get("ef_search"),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ProtocolError(f"unexpected collection info: {exc!r}") from exc


@dataclass(frozen=True, slots=True)
class Record:
    """A stored point (retrieve, scroll, get_point)."""

    id: PointId
    payload: dict[str, Any] | None = None
    vector: tuple[float, ...] | None = None
    # named vectors (name -> dense tuple, SparseVector or multivector rows) when the answer
    # gave them by name ({} for a point without vectors; "" is the unnamed one)
    vectors: dict[str, Vector] | None = None
    order_value: int | float | None = None  # a scroll by order_by: the value ordered by

    @classmethod
    def from_json(cls, data: Any) -> Record:
        vector, named = vectors_out(data.get("vector"))
        return cls(data["id"], data.get("payload"), vector, named, data.get("order_value"))


@dataclass(frozen=True, slots=True)
class ScoredPoint:
    """One search hit, best first. `score` keeps the distance's meaning: higher is better for
    Cosine and Dot, lower is better for Euclid and Manhattan."""

    id: PointId
    score: float
    payload: dict[str, Any] | None = None
    vector: tuple[float, ...] | None = None
    vectors: dict[str, Vector] | None = None  # named vectors, as in Record
    order_value: int | float | None = None  # an order_by query: the value ordered by

    @classmethod
    def from_json(cls, data: Any) -> ScoredPoint:
        vector, named = vectors_out(data.get("vector"))
        order = data.get("order_value")
        return cls(data["id"], data["score"], data.get("payload"), vector, named, order)


@dataclass(frozen=True, slots=True)
class UpdateResult:
    """The answer to a write: the server's operation id (its WAL LSN) and status."""

    operation_id: int | None
    status: str

    @classmethod
    def from_json(cls, data: Any) -> UpdateResult:
        return cls(data.get("operation_id"), str(data["status"]))


@dataclass(frozen=True, slots=True)
class ScrollPage:
    points: list[Record]
    next_offset: PointId | None


@dataclass(frozen=True, slots=True)
class Readiness:
    """GET /readyz: ready once every collection has recovered; `failed` names broken ones."""

    ready: bool
    failed: dict[str, str] = field(default_factory=dict)
    message: str = ""


@dataclass(frozen=True, slots=True)
class ServerInfo:
    title: str
    version: str  # the Qdrant API level served
    zoro_version: str | None


@dataclass(frozen=True, slots=True)
class UploadResult:
    points: int
    batches: int
    seconds: float
    retried_batches: int

    @property
    def points_per_s(self) -> float:
        return self.points / self.seconds if self.seconds > 0 else 0.0
