"""ANN search: the engine interface, FAISS flat and HNSW engines, segments and their merging.

Plain synchronous code with no trio in it: the collection actor decides what runs on its event
loop (add, remove, single searches, take_seal_job, install) and what goes to a worker thread
(SealJob.run, SearchView.search, CheckpointPlan.run, SegmentedIndex.open). Ids are storage slot
numbers; scores keep Qdrant's meaning (zoro.ann.scores).
"""

from zoro.ann.bitmap import Bitmap
from zoro.ann.engine import AnnEngine, Searchable
from zoro.ann.flat import FlatEngine
from zoro.ann.fresh import FlatBuffer
from zoro.ann.hnsw import HnswEngine
from zoro.ann.jobs import SealCancelled, SealJob, SealResult
from zoro.ann.load import load_engine
from zoro.ann.manifest import CheckpointPlan
from zoro.ann.segments import IndexStats, PartShape, SearchView, SegmentedIndex, SegmentStats

__all__ = [
    "AnnEngine",
    "Bitmap",
    "CheckpointPlan",
    "FlatBuffer",
    "FlatEngine",
    "HnswEngine",
    "IndexStats",
    "PartShape",
    "SealCancelled",
    "SealJob",
    "SealResult",
    "SearchView",
    "Searchable",
    "SegmentStats",
    "SegmentedIndex",
    "load_engine",
]
