"""What the client returns: small frozen records built from the server's Qdrant-shaped JSON.

Vectors come back as tuples of floats (immutable and comparable; `numpy.asarray(p.vector)` when
you need an array). Payloads are the decoded JSON objects as the server stored them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from zoro.client._errors import ProtocolError

if TYPE_CHECKING:
    from collections.abc import Callable

PointId = int | str
"""A point id as the server returns it: an unsigned 64-bit int or a canonical UUID string."""

Distance = Literal["Cosine", "Euclid", "Dot", "Manhattan"]
Engine = Literal["hnsw", "flat"]
DISTANCES: tuple[Distance, ...] = ("Cosine", "Euclid", "Dot", "Manhattan")

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


def vectors_out(data: Any) -> tuple[tuple[float, ...] | None, dict[str, Any] | None]:
    """A returned point's `vector`: unnamed (a list) or named (name -> list or sparse)."""
    if data is None:
        return None, None
    if isinstance(data, Mapping):
        named = {
            str(name): SparseVector.from_json(v) if isinstance(v, Mapping) else tuple(v)
            for name, v in data.items()
        }
        unnamed = named.get("")  # Qdrant's name for the unnamed vector
        return (unnamed if isinstance(unnamed, tuple) else None), named
    return tuple(data), None


@dataclass(frozen=True, slots=True)
class HnswConfig:
    m: int
    ef_construct: int
    full_scan_threshold: int


@dataclass(frozen=True, slots=True)
class VectorParams:
    """A named dense vector's size and distance."""

    size: int
    distance: str


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
    # Named dense vectors (name -> dimension, distance) and sparse vector names, for collections
    # that have them; `dimension` and `distance` describe the unnamed vector (named "" on the
    # wire; 0 and "" here if the collection has none).
    vectors: dict[str, VectorParams] = field(default_factory=dict)
    sparse_vectors: tuple[str, ...] = ()
    # Indexed payload keys -> their schema ("keyword", "integer", ...).
    payload_schema: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, name: str, data: Any) -> CollectionInfo:
        try:
            config = data["config"]
            params = config["params"]
            vectors = dict(params.get("vectors") or {})
            # the unnamed vector: the plain form {"size", "distance"}, or the name "" in the
            # named form (Qdrant's name for it)
            plain = vectors if "size" in vectors else vectors.pop("", None)
            named = {} if "size" in vectors else vectors
            hnsw = config["hnsw_config"]
            return cls(
                name=name,
                dimension=0 if plain is None else int(plain["size"]),
                distance="" if plain is None else str(plain["distance"]),
                status=str(data["status"]),
                points_count=int(data.get("points_count") or 0),
                indexed_vectors_count=int(data.get("indexed_vectors_count") or 0),
                segments_count=int(data["segments_count"]),
                engine=str((data.get("zoro") or {}).get("engine", "hnsw")),
                hnsw=HnswConfig(
                    int(hnsw["m"]), int(hnsw["ef_construct"]), int(hnsw["full_scan_threshold"])
                ),
                vectors={
                    str(k): VectorParams(int(v["size"]), str(v["distance"]))
                    for k, v in named.items()
                },
                sparse_vectors=tuple(map(str, params.get("sparse_vectors") or ())),
                payload_schema={
                    str(k): str(v.get("data_type", "")) if isinstance(v, dict) else str(v)
                    for k, v in (data.get("payload_schema") or {}).items()
                },
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ProtocolError(f"unexpected collection info: {exc!r}") from exc


@dataclass(frozen=True, slots=True)
class Record:
    """A stored point (retrieve, scroll, get_point)."""

    id: PointId
    payload: dict[str, Any] | None = None
    vector: tuple[float, ...] | None = None
    # named vectors (name -> dense tuple or SparseVector), when the collection has them
    vectors: dict[str, Any] | None = None

    @classmethod
    def from_json(cls, data: Any) -> Record:
        vector, named = vectors_out(data.get("vector"))
        return cls(data["id"], data.get("payload"), vector, named)


@dataclass(frozen=True, slots=True)
class ScoredPoint:
    """One search hit, best first. `score` keeps the distance's meaning: higher is better for
    Cosine and Dot, lower is better for Euclid and Manhattan."""

    id: PointId
    score: float
    payload: dict[str, Any] | None = None
    vector: tuple[float, ...] | None = None
    vectors: dict[str, Any] | None = None  # named vectors, as in Record

    @classmethod
    def from_json(cls, data: Any) -> ScoredPoint:
        vector, named = vectors_out(data.get("vector"))
        return cls(data["id"], data["score"], data.get("payload"), vector, named)


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
