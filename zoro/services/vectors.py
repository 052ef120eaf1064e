"""Qdrant's vector model on the wire: a collection's vector config, the vectors points carry, and
the vectors answers show. One description of each shape, used by every route.

    config    "vectors": params | {name: params}, "sparse_vectors": {name: {"modifier": ...}};
              params may say "multivector_config": {"comparator": "max_sim"}
    a point   "vector": [..] (the unnamed vector "") | {name: [..] | [[..], ..] (multivector)
              | {"indices", "values"} (sparse)}
    a batch   "vectors": [[..], ..] | {name: [value per point, null where absent]}
    answers   "vector": [..] for a collection created with bare params, else {name: value}

A name maps to a number (zoro.types.VectorConfig) that the storage, the WAL and the indexes use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from zoro.errors import BadRequest, SparseVectorError
from zoro.services import validate
from zoro.sparse.vectors import SparseBatch
from zoro.types import (
    UNNAMED,
    DenseColumn,
    DenseSpec,
    Distance,
    MultiColumn,
    SparseColumn,
    SparseSpec,
    UpsertBatch,
    VectorConfig,
)
from zoro.wire import rules
from zoro.wire.check import whole

if TYPE_CHECKING:
    import numpy.typing as npt

    from zoro.actors import CollectionActor
    from zoro.settings import AnnSettings
    from zoro.types import Column, Keys, Vectors

# Qdrant's hnsw_config keys -> the engine settings (zoro.settings.AnnSettings) they set
HNSW_FIELDS = {
    "m": "hnsw_m",
    "ef_construct": "hnsw_ef_construct",
    "full_scan_threshold": "full_scan_threshold",
}


# ---------------------------------------------------------------- the collection's config


def parse_config(body: Mapping[str, Any]) -> VectorConfig:
    """`vectors` and `sparse_vectors` of a create request its schema has checked
    (zoro.wire "create_collection"), with its rules. Numbers are given in order: dense names
    first (as sent), then sparse names."""
    if "vectors" not in body and not body.get("sparse_vectors"):
        detail = 'missing; send {"vectors": {"size": N, "distance": "Cosine"}}'
        raise rules.VECTORS_OR_SPARSE.error("vectors", detail)
    raw = body.get("vectors", {})
    unnamed = "size" in raw or "distance" in raw
    named = {UNNAMED: raw} if unnamed else raw
    dense: dict[str, DenseSpec] = {}
    for number, (name, params) in enumerate(named.items()):
        where = "vectors" if unnamed else f"vectors.{name}"
        dense[name] = _dense_spec(number, params, where)
    sparse: dict[str, SparseSpec] = {}
    for name, params in (body.get("sparse_vectors") or {}).items():
        if name in dense:
            detail = "a dense vector has that name already"
            raise rules.SPARSE_NAME.error(f"sparse_vectors.{name}", detail)
        sparse[name] = sparse_spec(len(dense) + len(sparse), params)
    return VectorConfig(MappingProxyType(dense), MappingProxyType(sparse), unnamed)


def _dense_spec(number: int, params: Mapping[str, Any], where: str) -> DenseSpec:
    multi = multivector(params.get("multivector_config"))
    size = whole(params["size"], f"{where}.size")
    distance = Distance(params["distance"])
    options: dict[str, object] = hnsw_overrides(params.get("hnsw_config"), f"{where}.hnsw_config")
    if params.get("on_disk") is not None:
        options["on_disk"] = params["on_disk"]
    return DenseSpec(number, size, distance, MappingProxyType(options), multi=multi)


def multivector(config: Mapping[str, Any] | None) -> bool:
    """Qdrant's multivector_config, checked by its schema: max_sim is the one comparator."""
    return config is not None


def sparse_spec(number: int, params: Mapping[str, Any] | None) -> SparseSpec:
    """A sparse vector's checked params: only the modifier changes what Zoro-DB does."""
    return SparseSpec(number, idf=(params or {}).get("modifier") == "idf")


def hnsw_overrides(value: Mapping[str, Any] | None, where: str) -> dict[str, object]:
    """A checked hnsw_config as engine settings (hnsw_m, hnsw_ef_construct, ...); its other
    fields set nothing here."""
    out: dict[str, object] = {}
    for key, setting in HNSW_FIELDS.items():
        if value is not None and value.get(key) is not None:
            out[setting] = whole(value[key], f"{where}.{key}")
    return out


