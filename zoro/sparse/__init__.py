"""Sparse vectors (Qdrant's `sparse_vectors`): validation, an exact inverted index, files.

Plain blocking code with no trio in it, like storage/ and ann/. Module map:

    vectors.py   SparseBatch (CSR rows), SparseVectorError (a 400 naming the row and fault)
    index.py     SparseIndex: add / remove / search (exact top-k, filters, IDF) / compact
    _segment.py  one immutable run of posting lists, and the merge of runs
"""

from .index import SparseIndex, SparseIndexStats, rebuild
from .vectors import SparseBatch, SparseVectorError

__all__ = ["SparseBatch", "SparseIndex", "SparseIndexStats", "SparseVectorError", "rebuild"]
