"""The thin, typed edge over FAISS: every raw FAISS call in zoro/ann goes through here.

FAISS ships partial stubs (many `Any`s) and a SWIG surface that takes raw pointers; this module
turns it into small functions with numpy types so the rest of the package stays `mypy --strict`.

Two FAISS facts shape the helpers below:

- `IndexIDMap.search` wraps a plain `params.sel` into an `IDSelectorTranslated` by writing into
  the (const!) params object for the duration of the call. A params object reused from two
  threads would then race. We hand FAISS selectors that are *already* translated, so it never
  writes into them and a params object, once built, is read-only and can be cached.
- A selector holds raw pointers (to a numpy bitmap, to an id vector, to another selector, to an
  index). FAISS's Python wrappers keep those alive (`referenced_objects`) for the selectors used
  here; an `IdVector` must still not be grown while another thread searches through it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import faiss
import numpy as np
import numpy.typing as npt

from zoro.types import Distance

if TYPE_CHECKING:
    from collections.abc import Callable

# The stubs FAISS 1.15 ships are incomplete or wrong for the SWIG calls used below (raw-pointer
# kernels, IDSelectorBitmap's Python constructor, SearchParametersHNSW, callback I/O): reach
# those through this untyped handle, here and nowhere else.
_raw: Any = faiss

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

Index = faiss.Index
IndexIDMap = faiss.IndexIDMap
Selector = faiss.IDSelector
Params = faiss.SearchParameters

_METRICS: Final = {
    Distance.COSINE: faiss.METRIC_INNER_PRODUCT,
    Distance.DOT: faiss.METRIC_INNER_PRODUCT,
    Distance.EUCLID: faiss.METRIC_L2,
    Distance.MANHATTAN: faiss.METRIC_L1,
}


def metric_of(distance: Distance) -> int:
    return int(_METRICS[distance])


# --- building indexes --------------------------------------------------------------------------


def new_flat(dimension: int, distance: Distance) -> faiss.IndexIDMap2:
    # The Python wrapper of IndexIDMap2 keeps `inner` alive (referenced_objects).
    return faiss.IndexIDMap2(faiss.IndexFlat(dimension, metric_of(distance)))


def new_hnsw(
    dimension: int, distance: Distance, *, m: int, ef_construct: int, ef_search: int
) -> faiss.IndexIDMap:
    inner = faiss.IndexHNSWFlat(dimension, m, metric_of(distance))
    inner.hnsw.efConstruction = ef_construct
    inner.hnsw.efSearch = ef_search
    return faiss.IndexIDMap(inner)


def preset_levels(index: faiss.IndexIDMap, levels: npt.NDArray[np.int32]) -> None:
    """Give the next `len(levels)` points added to this HNSW index these levels (0 = the
    bottom layer only) instead of drawing them: FAISS uses preset levels when hnsw.levels
    already holds one entry per point at add time."""
    table = hnsw_of(index).hnsw.levels
    n0 = int(table.size())
    table.resize(n0 + len(levels))
    view = faiss.rev_swig_ptr(table.data(), n0 + len(levels))
    view[n0:] = levels + 1  # FAISS stores level + 1


def clone_id_map(index: faiss.IndexIDMap) -> faiss.IndexIDMap:
    """A deep copy of an id-mapped index (id map, inner index, its storage), owning all of it.

    Only reads `index`, so it may run while other threads search it.
    """
    copy = faiss.clone_index(index)
    if not isinstance(copy, faiss.IndexIDMap):
        raise TypeError(f"expected an id-mapped clone, found {type(copy).__name__}")
    return copy


def add_with_ids(index: faiss.IndexIDMap, ids: I64, vectors: F32) -> None:
    index.add_with_ids(vectors, ids)


def remove_ids(index: faiss.IndexIDMap, ids: I64) -> int:
    return int(index.remove_ids(faiss.IDSelectorBatch(ids)))


def inner_index(index: faiss.IndexIDMap) -> Index:
    """The index under an id map, as its concrete class (SWIG hands back the base class).

    The result does not own its C++ object: it is valid only while `index` is alive.
    """
    return faiss.downcast_index(index.index)


def hnsw_of(index: faiss.IndexIDMap) -> faiss.IndexHNSWFlat:
    inner = inner_index(index)
    if not isinstance(inner, faiss.IndexHNSWFlat):
        raise TypeError(f"expected an IndexHNSWFlat under the id map, found {type(inner).__name__}")
    return inner


def flat_of(index: faiss.IndexIDMap) -> faiss.IndexFlat:
    inner = inner_index(index)
    if not isinstance(inner, faiss.IndexFlat):
        raise TypeError(f"expected an IndexFlat under the id map, found {type(inner).__name__}")
    return inner


def hnsw_storage(index: faiss.IndexIDMap) -> faiss.IndexFlat:
    storage = faiss.downcast_index(hnsw_of(index).storage)
    if not isinstance(storage, faiss.IndexFlat):
        raise TypeError(f"expected flat HNSW storage, found {type(storage).__name__}")
    return storage


def renumbered_id_map(index: faiss.IndexIDMap, ids: I64) -> faiss.IndexIDMap:
    """A new id map over the same inner index (shared, not copied), whose row i holds id
    `ids[i]`; `index` itself is not touched, so another thread may go on cloning or reading it.

    FAISS refuses to wrap an index that holds rows, so the wrapper is made around an empty one
    of the same kind and then pointed at the shared inner index. It does not own that index:
    it keeps alive the wrapper that does (see _owner), so renumbering again does not chain
    old id maps together.
    """
    if len(ids) != index.id_map.size():
        raise ValueError(f"{len(ids)} ids for {index.id_map.size()} rows")
    inner = inner_index(index)
    dimension, metric = int(inner.d), int(inner.metric_type)
    wrapper: Any
    if isinstance(index, faiss.IndexIDMap2):
        wrapper = faiss.IndexIDMap2(faiss.IndexFlat(dimension, metric))
    else:
        wrapper = faiss.IndexIDMap(faiss.IndexFlat(dimension, metric))
    wrapper.index = inner
    wrapper.ntotal = inner.ntotal
    wrapper.referenced_objects = [_owner(index)]  # and the empty stand-in is dropped
    faiss.copy_array_to_vector(np.ascontiguousarray(ids, dtype=np.int64), wrapper.id_map)
    if isinstance(wrapper, faiss.IndexIDMap2):
        wrapper.construct_rev_map()
    result: faiss.IndexIDMap = wrapper
    return result


def _owner(index: faiss.IndexIDMap) -> faiss.IndexIDMap:
    """The id map that keeps `index`'s inner index alive: `index` itself, unless it was made
    by renumbered_id_map (the only wrappers whose referenced object is another id map; FAISS's
    own keep the inner index there)."""
    held = getattr(index, "referenced_objects", None)
    if held and isinstance(held[0], faiss.IndexIDMap):
        owner: faiss.IndexIDMap = held[0]
        return owner
    return index


def id_map_array(index: faiss.IndexIDMap) -> I64:
    """A copy of the id map: row i of the inner index holds id `result[i]`."""
    return np.asarray(faiss.vector_to_array(index.id_map), dtype=np.int64)


def reconstruct_rows(index: Index, start: int, count: int) -> F32:
    return np.asarray(index.reconstruct_n(start, count), dtype=np.float32)


def hnsw_graph_bytes(index: faiss.IndexIDMap) -> int:
    hnsw: Any = hnsw_of(index).hnsw
    # neighbors are int32, offsets size_t, levels int32 (assign_probas is a few doubles)
    return (
        4 * int(hnsw.neighbors.size()) + 8 * int(hnsw.offsets.size()) + 4 * int(hnsw.levels.size())
    )


def index_dimension(index: Index) -> int:
    return int(index.d)


def index_metric(index: Index) -> int:
    return int(index.metric_type)


def index_len(index: Index) -> int:
    return int(index.ntotal)


# --- selectors and search parameters ------------------------------------------------------------


def not_in_bitmap(bits: npt.NDArray[np.uint8]) -> Selector:
    """Selects every id whose bit is clear (ids past the end of `bits` count as clear).

    `bits` is packed little-endian within each byte, which is FAISS's IDSelectorBitmap layout.
    The wrapper keeps `bits` alive; callers must not resize it in place.
    """
    return faiss.IDSelectorNot(_raw.IDSelectorBitmap(bits))


def search_params(sel: Selector | None, *, ef: int | None) -> Params:
    params: Any = faiss.SearchParameters() if ef is None else _raw.SearchParametersHNSW()
    if ef is not None:
        params.efSearch = ef
    if sel is not None:
        params.sel = sel  # the wrapper's __setattr__ keeps `sel` alive with the params
    result: Params = params
    return result


def translated_by_index(index: faiss.IndexIDMap, sel: Selector) -> Selector:
    """`sel` asked about ids, for a search that sees rows of `index`'s inner index."""
    result: Selector = _raw.IDSelectorTranslated(index, sel)
    return result


