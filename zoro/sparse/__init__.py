"""Sparse vectors (Qdrant's `sparse_vectors`): validation, an exact inverted index, files.

Plain blocking code with no trio in it, like storage/ and ann/. Module map:

    vectors.py   SparseBatch (CSR rows), SparseVectorError (a 400 naming the row and fault)
    index.py     SparseIndex: add / remove / search (exact top-k, filters, IDF) / compact
    _segment.py  one immutable run of posting lists, and the merge of runs
    persist.py   <collection>/sparse/<name>/sparse.index: the saved index (SparseIndexDamaged)

Recovery: `SparseIndex.load(directory)`; on `SparseIndexDamaged`, `rebuild(chunks)` from the
live slots of `zoro.storage.sparse_rows.SparseRowFile.scan()`, then `save` again.
"""

from zoro.errors import SparseIndexDamaged, SparseVectorError

from .index import SparseIndex, SparseIndexStats, rebuild
from .vectors import SparseBatch

__all__ = [
    "SparseBatch",
    "SparseIndex",
    "SparseIndexDamaged",
    "SparseIndexStats",
    "SparseVectorError",
    "rebuild",
]