def config_json(config: VectorConfig, ann: AnnSettings) -> dict[str, Any]:
    """`params.vectors` and `params.sparse_vectors` of collection info, as Qdrant shows them."""

    def dense(spec: DenseSpec) -> dict[str, Any]:
        out: dict[str, Any] = {"size": spec.size, "distance": spec.distance.value}
        hnsw = {
            key: spec.options[setting]
            for key, setting in HNSW_FIELDS.items()
            if setting in spec.options
        }
        if hnsw:
            out["hnsw_config"] = hnsw
        if "on_disk" in spec.options:
            out["on_disk"] = spec.options["on_disk"]
        if spec.multi:
            out["multivector_config"] = {"comparator": "max_sim"}
        return out

    if config.unnamed:
        vectors: dict[str, Any] = dense(config.dense[UNNAMED])
    else:
        vectors = {name: dense(spec) for name, spec in config.dense.items()}
    out: dict[str, Any] = {"vectors": vectors}
    if config.sparse:
        out["sparse_vectors"] = {
            name: {"modifier": "idf"} if spec.idf else {} for name, spec in config.sparse.items()
        }
    return out


# ---------------------------------------------------------------- names


# dense_or_sparse, with_vector, matrix and sparse_rows serve routes whose rules differ (a
# search's vector-name, a query's query-using...): each caller names its rule (`covering`).


def dense_or_sparse(config: VectorConfig, name: object, field: str) -> DenseSpec | SparseSpec:
    """The vector `using` names (absent or null: the default one). Raises BadRequest."""
    if name is None:
        first = config.first_dense
        if first is None:
            names = ", ".join(repr(n) for n in [*config.dense, *config.sparse])
            raise BadRequest(f"{field}: name the vector to search with `using` (one of {names})")
        return first[1]
    if not isinstance(name, str):
        raise BadRequest(f"{field}: must be a vector name (a string)")
    spec = config.dense.get(name) or config.sparse.get(name)
    if spec is None:
        raise BadRequest(f"{field}: {_no_such(config, name)}")
    return spec


def _no_such(config: VectorConfig, name: str) -> str:
    names = [*config.dense, *config.sparse]
    listed = ", ".join(repr(n) for n in names) if names else "none"
    return f"no vector named {name!r} in this collection (it has {listed})"


def with_vector(value: object, config: VectorConfig, field: str) -> list[str]:
    """Qdrant's `with_vector`: true (every vector), false, or a list of names; the names to show."""
    if value is None or value is False:
        return []
    if value is True:
        return [*config.dense, *config.sparse]
    if isinstance(value, list) and all(isinstance(n, str) for n in value):
        for name in value:
            if name not in config.dense and name not in config.sparse:
                raise BadRequest(f"{field}: {_no_such(config, name)}")
        return list(dict.fromkeys(value))
    raise BadRequest(f"{field}: use true/false or a list of vector names")


# ---------------------------------------------------------------- points in


def upsert_batch(
    keys: Keys,
    values: Sequence[object],
    payloads: list[bytes],
    config: VectorConfig,
    where: Sequence[str],
) -> UpsertBatch:
    """The UpsertBatch of points whose `vector` fields are `values` (`where[i]` names point i's
    field in errors). The version-1 form when the collection has just its one unnamed vector
    and every point carries it."""
    n = len(values)
    if config.is_single() and all(isinstance(v, list) for v in values):
        spec = config.dense[next(iter(config.dense))]
        if UNNAMED in config.dense:
            return UpsertBatch(keys, dense_rows(list(values), spec, where), payloads)
    by_name: dict[str, tuple[list[int], list[object]]] = {}
    for i, value in enumerate(values):
        if isinstance(value, list):
            if UNNAMED not in config.dense:
                detail = (
                    "this collection has no unnamed vector; send "
                    f"{{name: vector}} ({_no_such(config, UNNAMED).split('(')[1]}"
                )
                raise rules.VECTOR_NAMES.error(where[i], detail)
            value = {UNNAMED: value}
        assert isinstance(value, Mapping)  # the schema's VECTOR_STRUCT: a list or an object
        for name, one in value.items():
            if name not in config.dense and name not in config.sparse:
                raise rules.VECTOR_NAMES.error(where[i], _no_such(config, name))
            if one is None:
                continue  # Qdrant's clients send null for a vector left out
            positions, rows = by_name.setdefault(name, ([], []))
            positions.append(i)
            rows.append(one)
    columns: dict[int, Column] = {}
    for name, (positions, rows) in by_name.items():
        present = np.zeros(n, dtype=np.bool_)
        present[positions] = True
        fields = [f"{where[i]}[{name!r}]" for i in positions]
        if name in config.dense and config.dense[name].multi:
            multi = config.dense[name]
            with _refused_as(partial(_matrices_rule, rows, multi.size)):
                counts, matrices = multi_rows(rows, multi, fields)
            columns[multi.number] = MultiColumn(present, counts, matrices)
        elif name in config.dense:
            dense = config.dense[name]
            columns[dense.number] = DenseColumn(present, dense_rows(rows, dense, fields))
        else:
            with _refused_as(partial(_sparse_rule, rows)):
                batch = sparse_rows(rows, fields)
            columns[config.sparse[name].number] = SparseColumn(present, batch)
    return assembled(keys, columns, payloads, config)