def translated_by_ids(ids: IdVector, sel: Selector) -> Selector:
    """`sel` asked about ids, for a raw row scan whose row i holds id `ids[i]`."""
    result: Selector = _raw.IDSelectorTranslated(ids.vector, sel)
    return result


def search_into(
    index: Index, queries: F32, k: int, distances: F32, labels: I64, params: Params | None
) -> None:
    """index.search writing into (m, k) C-contiguous arrays, minus the Python wrapper's checks
    (a few µs a query): `queries` must be C-contiguous float32 of the index's dimension, k > 0.
    """
    raw: Any = index
    raw.search_c(
        len(queries),
        _raw.swig_ptr(queries),
        k,
        _raw.swig_ptr(distances),
        _raw.swig_ptr(labels),
        params,
    )


def knn_rows_into(
    metric: int,
    queries: F32,
    rows: F32,
    k: int,
    distances: F32,
    labels: I64,
    sel: Selector | None,
) -> None:
    """Exact k-NN of `queries` among `rows` (no index: the same kernels IndexFlat uses).

    Labels are row numbers; `sel` (if any) is asked about row numbers. All arrays must be
    C-contiguous and stay alive and unchanged for the duration of the call.
    """
    nq, dim = queries.shape
    ny = rows.shape[0]
    x, y = _raw.swig_ptr(queries), _raw.swig_ptr(rows)
    d_ptr, l_ptr = _raw.swig_ptr(distances), _raw.swig_ptr(labels)
    if metric == faiss.METRIC_INNER_PRODUCT:
        _raw.knn_inner_product(x, y, dim, nq, ny, k, d_ptr, l_ptr, sel)
    elif metric == faiss.METRIC_L2:
        _raw.knn_L2sqr(x, y, dim, nq, ny, k, d_ptr, l_ptr, None, sel)
    else:
        _raw.knn_extra_metrics(x, y, dim, nq, ny, metric, 0.0, k, d_ptr, l_ptr, sel)


