"""Collection actors: one Trio task per collection owning its WAL, storage and ANN index."""

from zoro.actors.actor import ActorState, ActorStatistics, CollectionActor, Hits, Selection
from zoro.actors.manager import CollectionManager, CollectionStatus
from zoro.payload import FieldInfo

__all__ = [
    "ActorState",
    "ActorStatistics",
    "CollectionActor",
    "CollectionManager",
    "CollectionStatus",
    "FieldInfo",
    "Hits",
    "Selection",
]