def assembled(
    keys: Keys, columns: dict[int, Column], payloads: list[bytes], config: VectorConfig
) -> UpsertBatch:
    """The UpsertBatch of checked columns: the version-1 form when the collection has just its
    one unnamed vector and every point carries it."""
    whole = columns.get(0)
    if config.is_single() and isinstance(whole, DenseColumn) and bool(whole.present.all()):
        return UpsertBatch(keys, whole.rows, payloads)
    return UpsertBatch(keys, None, payloads, MappingProxyType(columns))


def dense_batch(
    keys: Keys,
    matrices: Sequence[tuple[str, Vectors]],
    payloads: list[bytes],
    config: VectorConfig,
    field: str,
) -> UpsertBatch:
    """The UpsertBatch of points whose vectors come as one (n, dim) float32 matrix per named
    dense vector (the binary body, zoro.wire.binary), checked as upsert_batch checks rows
    (`{field}[i]` names matrix i in errors). Multivectors and sparse vectors are not sent
    this way."""
    columns: dict[int, Column] = {}
    for i, (name, rows) in enumerate(matrices):
        where = f"{field}[{i}]"
        spec = config.dense.get(name)
        if spec is None and name not in config.sparse:
            raise rules.VECTOR_NAMES.error(where, _no_such(config, name))
        if spec is None or spec.multi:
            form = "a sparse vector" if spec is None else "a multivector"
            detail = f"{name!r} is {form}: send it as JSON (this body holds dense vectors only)"
            raise rules.VECTOR_NAMES.error(where, detail)
        # the size first, as validate.vectors checks it: the rule follows what it finds
        rule = rules.VECTOR_SIZE if rows.shape[1] != spec.size else rules.VECTOR_VALUES
        with rule.covering():
            checked = validate.vectors(rows, where, spec.size, spec.distance)
        present = np.ones(len(keys), dtype=np.bool_)
        columns[spec.number] = DenseColumn(present, checked)
    return assembled(keys, columns, payloads, config)


@contextmanager
def _refused_as(rule: Callable[[], rules.Rule]) -> Iterator[None]:
    """A refusal in the block tagged with the rule `rule()` tells (asked only on a refusal:
    it reads the vectors again)."""
    try:
        yield
    except BadRequest:
        with rule().covering():
            raise


def _numbers(row: object) -> bool:
    return isinstance(row, list) and all(
        isinstance(x, int | float) and not isinstance(x, bool) for x in row
    )


def _row_rule(row: object, size: int) -> rules.Rule:
    """The rule a refused dense vector breaks: its form (a list of numbers), its size, else
    its values."""
    if not _numbers(row):
        return rules.VECTOR_NAMES
    assert isinstance(row, list)
    return rules.VECTOR_SIZE if len(row) != size else rules.VECTOR_VALUES


def _matrices_rule(values: Sequence[object], size: int) -> rules.Rule:
    """The rule refused multivectors break: their form, a row's size, else their values."""
    for value in values:
        if not isinstance(value, list) or not value or not all(_numbers(r) for r in value):
            return rules.VECTOR_NAMES
    if any(len(r) != size for value in values for r in value):  # type: ignore[attr-defined]
        return rules.VECTOR_SIZE
    return rules.VECTOR_VALUES


def _sparse_rule(values: Sequence[object]) -> rules.Rule:
    """The rule refused sparse vectors break: their form, else their indices and values."""
    if all(isinstance(v, Mapping) for v in values):
        return rules.VECTOR_VALUES
    return rules.VECTOR_NAMES


def dense_rows(rows: list[object], spec: DenseSpec, where: Sequence[str]) -> Vectors:
    """All rows as one checked matrix; on error, find the first bad one to name it, with the
    rule it breaks (its form, size or values)."""
    if not rows:
        return np.empty((0, spec.size), dtype=np.float32)
    try:
        with rules.VECTOR_VALUES.covering():  # (a refusal here is worded again below)
            return validate.vectors(rows, "vectors", spec.size, spec.distance)
    except BadRequest as exc:
        refused = exc
    for row, field in zip(rows, where, strict=True):
        if isinstance(row, Mapping):
            raise rules.VECTOR_NAMES.error(field, "a dense vector is a list of numbers")
        with _row_rule(row, spec.size).covering():
            validate.vector(row, field, spec.size, spec.distance)
    raise refused


