"""load_engine: a segment file back into a FlatEngine or HnswEngine."""

from __future__ import annotations

from typing import TYPE_CHECKING

from zoro.ann import _faiss
from zoro.ann.files import HEADER_SIZE, read_index_file
from zoro.ann.flat import FlatEngine
from zoro.ann.hnsw import HnswEngine
from zoro.errors import CorruptionError

if TYPE_CHECKING:
    from pathlib import Path

    from zoro.ann.engine import AnnEngine


def load_engine(path: Path) -> AnnEngine:
    """Load a file written by an engine's save().

    Raises CorruptionError if the file is truncated, damaged or not what its header says, and
    StorageError if it cannot be read (missing, I/O error): both are StorageErrors, and the
    caller then rebuilds the points from storage.
    """
    meta, index = read_index_file(path)
    try:
        if meta.kind == "hnsw":
            hnsw = _faiss.hnsw_of(index)
            return HnswEngine(
                meta.dimension, meta.distance, ef_search=int(hnsw.hnsw.efSearch), index=index
            )
        _faiss.flat_of(index)  # check the structure before trusting it
        return FlatEngine(meta.dimension, meta.distance, index=index)
    except TypeError as exc:
        raise CorruptionError(str(path), HEADER_SIZE, str(exc)) from exc
