"""Collection actors: one Trio task per collection owning its WAL, storage and ANN index.

manager.py    CollectionManager: the registry of collections, their lifecycle, supervision
actor.py      CollectionActor: an actor's lifecycle and sending side; how it keeps its promises
mailbox.py    the bounded mailbox;  messages.py  what travels through it;  reply.py  the answers
commit.py     the commit loop: group commit, apply in LSN order, checkpoints
builders.py   background builders: HNSW sealing, payload index builds, the index persister
compactor.py  compaction: the paced copy in the background, the switch in the commit loop
numbering.py  the leases reads hold on slot numbers across awaits, which a switch waits for
reads.py      selections and searches, inline on the event loop or in worker threads
planner.py    query planning without trio: which plan, where it runs
recovery.py   opening a collection's durable state (blocking; run in a thread)
"""

from zoro.actors.actor import ActorState, ActorStatistics, CollectionActor
from zoro.actors.manager import CollectionManager, CollectionStatus
from zoro.actors.planner import Hits, Selection
from zoro.payload import FieldInfo
from zoro.storage import AliasAction, CollectionEntry, CreateAlias, DeleteAlias, RenameAlias

__all__ = [
    "ActorState",
    "ActorStatistics",
    "AliasAction",
    "CollectionActor",
    "CollectionEntry",
    "CollectionManager",
    "CollectionStatus",
    "CreateAlias",
    "DeleteAlias",
    "FieldInfo",
    "Hits",
    "RenameAlias",
    "Selection",
]