def multi_rows(
    values: list[object], spec: DenseSpec, where: Sequence[str]
) -> tuple[npt.NDArray[np.int64], Vectors]:
    """Each point's matrix (a non-empty list of rows of the vector's size), stacked: the row
    counts and all the rows, normalised for Cosine."""
    matrices = [matrix(value, spec, field) for value, field in zip(values, where, strict=True)]
    counts = np.fromiter((len(m) for m in matrices), dtype=np.int64, count=len(matrices))
    if not matrices:
        return counts, np.empty((0, spec.size), dtype=np.float32)
    return counts, np.concatenate(matrices)


def matrix(value: object, spec: DenseSpec, field: str) -> Vectors:
    """One multivector: a non-empty list of rows of the vector's size."""
    if not isinstance(value, list) or not value or not all(isinstance(r, list) for r in value):
        raise BadRequest(f"{field}: a multivector is a non-empty list of vectors (lists)")
    return validate.vectors(value, field, spec.size, spec.distance)


def sparse_rows(rows: list[object], where: Sequence[str]) -> SparseBatch:
    for row, field in zip(rows, where, strict=True):
        if not isinstance(row, Mapping):
            raise BadRequest(f'{field}: a sparse vector is {{"indices": [...], "values": [...]}}')
        validate.only_fields(row, frozenset({"indices", "values"}), field)
    try:
        return SparseBatch.from_dicts(rows)  # type: ignore[arg-type]
    except SparseVectorError as exc:
        raise BadRequest(f"{where[exc.row]}: {exc.fault}") from None


def batch_values(value: Any, n: int, field: str) -> tuple[list[object], FieldNames]:
    """The checked batch form's `vectors` (a list, or {name: list with one entry per point}) as
    one value per point in the points form, and each one's field name for errors."""
    if isinstance(value, list):
        if len(value) != n:
            raise rules.BATCH_LENGTHS.error(field, f"{len(value)} vectors for {n} ids")
        return value, FieldNames(field, n)
    values: list[object] = [{} for _ in range(n)]
    for name, column in value.items():
        if len(column) != n:
            detail = f"{len(column)} vectors for {n} ids"
            raise rules.BATCH_LENGTHS.error(f"{field}[{name!r}]", detail)
        for i, one in enumerate(column):
            values[i][name] = one  # type: ignore[index]
    return values, FieldNames(field, n)


class FieldNames(Sequence[str]):
    """`{prefix}[i]{suffix}` for each point i, written only when an error names one (a write
    of many points would otherwise format a name per point it never uses)."""

    __slots__ = ("_n", "_prefix", "_suffix")

    def __init__(self, prefix: str, n: int, suffix: str = "") -> None:
        self._prefix, self._n, self._suffix = prefix, n, suffix

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> list[str]: ...

    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._n))]
        if not -self._n <= i < self._n:
            raise IndexError(i)
        return f"{self._prefix}[{i % self._n}]{self._suffix}"


# ---------------------------------------------------------------- vectors out


def render(actor: CollectionActor, slots: npt.NDArray[np.int64], names: list[str]) -> list[Any]:
    """The `vector` field of each slot's point: {name: vector} of the named ones it carries,
    or, as Qdrant shows it, the bare vector when that is the dense vector "" alone."""
    config = actor.vectors
    out: list[dict[str, Any]] = [{} for _ in range(len(slots))]
    for name in names:
        dense = config.dense.get(name)
        if dense is not None and dense.multi:
            for i, matrix_ in enumerate(actor.multi_of_slots(slots, dense.number)):
                if matrix_ is not None:
                    out[i][name] = matrix_
            continue
        if dense is not None:
            carried = actor.present_mask(dense.number)[slots]
            rows = actor.vectors_of_slots(slots, dense.number)
            for i in np.flatnonzero(carried).tolist():
                out[i][name] = rows[i]
            continue
        sparse = config.sparse[name]
        for i, one in enumerate(actor.sparse_of_slots(slots, sparse.number)):
            if one is not None:
                out[i][name] = {"indices": one.indices, "values": one.values}
    if UNNAMED not in config.dense:
        return out
    return [v[UNNAMED] if len(v) == 1 and UNNAMED in v else v for v in out]
