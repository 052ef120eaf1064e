"""Disk storage: catalog, collection metadata, point index files, append-only source files.

Plain blocking code with no trio in it; the actor decides what runs on the event loop and what
goes to a worker thread. Module map:

    catalog.py       <data>/catalog: which collections exist, and crash recovery of create/delete
    aliases.py       collection aliases and the rules for changing them
    store.py         CollectionStore: one collection's files, apply / read / checkpoint / open
    meta.py          <collection>/meta: the checkpoint record (its atomic replace is the commit)
    vectors.py       source/vectors: fixed-stride float32 rows, one per slot
    columns.py       the files of each declared vector, by number (dense, presence, sparse)
    sparse_rows.py   source/sparse.<n>: CRC'd sparse vector records, one per slot carrying it
    payloads.py      source/payloads: length + CRC framed payload JSON records
    slots.py         index/slots: slot -> key, payload offset and length
    points_file.py   index/points.<generation>: the sorted key -> slot index of a checkpoint
    point_index.py   the in-memory point index: sorted main run + small sorted delta run
"""

from ._plan import Layout
from .aliases import AliasAction, CreateAlias, DeleteAlias, RenameAlias
from .catalog import Catalog, CollectionEntry, CollectionState
from .records import ApplyResult, PointRecord, StoreStats
from .store import CollectionStore

__all__ = [
    "AliasAction",
    "ApplyResult",
    "Catalog",
    "CollectionEntry",
    "CollectionState",
    "CollectionStore",
    "CreateAlias",
    "DeleteAlias",
    "Layout",
    "PointRecord",
    "RenameAlias",
    "StoreStats",
]