def knn_by_rows_into(
    inner_product: bool,
    queries: F32,
    rows: F32,
    subset: I64,
    k: int,
    distances: F32,
    labels: I64,
) -> None:
    """Exact k-NN of `queries` among the rows of `rows` listed in `subset` (inner product, or
    squared L2), without copying those rows. Labels are row numbers from `subset`."""
    nq, dim = queries.shape
    x, y, ids = _raw.swig_ptr(queries), _raw.swig_ptr(rows), _raw.swig_ptr(subset)
    d_ptr, l_ptr = _raw.swig_ptr(distances), _raw.swig_ptr(labels)
    # ld_ids = 0: every query scans the same subset
    ny, ns = len(rows), len(subset)
    if inner_product:
        _raw.knn_inner_products_by_idx(x, y, ids, dim, nq, ny, ns, k, d_ptr, l_ptr, 0)
    else:
        _raw.knn_L2sqr_by_idx(x, y, ids, dim, nq, ny, ns, k, d_ptr, l_ptr, 0)


def merge_sorted(distances: F32, labels: I64, *, keep_max: bool) -> tuple[F32, I64]:
    """Merge (parts, m, k) sorted result lists into (m, k), in one C call. -1 labels are
    skipped; rows short of k end in -1."""
    parts, m, k = distances.shape
    out_d = np.empty((m, k), dtype=np.float32)
    out_l = np.empty((m, k), dtype=np.int64)
    merge = _raw.merge_knn_results_CMax if keep_max else _raw.merge_knn_results_CMin
    merge(
        m,
        k,
        parts,
        _raw.swig_ptr(distances),
        _raw.swig_ptr(labels),
        _raw.swig_ptr(out_d),
        _raw.swig_ptr(out_l),
    )
    return out_d, out_l


