"""Changing vectors after the fact, in Qdrant's shapes: some vectors of some points
(update_vectors, delete_vectors) and the vectors a collection declares (create_vector_name,
delete_vector_name).

    PUT    /collections/{c}/points/vectors         {"points": [{"id", "vector"}], "update_filter"?}
    POST   /collections/{c}/points/vectors/delete  {"points": [ids] | "filter", "vector": [names]}
    PUT    /collections/{c}/vectors/{name}         {"dense": {"size", "distance"}} | {"sparse": {}}
    DELETE /collections/{c}/vectors/{name}

A point named by id that does not exist does not stop the others: as in Qdrant, the rest is
written and the answer is then 404 naming the first missing one. Everything else that is wrong
with a request is refused (400) before anything is written.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from zoro.actors.vector_changes import DeleteVectors, UpdateVectors
from zoro.errors import BadRequest
from zoro.services import filters, shapes, vectors
from zoro.services import points as points_module
from zoro.types import UNNAMED, DenseSpec, Distance, SparseSpec, VectorConfig
from zoro.wire import rules
from zoro.wire.check import check, whole

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from zoro.actors import CollectionActor
    from zoro.services.context import Context

# Qdrant's rules for a new vector name (it keeps each vector in a directory named after it)
_NAME_MAX_BYTES: Final = 200
_BAD_NAME_CHARS: Final = ("<", ">", ":", '"', "/", "\\", "|", "?", "*", "\0", "\x1f")


# ---------------------------------------------------------------- some vectors of some points


async def update_vectors(ctx: Context, name: str, body: object, *, wait: bool) -> dict[str, Any]:
    actor = ctx.manager.serving(name)
    change = update_vectors_change(check("update_vectors", body, ctx.limits), actor)
    lsn = await actor.write(change)
    return shapes.update_result(lsn, completed=wait)


async def delete_vectors(ctx: Context, name: str, body: object, *, wait: bool) -> dict[str, Any]:
    actor = ctx.manager.serving(name)
    change = delete_vectors_change(check("delete_vectors", body, ctx.limits), actor)
    lsn = await actor.write(change)
    return shapes.update_result(lsn, completed=wait)


def update_vectors_change(body: Mapping[str, Any], actor: CollectionActor) -> UpdateVectors:
    """A checked update_vectors body (also a batch's operation) as the change to log."""
    points = body["points"]
    no_payloads = [b"{}"] * len(points)  # not used: each point keeps its own
    changes = points_module.entries_batch(points, no_payloads, actor)
    condition = filters.parse(body.get("update_filter"), "update_filter", checked=True)
    return UpdateVectors(changes, condition)


def delete_vectors_change(body: Mapping[str, Any], actor: CollectionActor) -> DeleteVectors:
    """A checked delete_vectors body (also a batch's operation) as the change to log."""
    keys, condition = None, None
    if "filter" in body:
        condition = filters.parse(body["filter"], "filter", checked=True)
        if condition is None:  # a null filter: the schema's Filter takes it, a delete does not
            detail = "must be an object (an empty one selects every point)"
            raise rules.POINTS_OR_FILTER.error("filter", detail)
    else:
        keys = points_module.checked_keys(body["points"], "points")
    return DeleteVectors(named_numbers(body["vector"], actor.vectors), keys, condition)


def named_numbers(names: Sequence[str], config: VectorConfig) -> tuple[int, ...]:
    """The numbers of the vectors `names` (strings) name, each once (rules.VECTOR_NAMES)."""
    numbers: list[int] = []
    for i, name in enumerate(names):
        spec = _spec(config, name)
        if spec is None:
            raise rules.VECTOR_NAMES.error(f"vector[{i}]", _no_such(config, name))
        numbers.append(spec.number)
    return tuple(dict.fromkeys(numbers))


# ---------------------------------------------------------------- the vectors a collection declares


async def create_vector_name(
    ctx: Context, name: str, vector: str, body: object, *, wait: bool
) -> dict[str, Any]:
    """Declare a new dense or sparse vector; every existing point lacks it. Declaring one that
    exists with the same parameters changes nothing (as in Qdrant)."""
    ctx.manager.serving(name)  # 404 for a missing collection before the body is judged
    body = check("create_vector_name", body, ctx.limits)
    if len(body) != 1:
        detail = 'send either {"dense": {"size": N, "distance": ...}} or {"sparse": {}}'
        raise rules.DENSE_OR_SPARSE.error("body", detail)
    _check_new_name(vector)
    if "dense" in body:
        dense = body["dense"]
        size = whole(dense["size"], "dense.size")
        distance = Distance(dense["distance"])
        multi = vectors.multivector(dense.get("multivector_config"))

        def change(config: VectorConfig) -> VectorConfig | None:
            return _with_dense(config, vector, size, distance, multi=multi)

    else:
        # the datatype is accepted and stored as float32, as Qdrant's local mode does
        idf = (body["sparse"] or {}).get("modifier") == "idf"

        def change(config: VectorConfig) -> VectorConfig | None:
            return _with_sparse(config, vector, idf)

    await ctx.manager.change_vectors(name, change)
    return shapes.update_result(0, completed=wait)


async def delete_vector_name(ctx: Context, name: str, vector: str, *, wait: bool) -> dict[str, Any]:
    """Drop a vector and every point's value of it. Dropping one that does not exist changes
    nothing (as in Qdrant); the one vector of a collection created with bare params cannot go."""
    ctx.manager.serving(name)

    def change(config: VectorConfig) -> VectorConfig | None:
        return _without(config, vector)

    await ctx.manager.change_vectors(name, change)
    return shapes.update_result(0, completed=wait)


def _check_new_name(vector: str) -> None:
    where = f"vector name {vector!r}"
    if len(vector.encode()) > _NAME_MAX_BYTES:
        raise BadRequest(f"{where}: at most {_NAME_MAX_BYTES} bytes")
    for char in _BAD_NAME_CHARS:
        if char in vector:
            raise BadRequest(f"{where}: cannot contain {char!r}")
    if vector in (".", ".."):
        raise BadRequest(f"{where}: not a valid name")


def _with_dense(
    config: VectorConfig, name: str, size: int, distance: Any, *, multi: bool
) -> VectorConfig | None:
    if name in config.sparse:
        raise BadRequest(f"vector name {name!r}: a sparse vector has that name already")
    known = config.dense.get(name)
    if known is not None:
        if (known.size, known.distance, known.multi) != (size, distance, multi):
            raise BadRequest(f"Vector {name!r} already exists with a different configuration")
        return None
    spec = DenseSpec(config.next_number, size, distance, multi=multi)
    dense = MappingProxyType({**config.dense, name: spec})
    # A collection created with bare params shows its vectors by name from now on (Qdrant)
    return VectorConfig(dense, config.sparse, False, spec.number + 1)


def _with_sparse(config: VectorConfig, name: str, idf: bool) -> VectorConfig | None:
    if name == UNNAMED:
        raise BadRequest("vector name '': a sparse vector needs a name")
    if name in config.dense:
        raise BadRequest(f"vector name {name!r}: a dense vector has that name already")
    known = config.sparse.get(name)
    if known is not None:
        if known.idf != idf:
            raise BadRequest(f"Vector {name!r} already exists with a different configuration")
        return None
    spec = SparseSpec(config.next_number, idf)
    sparse = MappingProxyType({**config.sparse, name: spec})
    return VectorConfig(config.dense, sparse, config.unnamed, spec.number + 1)


def _without(config: VectorConfig, name: str) -> VectorConfig | None:
    if name in config.dense:
        if config.unnamed and name == UNNAMED:
            raise BadRequest(
                "Cannot delete the unnamed vector when it is the only dense vector "
                "in the collection"
            )
        dense = MappingProxyType({n: s for n, s in config.dense.items() if n != name})
        return VectorConfig(dense, config.sparse, config.unnamed, config.next_number)
    if name in config.sparse:
        sparse = MappingProxyType({n: s for n, s in config.sparse.items() if n != name})
        return VectorConfig(config.dense, sparse, config.unnamed, config.next_number)
    return None


def _spec(config: VectorConfig, name: str) -> DenseSpec | SparseSpec | None:
    return config.dense.get(name) or config.sparse.get(name)


def _no_such(config: VectorConfig, name: str) -> str:
    names = [*config.dense, *config.sparse]
    listed = ", ".join(repr(n) for n in names) if names else "none"
    return f"no vector named {name!r} in this collection (it has {listed})"
