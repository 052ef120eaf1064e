"""Sparse vectors (Qdrant's `sparse_vectors`): validation, an exact inverted index, files.

Plain blocking code with no trio in it, like storage/ and ann/. Module map:

    vectors.py   SparseBatch (CSR rows), SparseVectorError (a 400 naming the row and fault)
    index.py     SparseIndex: add / remove / compact / views / save and load
    search.py    SparseView: exact top-k search (term at a time), filters, IDF
    kernels.py   the search's inner loops, compiled by numba (one pass, no GIL)
    _segment.py  one immutable run of posting lists, and the merge of runs
    persist.py   <collection>/sparse.<n>/sparse.index: the saved index (SparseIndexDamaged)

Saved by the collection's persister (`SparseIndex.saver`, in a thread) once enough changed since
the last save, and on a clean close. Recovery (zoro.actors.recovery.open_sparse_index):
`SparseIndex.load(directory)` caught up with the store; on `SparseIndexDamaged`, rebuilt from
the live source rows.
"""

from zoro.errors import SparseIndexDamaged, SparseVectorError

from .index import SparseIndex, SparseIndexStats, rebuild
from .persist import FILE_NAME as SPARSE_INDEX_FILE
from .vectors import SparseBatch

__all__ = [
    "SPARSE_INDEX_FILE",
    "SparseBatch",
    "SparseIndex",
    "SparseIndexDamaged",
    "SparseIndexStats",
    "SparseVectorError",
    "rebuild",
]