def normalize_rows(x: F32) -> None:
    """Scale the rows of C-contiguous float32 `x` to unit length in place (zero rows stay 0)."""
    _raw.fvec_renorm_L2(x.shape[1], x.shape[0], _raw.swig_ptr(x))


class IdVector:
    """A growable std::vector<int64> (what IDSelectorTranslated needs), filled from numpy.

    Growing may move the vector's data; selectors refer to the vector object itself, so they
    stay valid, but only on the thread that grows it. Use `copy()` to hand one to a thread.
    """

    __slots__ = ("_n", "vector")

    def __init__(self) -> None:
        self.vector = faiss.Int64Vector()
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def extend(self, ids: I64) -> None:
        # resize() grows the capacity geometrically, so appends are amortised O(len(ids))
        n = self._n + len(ids)
        self.vector.resize(n)
        view = faiss.rev_swig_ptr(self.vector.data(), n)
        view[self._n :] = ids
        self._n = n

    def copy(self) -> IdVector:
        other = IdVector()
        if self._n:
            other.extend(faiss.rev_swig_ptr(self.vector.data(), self._n).copy())
        return other


# --- threads ------------------------------------------------------------------------------------


class omp_threads:  # lower case: used like a function, `with omp_threads(1):`
    """Run FAISS with `n` OpenMP threads on this thread, then restore the previous setting.

    The setting is per calling thread (each thread has its own OpenMP team, faiss#2731), so a
    build in a worker thread does not change what the event loop's searches use. A class rather
    than a generator context manager: this wraps every single query, where 3 µs would show.
    """

    __slots__ = ("_before", "_n")

    def __init__(self, n: int) -> None:
        self._n = max(1, n)
        self._before = 0

    def __enter__(self) -> None:
        self._before = faiss.omp_get_max_threads()
        if self._before != self._n:
            faiss.omp_set_num_threads(self._n)

    def __exit__(self, *exc: object) -> None:
        if self._before != self._n:
            faiss.omp_set_num_threads(self._before)


# --- serialisation ------------------------------------------------------------------------------


def write_stream(index: Index, write: Callable[[bytes], None]) -> None:
    """Serialise `index` through `write`, chunk by chunk (no whole-index copy in memory)."""

    def callback(chunk: bytes) -> int:
        write(chunk)
        return len(chunk)

    _raw.write_index(index, _raw.PyCallbackIOWriter(callback))


def read_stream(read: Callable[[int], bytes]) -> Index:
    """Deserialise an index from `read(n) -> bytes`. Raises RuntimeError on malformed input."""
    index: Index = _raw.read_index(_raw.PyCallbackIOReader(read))
    return index


def as_id_map(index: Index) -> faiss.IndexIDMap:
    # read_index already hands back the concrete class. (Never downcast_index() a top-level
    # index here: the new wrapper does not own the C++ object, so the old one's death frees it.)
    if not isinstance(index, faiss.IndexIDMap):
        raise TypeError(f"expected an id-mapped index, found {type(index).__name__}")
    return index
